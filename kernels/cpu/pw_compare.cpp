// Comparisons, logical ops and where. The comparison and logical kernels
// run in the promoted compute dtype T and write bool; where reads a bool
// condition next to two operands of dtype T.
#include <cstdint>

#include "../common/compare_ops.h"
#include "kernel_decls.h"
#include "loops.h"

namespace dg::cpu {

namespace {

// `op` names the op for the CUDA loops' errors; the CPU loops have none.
template <typename T, typename F>
void compare_kernel(const char* /*op*/, const TensorBase& out, const TensorBase& a, const TensorBase& b, const F& f) {
  elementwise<bool, T, T>(out, f, a, b);
}

template <typename T, typename F>
void compare_scalar_kernel(const char* /*op*/, const TensorBase& out, const TensorBase& a, const F& f) {
  elementwise<bool, T>(out, f, a);
}

}  // namespace

// eq ... ge, their _scalar forms and the logical ops (compare_ops.h).
DG_DEFINE_COMPARE_KERNELS()

template <typename T>
void where(const TensorBase& out, const TensorBase& condition, const TensorBase& self, const TensorBase& other) {
  cmp::check_where_condition(condition);
  elementwise<T, bool, T, T>(out, cmp::Select{}, condition, self, other);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_eq
DG_INSTANTIATE_KERNEL_cpu_eq_scalar
DG_INSTANTIATE_KERNEL_cpu_ne
DG_INSTANTIATE_KERNEL_cpu_ne_scalar
DG_INSTANTIATE_KERNEL_cpu_lt
DG_INSTANTIATE_KERNEL_cpu_lt_scalar
DG_INSTANTIATE_KERNEL_cpu_le
DG_INSTANTIATE_KERNEL_cpu_le_scalar
DG_INSTANTIATE_KERNEL_cpu_gt
DG_INSTANTIATE_KERNEL_cpu_gt_scalar
DG_INSTANTIATE_KERNEL_cpu_ge
DG_INSTANTIATE_KERNEL_cpu_ge_scalar
DG_INSTANTIATE_KERNEL_cpu_logical_and
DG_INSTANTIATE_KERNEL_cpu_logical_or
DG_INSTANTIATE_KERNEL_cpu_logical_xor
DG_INSTANTIATE_KERNEL_cpu_logical_not
DG_INSTANTIATE_KERNEL_cpu_where
