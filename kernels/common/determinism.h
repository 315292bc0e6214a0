#pragma once
// The determinism switch as kernels see it (dynagrad/deterministic.h). A
// kernel that accumulates into one element from several threads with atomic
// adds sums in an order that varies from run to run: for floating types the
// rounding, and so the result, varies too; integer sums do not (integer
// addition is associative). Such a kernel calls alert_atomic_accumulation<T>
// first, which raises PyTorch's "... does not have a deterministic
// implementation ..." error naming the kernel while the switch is on (a
// warning with warn_only).
#include <type_traits>

#include "dynagrad/deterministic.h"

namespace dg::kernels {

template <typename T>
constexpr bool atomic_sum_order_matters() {
  return !std::is_integral_v<T>;
}

template <typename T>
void alert_atomic_accumulation(const char* caller) {
  if constexpr (atomic_sum_order_matters<T>()) dg::detail::alert_not_deterministic(caller);
}

}  // namespace dg::kernels
