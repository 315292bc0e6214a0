#pragma once
// Forward-mode automatic differentiation, as PyTorch's torch.autograd.forward_ad:
//
//   namespace fwAD = dg::autograd::forward_ad;
//   {
//     fwAD::dual_level level;                       // tangents live while it does
//     auto x = fwAD::make_dual(primal, tangent);    // a view of primal carrying the tangent
//     auto y = (x * x).sin();                       // every op carries the tangent along
//     auto jvp = fwAD::unpack_dual(y).tangent;      // J(primal) @ tangent
//   }                                               // leaving the level drops all its tangents
//
// A tangent is stored on the tensor (its AutogradMeta), per level. As in
// PyTorch 1.13 only one level exists at a time; entering a second one is an
// error. The generated op wrappers compute an output's tangent from the
// op's `forward:` formula in derivatives.yaml when any input has one.
#include <atomic>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg {
struct AutogradMeta;
}

namespace dg::autograd::forward_ad {

// Starts a new dual level and returns its index (0: only one level exists).
int64_t enter_dual_level();
// Ends the level (default: the current one) and drops every tangent of it.
void exit_dual_level(std::optional<int64_t> level = std::nullopt);

// RAII: enter_dual_level() in the constructor, exit_dual_level() in the destructor.
class dual_level {
 public:
  dual_level() : level_(enter_dual_level()) {}
  ~dual_level();
  dual_level(const dual_level&) = delete;
  dual_level& operator=(const dual_level&) = delete;
  int64_t level() const { return level_; }

 private:
  int64_t level_;
};

// A view of `tensor` that carries `tangent` (same sizes, dtype and device,
// floating point) at `level` (default: the current one). Gradients in reverse
// mode flow through the view to `tensor` as through any view.
Tensor make_dual(const Tensor& tensor, const Tensor& tangent, std::optional<int64_t> level = std::nullopt);

struct UnpackedDualTensor {
  Tensor primal;   // a view of the tensor without its tangent
  Tensor tangent;  // undefined when the tensor has none at the level
};
// Outside any level (level not given) the tensor itself and no tangent, as
// PyTorch; a level given that is not the current one is an error.
UnpackedDualTensor unpack_dual(const Tensor& tensor, std::optional<int64_t> level = std::nullopt);

namespace detail {
// Whether any dual level exists: the one check the op wrappers make with
// forward mode off.
inline std::atomic<bool> g_level_active{false};
// The id of the current level (0: none); a tangent is valid only at it.
inline std::atomic<uint64_t> g_level_id{0};
// Inside a tangent formula (or a custom forward), ops do not propagate
// tangents themselves: the formula computes the output's tangent.
bool& formula_scope_flag();
inline bool enabled() { return g_level_active.load(std::memory_order_relaxed) && !formula_scope_flag(); }

// RAII: no tangent propagation in its scope (when `on`).
class FormulaScope {
 public:
  explicit FormulaScope(bool on = true) : on_(on) {
    if (on_) {
      prev_ = formula_scope_flag();
      formula_scope_flag() = true;
    }
  }
  ~FormulaScope() {
    if (on_) formula_scope_flag() = prev_;
  }
  FormulaScope(const FormulaScope&) = delete;
  FormulaScope& operator=(const FormulaScope&) = delete;

 private:
  bool on_;
  bool prev_ = false;
};

// An AutogradMeta that held a tangent of the current level dies
// (~AutogradMeta calls it when its level_id is not 0).
void forget_tangent_holder(AutogradMeta* m);
// The tangent of `t` at the current level, or undefined.
Tensor tangent(const Tensor& t);
bool has_tangent(const Tensor& t);
template <typename... Ts>
bool any_tangent(const Ts&... ts) {
  return (has_tangent(ts) || ...);
}
bool any_tangent_in(const std::vector<Tensor>& ts);
// The tangent, or zeros like `t` when it has none (formulas take every input's).
Tensor tangent_or_zeros(const Tensor& t);
// Sets t's tangent at the current level (converted and expanded to t's
// dtype and sizes).
void set_tangent(const Tensor& t, const Tensor& tangent);
// The tangent of an op's output that is not a view. When the formula
// returned an input's tangent as it is, the two share it until an in-place
// op writes either (then that one gets a tangent of its own).
void set_output_tangent(const Tensor& out, const Tensor& tangent, std::initializer_list<const Tensor*> inputs);
// After an in-place op: writes `tangent` into self's tangent, or sets it
// when self has none (a view of a tangent-less base gives the base a zero
// tangent first, so the base sees the view's).
void update_tangent_inplace(const Tensor& self, const Tensor& tangent, std::initializer_list<const Tensor*> inputs);
// self's value before an in-place op writes it, for formulas that read it.
Tensor value_before_write(const Tensor& self);
// `values` in a tensor laid out as `like` (its sizes, strides and offset in
// a storage of like's size): make_dual gives a tangent its primal's layout,
// so that layout-reading ops (as_strided) treat both alike, as PyTorch does.
Tensor copy_with_layout_of(const Tensor& like, const Tensor& values);

// Custom Functions (dynagrad/function.h): a Function<T> whose inputs carry
// tangents calls T::jvp(ctx, tangents) when T defines it, and raises an
// error naming the function when it does not.
template <typename T, typename Ctx>
concept HasJvp = requires(Ctx* ctx, std::vector<Tensor> tangents) {
  { T::jvp(ctx, tangents) } -> std::convertible_to<std::vector<Tensor>>;
};
// The inputs' tangents (zeros for an input without one).
std::vector<Tensor> input_tangents(const std::vector<Tensor>& inputs);
// Sets each output's tangent from what jvp returned (one per output).
void set_function_tangents(const std::string& function, const std::vector<Tensor>& in_tangents,
                           const std::vector<Tensor>& outputs, const std::vector<Tensor>& out_tangents);
[[noreturn]] void throw_no_jvp(const std::string& function);
template <typename T, typename Ctx>
void function_jvp(Ctx* ctx, const std::string& name, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs) {
  if constexpr (HasJvp<T, Ctx>) {
    std::vector<Tensor> tangents = input_tangents(inputs);
    std::vector<Tensor> out;
    {
      FormulaScope formula;
      out = T::jvp(ctx, tangents);
    }
    set_function_tangents(name, tangents, outputs, out);
  } else {
    throw_no_jvp(name);
  }
}
}  // namespace detail

}  // namespace dg::autograd::forward_ad

namespace dg::autograd {
// LibTorch's low-level level API (torch/csrc/autograd/forward_grad.h):
// get_next_idx enters a level, release_idx exits it.
struct ForwardADLevel {
  static uint64_t get_next_idx() { return static_cast<uint64_t>(forward_ad::enter_dual_level()); }
  static void release_idx(uint64_t idx) { forward_ad::exit_dual_level(static_cast<int64_t>(idx)); }
};
}  // namespace dg::autograd

namespace dg {
// ATen's spellings of make_dual and unpack_dual (at::_make_dual,
// at::_unpack_dual), for code ported from LibTorch.
inline Tensor _make_dual(const Tensor& primal, const Tensor& tangent, int64_t level) {
  return autograd::forward_ad::make_dual(primal, tangent, level);
}
// Unlike unpack_dual, a level that does not exist is no error: no tangent
// (as at::_unpack_dual).
inline std::tuple<Tensor, Tensor> _unpack_dual(const Tensor& dual, int64_t level) {
  return {dual._fw_primal(level), dual._fw_grad(static_cast<uint64_t>(level))};
}
}  // namespace dg
