// Fused gradients of sin and cos: grad * cos(x) and -grad * sin(x) in one
// pass each, where the formulas `grad * self.cos()` took two (a cos pass
// writing a temporary, then a mul) and cos's took three. Being ops with
// their own derivatives, they keep double backward working.
#include <cmath>

#include "kernel_decls.h"
#include "loops.h"

namespace dg::cpu {

template <typename T>
void sin_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  binary_kernel<T>(out, grad_output, self, [](T g, T x) { return g * std::cos(x); });
}

template <typename T>
void cos_backward(const Tensor& out, const Tensor& grad_output, const Tensor& self) {
  binary_kernel<T>(out, grad_output, self, [](T g, T x) { return -g * std::sin(x); });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_sin_backward
DG_INSTANTIATE_KERNEL_cpu_cos_backward
