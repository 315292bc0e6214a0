// Reductions beyond sum: prod, amax/amin, argmax/argmin and cumsum, over any
// set of dims of any strided input. Each output element reduces the inputs
// at one "outer" offset plus every "inner" offset (the reduced dims), so the
// reduced dims' offsets are computed once and reused for every output.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../common/reduce_dims.h"
#include "ix_walk.h"
#include "kernel_decls.h"
#include "parallel.h"

namespace dg::cpu {

namespace {

using reducing::acc_t;
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
  reduce<T, int64_t>(out, self, reducing::arg_dims(self.dim(), dim), [](const T* b, const std::vector<int64_t>& in) {
    return arg_extreme<T, Max>(b, in);
  });
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

DG_INSTANTIATE_KERNEL_cpu_prod
DG_INSTANTIATE_KERNEL_cpu_prod_dim
DG_INSTANTIATE_KERNEL_cpu_amax
DG_INSTANTIATE_KERNEL_cpu_amin
DG_INSTANTIATE_KERNEL_cpu_argmax
DG_INSTANTIATE_KERNEL_cpu_argmin
DG_INSTANTIATE_KERNEL_cpu_cumsum
