// Reductions: sum over all elements or a list of dims (float accumulates in
// double, so a long sum loses no more precision than the final rounding),
// prod, amax/amin, argmax/argmin and cumsum, over any set of dims of any
// strided input. Beyond sum, each output element reduces the inputs at one
// "outer" offset plus every "inner" offset (the reduced dims), so the reduced
// dims' offsets are computed once and reused for every output.
#include <cmath>
#include <cstdint>
#include <mutex>
#include <type_traits>
#include <vector>

#include "common/reduce_dims.h"
#include "cpu/index_walk.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

using reducing::acc_t;

// Sum of n elements at stride s (in elements). Eight independent
// accumulators let the contiguous loop vectorise without reassociation
// flags; blocking bounds how many terms meet one accumulator.
template <typename T>
acc_t<T> row_sum(const T* p, int64_t n, int64_t s) {
  using A = acc_t<T>;
  if (s != 1) {
    A a = 0;
    for (int64_t i = 0; i < n; ++i) a += static_cast<A>(p[i * s]);
    return a;
  }
  constexpr int64_t kLanes = 8, kBlock = 4096;
  A total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    A a[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) a[l] += static_cast<A>(p[i + l]);
    }
    for (; i < e; ++i) a[0] += static_cast<A>(p[i]);
    total += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  }
  return total;
}

// acc[k] += in[k] along a row where both advance (a kept dimension).
template <typename T>
void row_accumulate(acc_t<T>* acc, int64_t sa, const T* in, int64_t si, int64_t n) {
  using A = acc_t<T>;
  if (sa == 1 && si == 1) {
#pragma GCC ivdep
    for (int64_t i = 0; i < n; ++i) acc[i] += static_cast<A>(in[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) acc[i * sa] += static_cast<A>(in[i * si]);
  }
}

// Sums `self` over the dims flagged in `reduced` into `out`, whose elements
// are laid out like self's shape with reduced dims set to 1 (true both with
// and without keepdim for a contiguous out).
template <typename T>
void reduce_sum(const TensorBase& out, const TensorBase& self, const std::vector<bool>& reduced) {
  using A = acc_t<T>;
  if (out.numel() == 0) return;
  if (self.dtype() != scalar_type_of<T>) {
    // Summing bools: the meta makes the result int64, so widen first.
    TensorBase wide = make_empty(self.sizes(), scalar_type_of<T>, self.device());
    visit_dtype(self.dtype(), [&]<typename S>() {
      elementwise<T, S>(
          wide, [](S v) { return static_cast<T>(v); }, self);
    });
    reduce_sum<T>(out, wide, reduced);
    return;
  }
  if (!out.is_contiguous()) {
    TensorBase tmp = make_empty(out.sizes(), out.dtype(), out.device());
    reduce_sum<T>(tmp, self, reduced);
    unary_kernel<T>(out, tmp, [](T x) { return x; });
    return;
  }
  // Accumulate straight into out when it already has the accumulator type.
  std::vector<A> buffer;
  A* acc;
  if constexpr (std::is_same_v<T, A>) {
    acc = out.data_ptr<T>();
  } else {
    buffer.resize(static_cast<size_t>(out.numel()));
    acc = buffer.data();
  }
  for (int64_t i = 0; i < out.numel(); ++i) acc[i] = A(0);

  if (self.numel() > 0) {
    // Geometry in self's shape: operand 0 is the accumulator (stride 0 on
    // reduced dims), operand 1 the input. Ordering by the input's strides
    // makes the inner loop read memory in order whatever the layout.
    const int64_t nd = self.dim();
    LoopGeometry<2> g;
    g.numel = self.numel();
    g.data[0] = reinterpret_cast<char*>(acc);
    g.data[1] = static_cast<char*>(self.data_ptr());
    g.strides[0] = DimVector(static_cast<size_t>(nd), 0);
    g.strides[1] = DimVector(static_cast<size_t>(nd), 0);
    int64_t running = static_cast<int64_t>(sizeof(A));
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (!reduced[d]) {
        g.strides[0][d] = running;
        running *= self.size(d);
      }
      g.strides[1][d] = self.stride(d) * static_cast<int64_t>(sizeof(T));
    }
    coalesce(g, self.sizes(), 1);

    const int64_t n_inner = g.inner_size();
    const bool inner_reduced = g.inner_stride(0) == 0;
    const int64_t sa = g.inner_stride(0) / static_cast<int64_t>(sizeof(A));
    const int64_t si = g.inner_stride(1) / static_cast<int64_t>(sizeof(T));
    auto row = [&](const std::array<char*, 2>& p, int64_t n) {
      A* a = reinterpret_cast<A*>(p[0]);
      const T* in = reinterpret_cast<const T*>(p[1]);
      if (inner_reduced) *a += row_sum(in, n, si);
      else row_accumulate<T>(a, sa, in, si, n);
    };

    if (g.ndim() <= 1 && inner_reduced) {
      // One long reduction (sum of everything): two partial sums.
      std::mutex m;
      parallel_for(n_inner, 1, [&](int64_t b, int64_t e) {
        const A part = row_sum(reinterpret_cast<const T*>(g.data[1]) + b * si, e - b, si);
        std::lock_guard<std::mutex> lk(m);
        *acc += part;
      });
    } else if (g.ndim() >= 2 && g.strides[0][0] != 0) {
      // The outermost dim is kept: chunks of it touch disjoint outputs.
      const int64_t per = g.numel / g.sizes[0];
      parallel_for(g.sizes[0], per, [&](int64_t b, int64_t e) { for_each_row(g, b * per, e * per, row); });
    } else {
      for_each_row(g, 0, g.numel, row);
    }
  }

  if constexpr (!std::is_same_v<T, A>) {
    T* o = out.data_ptr<T>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(acc[i]);
  }
}

}  // namespace

template <typename T>
void sum(const TensorBase& out, const TensorBase& self) {
  reduce_sum<T>(out, self, std::vector<bool>(static_cast<size_t>(self.dim()), true));
}

template <typename T>
void sum_dim(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;  // out's layout is the same either way
  const int64_t nd = self.dim();
  std::vector<bool> reduced(static_cast<size_t>(nd), dim.empty());
  for (int64_t d : dim) {
    if (nd == 0) continue;  // dim 0 / -1 of a 0-dim tensor: nothing to reduce
    reduced[static_cast<size_t>(d < 0 ? d + nd : d)] = true;
  }
  reduce_sum<T>(out, self, reduced);
}

namespace {

using reducing::all_dims;
using reducing::dims_mask;

struct Plan {
  std::vector<int64_t> outer, inner;  // offsets into self, in elements
};

Plan plan(const TensorBase& self, const std::vector<bool>& reduced) {
  const ix::Split s = ix::split_dims(self, reduced);
  return Plan{ix::offsets(s.kept_sizes, s.kept_strides), ix::offsets(s.picked_sizes, s.picked_strides)};
}

// out[o] = fold over the inner offsets of self at outer offset o. `out` is a
// fresh contiguous tensor (these ops have no out= or in-place variant), laid
// out in the kept dims' row-major order whether or not keepdim is set.
template <typename T, typename O, typename F>
void reduce(const TensorBase& out, const TensorBase& self, const std::vector<bool>& reduced, F&& fold) {
  if (out.numel() == 0) return;
  const Plan p = plan(self, reduced);
  const T* in = static_cast<const T*>(self.data_ptr());
  O* o = static_cast<O*>(out.data_ptr());
  const int64_t n = static_cast<int64_t>(p.outer.size());
  parallel_for(n, static_cast<int64_t>(p.inner.size()) + 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = fold(in + p.outer[i], p.inner);
  });
}

template <typename T>
T product(const T* base, const std::vector<int64_t>& inner) {
  acc_t<T> a = 1;
  for (int64_t off : inner) a *= static_cast<acc_t<T>>(base[off]);
  return static_cast<T>(a);
}

// NaN wins, as in PyTorch: once the running extreme is NaN it stays NaN.
template <typename T, bool Max>
bool better(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(v)) return true;
  }
  return Max ? v > best : v < best;
}

template <typename T, bool Max>
T extreme(const T* base, const std::vector<int64_t>& inner) {
  T best = base[inner[0]];
  for (size_t i = 1; i < inner.size(); ++i) {
    const T v = base[inner[i]];
    if (better<T, Max>(v, best)) best = v;
  }
  return best;
}

// The first index (row-major over the reduced dims) holding the extreme.
template <typename T, bool Max>
int64_t arg_extreme(const T* base, const std::vector<int64_t>& inner) {
  T best = base[inner[0]];
  int64_t at = 0;
  for (size_t i = 1; i < inner.size(); ++i) {
    const T v = base[inner[i]];
    if (better<T, Max>(v, best)) {
      best = v;
      at = static_cast<int64_t>(i);
    }
  }
  return at;
}

template <typename T, bool Max>
void arg_reduce(const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim) {
  reduce<T, int64_t>(out, self, reducing::arg_dims(self.dim(), dim),
                     [](const T* b, const std::vector<int64_t>& in) { return arg_extreme<T, Max>(b, in); });
}

}  // namespace

template <typename T>
void prod(const TensorBase& out, const TensorBase& self) {
  reduce<T, T>(out, self, all_dims(self.dim()), product<T>);
}

template <typename T>
void prod_dim(const TensorBase& out, const TensorBase& self, int64_t dim, bool keepdim) {
  (void)keepdim;
  reduce<T, T>(out, self, dims_mask(self.dim(), IntArrayRef(dim)), product<T>);
}

template <typename T>
void amax(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;
  reduce<T, T>(out, self, dims_mask(self.dim(), dim), extreme<T, true>);
}

template <typename T>
void amin(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;
  reduce<T, T>(out, self, dims_mask(self.dim(), dim), extreme<T, false>);
}

template <typename T>
void argmax(const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim, bool keepdim) {
  (void)keepdim;
  arg_reduce<T, true>(out, self, dim);
}

template <typename T>
void argmin(const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim, bool keepdim) {
  (void)keepdim;
  arg_reduce<T, false>(out, self, dim);
}

template <typename T>
void cumsum(const TensorBase& out, const TensorBase& self, int64_t dim) {
  if (out.numel() == 0) return;
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  if (self.dim() == 0) {
    o[0] = in[0];
    return;
  }
  const int64_t d = dim < 0 ? dim + self.dim() : dim;
  const std::vector<bool> line = dims_mask(self.dim(), IntArrayRef(d));
  const ix::Split si = ix::split_dims(self, line), so = ix::split_dims(out, line);
  const std::vector<int64_t> in_outer = ix::offsets(si.kept_sizes, si.kept_strides);
  const std::vector<int64_t> out_outer = ix::offsets(so.kept_sizes, so.kept_strides);
  const int64_t n = self.size(d), s_in = self.stride(d), s_out = out.stride(d);
  parallel_for(static_cast<int64_t>(in_outer.size()), n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // Accumulate in double (int64 for integers) so long float sums drift no more than one rounding.
      acc_t<T> a = 0;
      for (int64_t k = 0; k < n; ++k) {
        a += static_cast<acc_t<T>>(in[in_outer[i] + k * s_in]);
        o[out_outer[i] + k * s_out] = static_cast<T>(a);
      }
    }
  });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_sum;
DG_INSTANTIATE_KERNEL_cpu_sum_dim;
DG_INSTANTIATE_KERNEL_cpu_prod;
DG_INSTANTIATE_KERNEL_cpu_prod_dim;
DG_INSTANTIATE_KERNEL_cpu_amax;
DG_INSTANTIATE_KERNEL_cpu_amin;
DG_INSTANTIATE_KERNEL_cpu_argmax;
DG_INSTANTIATE_KERNEL_cpu_argmin;
DG_INSTANTIATE_KERNEL_cpu_cumsum;
