// CUDA comparisons, logical ops and where; the counterparts of
// kernels/cpu/pw_compare.cpp. The comparison and logical kernels run in the
// promoted dtype T (compared as float for the 16-bit floats) and write
// bool; where reads a bool condition next to two operands of dtype T and
// copies the one it selects unchanged.
#include <cstdint>

#include "../common/compare_ops.h"
#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

// The functors compare in the compute type: Half and BFloat16 values are
// widened to float first (exactly), so the float comparison decides.
template <typename T, typename F>
void compare_kernel(const char* op, const TensorBase& out, const TensorBase& a, const TensorBase& b, const F& f) {
  using C = opmath_t<T>;
  gpu_elementwise<bool, T, T>(op, out, [f] __device__(C x, C y) { return f(x, y); }, a, b);
}

template <typename T, typename F>
void compare_scalar_kernel(const char* op, const TensorBase& out, const TensorBase& a, const F& f) {
  using C = opmath_t<T>;
  gpu_elementwise<bool, T>(op, out, [f] __device__(C x) { return f(x); }, a);
}

}  // namespace

// eq ... ge, their _scalar forms and the logical ops (compare_ops.h).
DG_DEFINE_COMPARE_KERNELS()

template <typename T>
void where(const TensorBase& out, const TensorBase& condition, const TensorBase& self, const TensorBase& other) {
  cmp::check_where_condition(condition);
  gpu_elementwise<T, bool, T, T>("where", out, cmp::Select{}, condition, self, other);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_eq
DG_INSTANTIATE_KERNEL_cuda_eq_scalar
DG_INSTANTIATE_KERNEL_cuda_ne
DG_INSTANTIATE_KERNEL_cuda_ne_scalar
DG_INSTANTIATE_KERNEL_cuda_lt
DG_INSTANTIATE_KERNEL_cuda_lt_scalar
DG_INSTANTIATE_KERNEL_cuda_le
DG_INSTANTIATE_KERNEL_cuda_le_scalar
DG_INSTANTIATE_KERNEL_cuda_gt
DG_INSTANTIATE_KERNEL_cuda_gt_scalar
DG_INSTANTIATE_KERNEL_cuda_ge
DG_INSTANTIATE_KERNEL_cuda_ge_scalar
DG_INSTANTIATE_KERNEL_cuda_logical_and
DG_INSTANTIATE_KERNEL_cuda_logical_or
DG_INSTANTIATE_KERNEL_cuda_logical_xor
DG_INSTANTIATE_KERNEL_cuda_logical_not
DG_INSTANTIATE_KERNEL_cuda_where
