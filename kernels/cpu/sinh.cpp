#include <cmath>

#include "kernel_decls.h"
#include "loops.h"

namespace dg::cpu {
template <typename T>
void sinh(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::sinh(x); });
}
}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_sinh
