// CUDA reductions: sum, sum_dim, prod, prod_dim, amax, amin, argmax,
// argmin (all on the engine of reduce.cuh) and cumsum (one thread per
// line). The counterpart of kernels/cpu/reduce.cpp.
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "cuda/loops.cuh"
#include "cuda/reduce.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using namespace reduction;

using reducing::all_dims;
using reducing::dims_mask;

template <typename T, typename S>
struct Widen {
  __device__ T operator()(S v) const { return static_cast<T>(v); }
};

template <typename T>
void reduce_sum(const TensorBase& out, const TensorBase& self, const std::vector<bool>& reduced) {
  if (self.dtype() != scalar_type_of<T>) {
    // Summing bools: the meta makes the result int64, so widen first.
    TensorBase wide = make_empty(self.sizes(), scalar_type_of<T>, self.device());
    visit_dtype(self.dtype(), [&]<typename S>() { gpu_elementwise<T, S>("sum", wide, Widen<T, S>{}, self); });
    gpu_reduce("sum", out, wide, reduced, SumReducer<T>{});
    return;
  }
  gpu_reduce("sum", out, self, reduced, SumReducer<T>{});
}

template <typename T, bool Max>
void arg_reduce(const char* op, const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim) {
  gpu_reduce(op, out, self, reducing::arg_dims(self.dim(), dim), ExtremeReducer<T, Max, true>{});
}

// A running sum along each line, accumulated as on the CPU (double for
// floats, int64 for integers) and rounded at every step.
template <typename T>
struct CumsumLine {
  T* out;
  const T* in;
  Lines<2> lines;  // operand 0 out, 1 in
  __device__ void operator()(int64_t l) const {
    T* o = out + offset_at(lines.outer[0], l);
    const T* x = in + offset_at(lines.outer[1], l);
    const int64_t so = lines.step[0], sx = lines.step[1];
    acc_t<T> a = 0;
    for (int64_t k = 0; k < lines.len; ++k) {
      a += static_cast<acc_t<T>>(x[k * sx]);
      o[k * so] = static_cast<T>(a);
    }
  }
};

}  // namespace

template <typename T>
void sum(const TensorBase& out, const TensorBase& self) {
  reduce_sum<T>(out, self, all_dims(self.dim()));
}

template <typename T>
void sum_dim(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;  // out's element order is the same either way
  reduce_sum<T>(out, self, dims_mask(self.dim(), dim));
}

template <typename T>
void prod(const TensorBase& out, const TensorBase& self) {
  gpu_reduce("prod", out, self, all_dims(self.dim()), ProdReducer<T>{});
}

template <typename T>
void prod_dim(const TensorBase& out, const TensorBase& self, int64_t dim, bool keepdim) {
  (void)keepdim;
  gpu_reduce("prod", out, self, dims_mask(self.dim(), IntArrayRef(dim)), ProdReducer<T>{});
}

template <typename T>
void amax(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;
  gpu_reduce("amax", out, self, dims_mask(self.dim(), dim), ExtremeReducer<T, true, false>{});
}

template <typename T>
void amin(const TensorBase& out, const TensorBase& self, IntArrayRef dim, bool keepdim) {
  (void)keepdim;
  gpu_reduce("amin", out, self, dims_mask(self.dim(), dim), ExtremeReducer<T, false, false>{});
}

template <typename T>
void argmax(const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim, bool keepdim) {
  (void)keepdim;
  arg_reduce<T, true>("argmax", out, self, dim);
}

template <typename T>
void argmin(const TensorBase& out, const TensorBase& self, std::optional<int64_t> dim, bool keepdim) {
  (void)keepdim;
  arg_reduce<T, false>("argmin", out, self, dim);
}

template <typename T>
void cumsum(const TensorBase& out, const TensorBase& self, int64_t dim) {
  if (out.numel() == 0) return;
  const int64_t d = self.dim() == 0 ? 0 : (dim < 0 ? dim + self.dim() : dim);
  const Lines<2> lines = make_lines<2>(self.sizes(), d, {&out, &self}, "cumsum");
  launch_for_each("cumsum", out, lines.count,
                  CumsumLine<T>{static_cast<T*>(out.data_ptr()), static_cast<const T*>(self.data_ptr()), lines});
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_sum;
DG_INSTANTIATE_KERNEL_cuda_sum_dim;
DG_INSTANTIATE_KERNEL_cuda_prod;
DG_INSTANTIATE_KERNEL_cuda_prod_dim;
DG_INSTANTIATE_KERNEL_cuda_amax;
DG_INSTANTIATE_KERNEL_cuda_amin;
DG_INSTANTIATE_KERNEL_cuda_argmax;
DG_INSTANTIATE_KERNEL_cuda_argmin;
DG_INSTANTIATE_KERNEL_cuda_cumsum;
