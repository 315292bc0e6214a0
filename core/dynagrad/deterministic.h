#pragma once
// The determinism switch (PyTorch's torch.use_deterministic_algorithms and
// LibTorch's at::globalContext().setDeterministicAlgorithms). While it is on,
// a kernel whose result can vary from run to run (CUDA kernels that add with
// atomics in an unspecified order) takes a deterministic path or, where it
// has none, raises a dg::Error naming it, as PyTorch does. CPU kernels are
// deterministic already.
namespace dg {

void use_deterministic_algorithms(bool mode, bool warn_only = false);
bool are_deterministic_algorithms_enabled();
bool is_deterministic_algorithms_warn_only_enabled();

// The part of LibTorch's at::Context that ported code calls for this switch.
class Context {
 public:
  void setDeterministicAlgorithms(bool mode, bool warn_only = false) { use_deterministic_algorithms(mode, warn_only); }
  bool deterministicAlgorithms() const { return are_deterministic_algorithms_enabled(); }
  bool deterministicAlgorithmsWarnOnly() const { return is_deterministic_algorithms_warn_only_enabled(); }
  // Throws (or, with warn_only, warns once per caller) when the switch is on.
  void alertNotDeterministic(const char* caller) const;
};
Context& globalContext();

namespace detail {
// Whether a kernel of `caller` with no deterministic form may run: true when
// the switch is off or warn_only is set (then the warning is printed once);
// false never returns, it throws PyTorch's message naming `caller`.
void alert_not_deterministic(const char* caller);
// The message (shared by the error and the warning).
const char* deterministic_hint();
}  // namespace detail

}  // namespace dg
