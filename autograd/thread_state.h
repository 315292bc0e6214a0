#pragma once
// The thread-local state a backward run sees (grad mode, the warning handler,
// the saved-tensor hooks in force), captured on one thread and applied on
// another: the engine continues a deeply reentrant backward on a fresh thread
// and must not change what the user's code observes there.
#include <memory>
#include <vector>

#include "dynagrad/grad_mode.h"
#include "dynagrad/warning.h"

namespace dg::autograd::graph::detail {
struct HooksFrame;
// The calling thread's stack of saved-tensor hooks (saved_hooks.cpp).
std::vector<std::shared_ptr<const HooksFrame>>& hooks_stack();
}  // namespace dg::autograd::graph::detail

namespace dg::detail {

struct ThreadLocalState {
  bool grad_mode = true;
  WarningHandler* warning_handler = nullptr;
  std::vector<std::shared_ptr<const autograd::graph::detail::HooksFrame>> saved_hooks;

  static ThreadLocalState capture() {
    ThreadLocalState s;
    s.grad_mode = GradMode::is_enabled();
    s.warning_handler = WarningUtils::get_warning_handler();
    s.saved_hooks = autograd::graph::detail::hooks_stack();
    return s;
  }
  void apply() const {
    GradMode::set_enabled(grad_mode);
    WarningUtils::set_warning_handler(warning_handler);
    autograd::graph::detail::hooks_stack() = saved_hooks;
  }
};

}  // namespace dg::detail
