#pragma once
// What the optimizers' step() and serialize() bodies share (private to optim/).
#include <optional>
#include <string>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/optim/optimizer.h"

namespace dg::optim::detail {

// The closure's loss, computed with gradient recording on (step() itself runs
// under NoGradGuard); undefined without a closure.
inline Tensor evaluate_closure(const Optimizer::LossClosure& closure) {
  if (!closure) return Tensor();
  EnableGradGuard enable_grad;
  return closure();
}

// State read from a checkpoint lives on the CPU (or the device load() was
// given): it moves to its parameter's device at the parameter's next step.
inline void follow_device(Tensor& state, const Tensor& p) {
  if (state.defined() && state.device() != p.device()) state = state.to(p.device());
}

// A state tensor is written only when defined (an undefined one is a key
// PyTorch's state dict would not have); reading a missing key leaves it
// undefined.
inline void write_tensor(serialize::OutputArchive& archive, const std::string& key, const Tensor& t) {
  if (t.defined()) archive.write(key, t);
}
inline void read_tensor(serialize::InputArchive& archive, const std::string& key, Tensor& t) {
  t = Tensor();
  archive.try_read(key, t);
}

// An optional option is written only when it has a value.
template <typename T>
void write_optional(serialize::OutputArchive& archive, const std::string& key, const std::optional<T>& v) {
  if (v) archive.write(key, *v);
}
template <typename T>
void read_optional(serialize::InputArchive& archive, const std::string& key, std::optional<T>& v) {
  T value{};
  if (archive.try_read(key, value)) v = value;
  else v = std::nullopt;
}

}  // namespace dg::optim::detail
