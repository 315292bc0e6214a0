#pragma once
// The one elementwise engine of the CPU kernels. Given `out` and N inputs it
// broadcasts every input to out's shape (stride 0 on broadcast dims), drops
// size-1 dims, merges dims that are contiguous for every operand, and then
// runs the innermost dimension as a plain loop over raw pointers. When every
// operand is contiguous (or a broadcast value) along that dimension the loop
// is a textbook `o[i] = f(a[i], b[i])` that the compiler vectorises.
//
// Aliasing: in-place ops pass out == an input with identical geometry, so
// every element is read and then written at the same index. That is a
// dependence of distance 0, which `#pragma GCC ivdep` (no loop-carried
// dependences) still allows; partially overlapping operands are not
// supported (copy_ resolves that case before calling in here).
//
// Instruction sets: the build targets baseline x86-64 (SSE2), so these loops
// vectorise 4 floats wide. Each contiguous row loop also has copies compiled
// for AVX2 (8 wide) and AVX-512 (16 wide), chosen per row by a CPU check made
// once. GCC inlines the default-target kernel lambda and vec:: functions into
// those copies, so a kernel is still written once. No copy contracts to FMA:
// all compute the same operations in the same order and give the same bits.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/loop_geometry.h"
#include "cpu/parallel.h"
#include "dynagrad/tensor_base.h"

namespace dg::cpu {

namespace simd {
// Which copy of the contiguous row loops runs: 0 the baseline (SSE2), 1 the
// AVX2 one, 2 the AVX-512 one; -1 until the first row asks (defined in
// loops.cpp).
extern std::atomic<int> g_level;
// Sets g_level to the best the CPU (and OS) supports, capped by
// DG_DISABLE_AVX2=1 (baseline only) or DG_DISABLE_AVX512=1 (AVX2 at most);
// returns it.
int detect_level();
inline int level() {
  const int v = g_level.load(std::memory_order_relaxed);
  return v < 0 ? detect_level() : v;
}
// The best level this CPU supports (ignoring the environment).
int cpu_level();
// For tests and benchmarks: run at most `max_level` (and at most what the
// CPU has). Returns the level that was in use.
int set_max_level(int max_level);
}  // namespace simd

// The geometry of one loop (kernels/common/loop_geometry.h), shared with the
// CUDA loops.
using loop::broadcast_byte_strides;
using loop::coalesce;
using loop::LoopGeometry;
using loop::make_geometry;

// Calls row(ptrs, n) for every innermost row segment of elements
// [begin, end) (linear order over the coalesced dims); ptrs point at the
// segment's first element of each operand.
template <size_t NT, typename Row>
void for_each_row(const LoopGeometry<NT>& g, int64_t begin, int64_t end, Row&& row) {
  const int64_t nd = g.ndim();
  if (nd <= 1) {
    std::array<char*, NT> p;
    for (size_t k = 0; k < NT; ++k) p[k] = g.data[k] + begin * g.inner_stride(k);
    row(p, end - begin);
    return;
  }
  const int64_t inner = g.sizes[nd - 1];
  // Counter over the outer dims, positioned at `begin`.
  DimVector idx(static_cast<size_t>(nd), 0);
  int64_t rem = begin;
  for (int64_t d = nd - 1; d >= 0; --d) {
    idx[d] = rem % g.sizes[d];
    rem /= g.sizes[d];
  }
  std::array<char*, NT> p;
  for (size_t k = 0; k < NT; ++k) {
    p[k] = g.data[k];
    for (int64_t d = 0; d < nd; ++d) p[k] += idx[d] * g.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner - idx[nd - 1], end - pos);
    row(p, n);
    pos += n;
    if (pos >= end) break;
    // Step to the start of the next row: rewind the inner dim, carry outwards.
    for (size_t k = 0; k < NT; ++k) p[k] -= idx[nd - 1] * g.strides[k][nd - 1];
    idx[nd - 1] = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      for (size_t k = 0; k < NT; ++k) p[k] += g.strides[k][d];
      if (++idx[d] < g.sizes[d]) break;
      for (size_t k = 0; k < NT; ++k) p[k] -= idx[d] * g.strides[k][d];
      idx[d] = 0;
    }
  }
}

namespace loops_detail {

// An input along the inner dimension: a contiguous array or one value.
template <typename T, bool Broadcast>
struct In;
template <typename T>
struct In<T, false> {
  const T* p;
  T operator[](int64_t i) const { return p[i]; }
  In shifted(int64_t k) const { return {p + k}; }
};
template <typename T>
struct In<T, true> {
  T v;
  T operator[](int64_t) const { return v; }
  In shifted(int64_t) const { return *this; }
};

// The guard of the plain kernels: f applies everywhere.
struct NoGuard {};

// A kernel whose vectorised f is only right on part of the domain: where
// rare(x...) holds, slow(x...) (a libm call) gives the element instead.
template <typename Rare, typename Slow>
struct Guard {
  Rare rare;
  Slow slow;
};

// Guarded rows run in blocks this long (16 KiB of float in and out, within
// L1): a vectorised scan for rare elements first, then the vector loop, which
// reads the block again from L1, or the scalar per-element choice when the
// block has a rare element. Scanning before writing keeps in-place use right.
constexpr int64_t kGuardBlock = 2048;

template <typename Out, typename... Ins, typename F, size_t... I>
__attribute__((always_inline)) inline void contiguous_loop(Out* o, const std::tuple<Ins...>& in, int64_t n, const F& f,
                                                           std::index_sequence<I...>) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) o[i] = f(std::get<I>(in)[i]...);
}

template <typename Out, typename... Ins, typename F, typename G, size_t... I>
__attribute__((always_inline)) inline void row_body(Out* o, const std::tuple<Ins...>& in, int64_t n, const F& f,
                                                    const G& g, std::index_sequence<I...> seq) {
  if constexpr (std::is_same_v<G, NoGuard>) {
    contiguous_loop(o, in, n, f, seq);
  } else {
    for (int64_t b = 0; b < n; b += kGuardBlock) {
      const int64_t m = std::min(kGuardBlock, n - b);
      const std::tuple<Ins...> blk{std::get<I>(in).shifted(b)...};
      Out* ob = o + b;
      int any = 0;
      for (int64_t i = 0; i < m; ++i) any |= static_cast<int>(g.rare(std::get<I>(blk)[i]...));
      if (any == 0) {
        contiguous_loop(ob, blk, m, f, seq);
      } else {
        for (int64_t i = 0; i < m; ++i) {
          ob[i] = g.rare(std::get<I>(blk)[i]...) ? g.slow(std::get<I>(blk)[i]...) : f(std::get<I>(blk)[i]...);
        }
      }
    }
  }
}

template <typename Out, typename... Ins, typename F, typename G, size_t... I>
__attribute__((target("avx2"), noinline)) void row_avx2(Out* o, const std::tuple<Ins...>& in, int64_t n, const F& f,
                                                        const G& g, std::index_sequence<I...> seq) {
  row_body(o, in, n, f, g, seq);
}

// 16 floats wide: about 1.5x the AVX2 copy on compute-bound kernels (tanh,
// sin, gelu) on the EPYC the benchmarks run on. Still no FMA contraction
// (ISO C++ mode), so the bits match the other copies.
template <typename Out, typename... Ins, typename F, typename G, size_t... I>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"), noinline)) void row_avx512(
    Out* o, const std::tuple<Ins...>& in, int64_t n, const F& f, const G& g, std::index_sequence<I...> seq) {
  row_body(o, in, n, f, g, seq);
}

template <typename Out, typename... Ins, typename F, typename G, size_t... I>
inline void contiguous_row(Out* o, const std::tuple<Ins...>& in, int64_t n, const F& f, const G& g,
                           std::index_sequence<I...> seq) {
  const int level = simd::level();
  if (level >= 2) row_avx512(o, in, n, f, g, seq);
  else if (level == 1) row_avx2(o, in, n, f, g, seq);
  else row_body(o, in, n, f, g, seq);
}

template <typename Out, typename... In_, typename F, typename G, size_t... I>
inline void strided_row(char* o, int64_t so, const std::array<char*, sizeof...(In_)>& in,
                        const std::array<int64_t, sizeof...(In_)>& s, int64_t n, const F& f, const G& g,
                        std::index_sequence<I...>) {
  for (int64_t i = 0; i < n; ++i) {
    Out& out = *reinterpret_cast<Out*>(o + i * so);
    if constexpr (std::is_same_v<G, NoGuard>) {
      out = f(*reinterpret_cast<const In_*>(in[I] + i * s[I])...);
    } else {
      const bool rare = g.rare(*reinterpret_cast<const In_*>(in[I] + i * s[I])...);
      out = rare ? g.slow(*reinterpret_cast<const In_*>(in[I] + i * s[I])...)
                 : f(*reinterpret_cast<const In_*>(in[I] + i * s[I])...);
    }
  }
}

// Calls fn(std::integral_constant<unsigned, M>) for the runtime mask m < 2^N,
// turning "which inputs are broadcast along the row" into template arguments.
template <unsigned M, unsigned End, typename Fn>
inline void mask_switch(unsigned m, Fn&& fn) {
  if constexpr (M < End) {
    if (m == M) return fn(std::integral_constant<unsigned, M>{});
    mask_switch<M + 1, End>(m, std::forward<Fn>(fn));
  }
}

template <typename Out, typename... In_, typename F, typename G, size_t... I, unsigned M>
inline void fast_row(char* o, const std::array<char*, sizeof...(In_)>& in, int64_t n, const F& f, const G& g,
                     std::index_sequence<I...> seq, std::integral_constant<unsigned, M>) {
  auto ops = std::make_tuple([&] {
    constexpr bool bc = (M >> I) & 1u;
    if constexpr (bc) return In<In_, true>{*reinterpret_cast<const In_*>(in[I])};
    else return In<In_, false>{reinterpret_cast<const In_*>(in[I])};
  }()...);
  contiguous_row(reinterpret_cast<Out*>(o), ops, n, f, g, seq);
}

}  // namespace loops_detail

// out[i] = f(in_1[i], ..., in_N[i]) over out's shape, with each input of
// element type In_k broadcast to it. Out and In_ must match the tensors'
// dtypes (the dispatch layer guarantees it; copy_ picks In_ from src).
// `guard` is loops_detail::NoGuard or a loops_detail::Guard (see there).
template <typename Out, typename... In_, typename F, typename G, typename... Ts>
void elementwise_guarded(const TensorBase& out, const F& f, const G& guard, const Ts&... inputs) {
  static_assert(sizeof...(In_) == sizeof...(Ts));
  constexpr size_t N = sizeof...(In_);
  constexpr size_t NT = N + 1;
  if (out.numel() == 0) return;
  std::array<const TensorBase*, N> ins{&inputs...};
  LoopGeometry<NT> g = make_geometry<NT>(out, ins);
  using Seq = std::make_index_sequence<N>;
  constexpr std::array<int64_t, N> esize{static_cast<int64_t>(sizeof(In_))...};

  auto row = [&](const std::array<char*, NT>& p, int64_t n) {
    std::array<char*, N> in;
    std::array<int64_t, N> s;
    for (size_t k = 0; k < N; ++k) {
      in[k] = p[k + 1];
      s[k] = g.inner_stride(k + 1);
    }
    bool fast = g.inner_stride(0) == static_cast<int64_t>(sizeof(Out)) || n == 1;
    unsigned mask = 0;
    for (size_t k = 0; k < N && fast; ++k) {
      if (s[k] == 0) mask |= 1u << k;
      else fast = s[k] == esize[k];
    }
    if (fast) {
      loops_detail::mask_switch<0, (1u << N)>(
          mask, [&](auto m) { loops_detail::fast_row<Out, In_...>(p[0], in, n, f, guard, Seq{}, m); });
    } else {
      loops_detail::strided_row<Out, In_...>(p[0], g.inner_stride(0), in, s, n, f, guard, Seq{});
    }
  };
  parallel_for(g.numel, int64_t(NT), [&](int64_t b, int64_t e) { for_each_row(g, b, e, row); });
}

template <typename Out, typename... In_, typename F, typename... Ts>
void elementwise(const TensorBase& out, const F& f, const Ts&... inputs) {
  elementwise_guarded<Out, In_...>(out, f, loops_detail::NoGuard{}, inputs...);
}

// The entry of the generated pointwise kernels (ops.yaml `scalar:`): every
// input read as T, the output written as Out (bool for comparisons).
template <typename T, typename>
using as_t = T;
template <typename T, typename Out = T, typename F, typename... Ts>
void pointwise(const TensorBase& out, const F& f, const Ts&... inputs) {
  elementwise<Out, as_t<T, Ts>...>(out, f, inputs...);
}

// The forms hand-written kernels use: every tensor of element type T.
template <typename T, typename F>
void nullary_kernel(const TensorBase& out, const F& f) {
  elementwise<T>(out, f);
}
template <typename T, typename F>
void unary_kernel(const TensorBase& out, const TensorBase& a, const F& f) {
  elementwise<T, T>(out, f, a);
}
// out = f(a), except where rare(a) holds: there slow(a). For vectorised
// functions that are only right on part of the domain (sin, cos).
template <typename T, typename F, typename Rare, typename Slow>
void unary_kernel_guarded(const TensorBase& out, const TensorBase& a, const F& f, const Rare& rare, const Slow& slow) {
  elementwise_guarded<T, T>(out, f, loops_detail::Guard<Rare, Slow>{rare, slow}, a);
}
template <typename T, typename F>
void binary_kernel(const TensorBase& out, const TensorBase& a, const TensorBase& b, const F& f) {
  elementwise<T, T, T>(out, f, a, b);
}
// The same for two inputs: rare(a, b) picks slow(a, b) (sin_backward's
// g * cos(x) beyond vec::kTrigMaxArg).
template <typename T, typename F, typename Rare, typename Slow>
void binary_kernel_guarded(const TensorBase& out, const TensorBase& a, const TensorBase& b, const F& f,
                           const Rare& rare, const Slow& slow) {
  elementwise_guarded<T, T, T>(out, f, loops_detail::Guard<Rare, Slow>{rare, slow}, a, b);
}

}  // namespace dg::cpu
