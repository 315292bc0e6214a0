// Fused gradients of sin and cos: grad * cos(x) and -grad * sin(x) in one
// pass each, where the formulas `grad * self.cos()` took two (a cos pass
// writing a temporary, then a mul) and cos's took three. Being ops with
// their own derivatives, they keep double backward working.
#include <cmath>
#include <type_traits>

#include "kernel_decls.h"
#include "loops.h"
#include "vec_math.h"

namespace dg::cpu {

// float32 uses the vectorised sin/cos of vec_math.h, with libm for the
// arguments outside their range (|x| > 8192, inf, NaN), as sin/cos do.
template <typename T>
void sin_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    binary_kernel_guarded<T>(
        out, grad_output, self, [](T g, T x) { return g * vec::cos_reduced(x); },
        [](T, T x) { return vec::trig_needs_libm(x); }, [](T g, T x) { return g * std::cos(x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return g * std::cos(x); });
  }
}

template <typename T>
void cos_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    binary_kernel_guarded<T>(
        out, grad_output, self, [](T g, T x) { return -g * vec::sin_reduced(x); },
        [](T, T x) { return vec::trig_needs_libm(x); }, [](T g, T x) { return -g * std::sin(x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return -g * std::sin(x); });
  }
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_sin_backward
DG_INSTANTIATE_KERNEL_cpu_cos_backward
