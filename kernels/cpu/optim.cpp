// CPU kernels of the fused optimizer steps: fused_sgd_, fused_adam_,
// fused_rmsprop_, fused_adagrad_ (the rules in common/optim_step.h). One pass
// over the parameter, its gradient and its state: each row of contiguous
// elements runs SIMD vectors through the step (GCC vector extensions, 32
// bytes wide in the AVX2 copy, 16 in the baseline SSE2 one; the square root
// is the vector instruction, which the compiler would not vectorise under
// errno semantics), the rest element by element. Large tensors split over the
// threads (parallel_for).
// The AVX2 copies pass 32-byte vectors between inlined functions only (GCC
// warns about the ABI of such calls, which never cross a non-AVX boundary).
#pragma GCC diagnostic ignored "-Wpsabi"

#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "common/optim_step.h"
#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// Bytes / sizeof(T) lanes of T (a GCC vector: element-wise operators).
template <typename T, int Bytes>
using Vec [[gnu::vector_size(Bytes)]] = T;
using f32x4 = Vec<float, 16>;
using f64x2 = Vec<double, 16>;
using f32x8 = Vec<float, 32>;
using f64x4 = Vec<double, 32>;

// The square root of each lane: the scalar instruction, or SSE's packed one
// (baseline x86-64, so it inlines into the AVX2 copy too, as two 16-byte
// halves of a 32-byte vector).
struct Sqrt {
  float operator()(float x) const { return std::sqrt(x); }
  double operator()(double x) const { return std::sqrt(x); }
#if defined(__x86_64__)
  f32x4 operator()(f32x4 x) const { return __builtin_ia32_sqrtps(x); }
  f64x2 operator()(f64x2 x) const { return __builtin_ia32_sqrtpd(x); }
  f32x8 operator()(f32x8 x) const { return by_halves<f32x4>(x); }
  f64x4 operator()(f64x4 x) const { return by_halves<f64x2>(x); }
  template <typename Half, typename Wide>
  static Wide by_halves(Wide x) {
    Half h[2];
    std::memcpy(h, &x, sizeof x);
    h[0] = Sqrt{}(h[0]);
    h[1] = Sqrt{}(h[1]);
    std::memcpy(&x, h, sizeof x);
    return x;
  }
#endif
};

template <typename V, typename T>
__attribute__((always_inline)) inline V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Runs step over elements [i, i + sizeof(V) / sizeof(T)) (or one element
// when V is T) of the contiguous rows p; operand 1 is the gradient (read
// only), operands whose bit in `used` is clear are not written (they alias
// self, whose cache lines the step reads anyway).
template <typename V, typename T, size_t NT, typename Step, size_t... I>
__attribute__((always_inline)) inline void step_at(const std::array<T*, NT>& p, int64_t i, unsigned used,
                                                   const Step& step, std::index_sequence<I...>) {
  V v[NT] = {load<V>(p[I] + i)...};
  step(v[I]..., Sqrt{});
  ((I != 1 && (used >> I & 1u) ? std::memcpy(p[I] + i, &v[I], sizeof(V)) : nullptr), ...);
}

template <int Bytes, typename T, size_t NT, typename Step>
__attribute__((always_inline)) inline void row_body(const std::array<T*, NT>& p, int64_t n, unsigned used,
                                                    const Step& step_in) {
  using V = Vec<T, Bytes>;
  constexpr int64_t W = Bytes / sizeof(T);
  constexpr auto seq = std::make_index_sequence<NT>{};
  // Local copies: the stores through the rows cannot alias them, so the
  // constants and pointers stay in registers across the loop.
  const Step step = step_in;
  const std::array<T*, NT> rows = p;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    step_at<V>(rows, i, used, step, seq);
    step_at<V>(rows, i + W, used, step, seq);
  }
  for (; i + W <= n; i += W) step_at<V>(rows, i, used, step, seq);
  for (; i < n; ++i) step_at<T>(rows, i, used, step, seq);
}

#if defined(__x86_64__)
template <typename T, size_t NT, typename Step>
__attribute__((target("avx2"), noinline)) void row_avx2(const std::array<T*, NT>& p, int64_t n, unsigned used,
                                                        const Step& step) {
  row_body<32>(p, n, used, step);
}
#endif

template <typename T, size_t NT, typename Step>
void contiguous_row(const std::array<T*, NT>& p, int64_t n, unsigned used, const Step& step) {
#if defined(__x86_64__)
  if (simd::level() >= 1) return row_avx2(p, n, used, step);
  row_body<16>(p, n, used, step);
#else
  for (int64_t i = 0; i < n; ++i) step_at<T>(p, i, used, step, std::make_index_sequence<NT>{});
#endif
}

// The fused step over self and the other operands (all of self's shape and
// dtype, as meta::fused_* checked).
template <typename T, size_t NT, typename Step>
void fused_step(const TensorBase& self, const std::array<const TensorBase*, NT - 1>& others, unsigned used,
                const Step& step) {
  if (self.numel() == 0) return;
  const LoopGeometry<NT> g = make_geometry<NT>(self, others);
  auto row = [&](const std::array<char*, NT>& bytes, int64_t n) {
    std::array<T*, NT> p;
    bool contiguous = true;
    for (size_t k = 0; k < NT; ++k) {
      p[k] = reinterpret_cast<T*>(bytes[k]);
      contiguous = contiguous && (n == 1 || g.inner_stride(k) == static_cast<int64_t>(sizeof(T)));
    }
    if (contiguous) return contiguous_row(p, n, used, step);
    for (int64_t i = 0; i < n; ++i) {
      std::array<T*, NT> q;
      for (size_t k = 0; k < NT; ++k) q[k] = reinterpret_cast<T*>(bytes[k] + i * g.inner_stride(k));
      step_at<T>(q, 0, used, step, std::make_index_sequence<NT>{});
    }
  };
  parallel_for(g.numel, int64_t(NT), [&](int64_t b, int64_t e) { for_each_row(g, b, e, row); });
}

constexpr unsigned bit(int k) { return 1u << k; }

}  // namespace

template <typename T>
void fused_sgd_(const TensorBase& self, const TensorBase& grad, const TensorBase& momentum_buffer, double lr,
                double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  const auto step = optim_step::make_sgd<T>(lr, momentum, dampening, weight_decay, nesterov, first_step);
  const unsigned used = bit(0) | bit(1) | (momentum != 0 ? bit(2) : 0u);
  fused_step<T, 3>(self, {&grad, &momentum_buffer}, used, step);
}

template <typename T>
void fused_adam_(const TensorBase& self, const TensorBase& grad, const TensorBase& exp_avg,
                 const TensorBase& exp_avg_sq, const TensorBase& max_exp_avg_sq, double lr, double beta1, double beta2,
                 double eps, double weight_decay, bool amsgrad, bool decoupled_weight_decay, int64_t step) {
  const auto st = optim_step::make_adam<T>(lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay, step);
  const unsigned used = bit(0) | bit(1) | bit(2) | bit(3) | (amsgrad ? bit(4) : 0u);
  fused_step<T, 5>(self, {&grad, &exp_avg, &exp_avg_sq, &max_exp_avg_sq}, used, st);
}

template <typename T>
void fused_rmsprop_(const TensorBase& self, const TensorBase& grad, const TensorBase& square_avg,
                    const TensorBase& grad_avg, const TensorBase& momentum_buffer, double lr, double alpha, double eps,
                    double weight_decay, double momentum, bool centered) {
  const auto st = optim_step::make_rmsprop<T>(lr, alpha, eps, weight_decay, momentum, centered);
  const unsigned used = bit(0) | bit(1) | bit(2) | (centered ? bit(3) : 0u) | (momentum > 0 ? bit(4) : 0u);
  fused_step<T, 5>(self, {&grad, &square_avg, &grad_avg, &momentum_buffer}, used, st);
}

template <typename T>
void fused_adagrad_(const TensorBase& self, const TensorBase& grad, const TensorBase& state_sum, double clr,
                    double weight_decay, double eps) {
  const auto st = optim_step::make_adagrad<T>(clr, weight_decay, eps);
  fused_step<T, 3>(self, {&grad, &state_sum}, bit(0) | bit(1) | bit(2), st);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_fused_sgd_;
DG_INSTANTIATE_KERNEL_cpu_fused_adam_;
DG_INSTANTIATE_KERNEL_cpu_fused_rmsprop_;
DG_INSTANTIATE_KERNEL_cpu_fused_adagrad_;
