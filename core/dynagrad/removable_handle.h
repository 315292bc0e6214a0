#pragma once
// RemovableHandle: what registering a node hook or a post-accumulate-grad
// hook returns (PyTorch's torch.utils.hooks.RemovableHandle). remove() takes
// the hook out; removing it a second time is an error, and a handle whose
// node or tensor is gone removes nothing.
#include <memory>
#include <string>

#include "dynagrad/error.h"

namespace dg {

// The registered hook's slot: a hook runs while `active`.
struct HookSlot {
  bool active = true;
};

class RemovableHandle {
 public:
  RemovableHandle() = default;
  RemovableHandle(std::weak_ptr<HookSlot> slot, std::string what) : slot_(std::move(slot)), what_(std::move(what)) {}
  void remove() {
    DG_CHECK(!what_.empty(), "RemovableHandle::remove: this handle was never given a hook");
    DG_CHECK(!removed_, "RemovableHandle::remove: the ", what_, " of this handle was already removed");
    removed_ = true;
    if (auto s = slot_.lock()) s->active = false;
  }
  bool removed() const { return removed_; }

 private:
  std::weak_ptr<HookSlot> slot_;
  std::string what_;
  bool removed_ = false;
};

namespace autograd {
using dg::RemovableHandle;
}

}  // namespace dg
