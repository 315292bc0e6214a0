// The thread's stack of saved-tensor hooks and the guards that push them.
#include "autograd/thread_state.h"
#include "dynagrad/graph.h"

namespace dg::autograd::graph {

std::vector<std::shared_ptr<const detail::HooksFrame>>& detail::hooks_stack() {
  thread_local std::vector<std::shared_ptr<const HooksFrame>> stack;
  return stack;
}

saved_tensors_hooks::saved_tensors_hooks(PackHook pack, UnpackHook unpack) {
  DG_CHECK(pack && unpack, "saved_tensors_hooks: expected a pack and an unpack function, got ",
           pack ? "no unpack" : "no pack");
  auto& stack = detail::hooks_stack();
  stack.push_back(std::make_shared<const detail::HooksFrame>(detail::HooksFrame{std::move(pack), std::move(unpack)}));
  depth_ = stack.size();
}

saved_tensors_hooks::~saved_tensors_hooks() {
  auto& stack = detail::hooks_stack();
  // Guards are scoped, so this one is on top; resize tolerates misuse.
  if (stack.size() >= depth_) stack.resize(depth_ - 1);
}

namespace {
struct OnCpu {
  Tensor data;
  Device device;
};
}  // namespace

save_on_cpu::save_on_cpu(bool /*pin_memory*/)
    : saved_tensors_hooks(
          [](const Tensor& t) -> std::any {
            return OnCpu{t.device().is_cpu() ? t : t.to(Device(kCPU)), t.device()};
          },
          [](const std::any& packed) {
            const auto& p = std::any_cast<const OnCpu&>(packed);
            return p.device.is_cpu() ? p.data : p.data.to(p.device);
          }) {}

}  // namespace dg::autograd::graph
