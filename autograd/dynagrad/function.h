#pragma once
// Custom autograd functions, as LibTorch's torch::autograd::Function<T>:
//
//   struct Square : dg::autograd::Function<Square> {
//     static dg::Tensor forward(dg::autograd::AutogradContext* ctx, dg::Tensor x) {
//       ctx->save_for_backward({x});
//       return x * x;
//     }
//     static dg::autograd::variable_list backward(dg::autograd::AutogradContext* ctx,
//                                                 dg::autograd::variable_list grads) {
//       auto x = ctx->get_saved_variables()[0];
//       return {grads[0] * 2 * x};
//     }
//   };
//   auto y = Square::apply(x);
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "dynagrad/autograd_meta.h"
#include "dynagrad/forward_ad.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/ivalue.h"
#include "dynagrad/saved_variable.h"

namespace dg::autograd {

using dg::variable_list;
using tensor_list = std::vector<Tensor>;
// A half-open range [first, second) of input indices (needs_input_grad).
using IndexRange = std::pair<size_t, size_t>;

class CppNodeBase;
namespace detail {
void wrap_outputs(CppNodeBase* node, const variable_list& inputs, variable_list& outputs, bool record);
}

class AutogradContext {
 public:
  // Tensors the backward needs; inputs and outputs of forward both allowed.
  void save_for_backward(variable_list to_save);
  // Unpacks them, checking that no in-place op changed them since.
  variable_list get_saved_variables() const;
  // Inputs that forward modified in place: their version is bumped once
  // here (on top of any bump by the in-place ops forward ran), so saved
  // copies of their old value are detected as stale, as in LibTorch.
  void mark_dirty(const variable_list& inputs);
  // Outputs that carry no gradient (indices, masks).
  void mark_non_differentiable(const variable_list& outputs);
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  // Whether the gradient of forward input i (counting tensors: each Tensor
  // argument, each element of a std::vector<Tensor> argument, each
  // std::optional<Tensor> argument holding a tensor) is needed.
  bool needs_input_grad(size_t i) const;
  // Whether any input in the ranges needs its gradient.
  bool needs_input_grad(std::initializer_list<IndexRange> ranges) const;

  // Anything else backward needs (LibTorch: ctx->saved_data["n"] = 3; in
  // backward ctx->saved_data["n"].toInt()).
  std::unordered_map<std::string, IValue> saved_data;

 private:
  template <typename T>
  friend struct Function;
  friend class CppNodeBase;
  friend void detail::wrap_outputs(CppNodeBase*, const variable_list&, variable_list&, bool);
  variable_list to_save_;
  std::vector<SavedVariable> saved_;
  std::unordered_set<TensorImpl*> dirty_;
  std::unordered_set<TensorImpl*> non_differentiable_;
  const Node* node_ = nullptr;
  bool materialize_grads_ = true;
  bool released_ = false;
};

// Type-erased node of a custom function; CppNode<T> calls T::backward.
class CppNodeBase : public Node {
 public:
  variable_list apply(variable_list&& grads) override;
  void release_saved() override;
  // The saved variables as "saved_variables" (PyTorch's ctx.saved_tensors).
  saved_value_list saved_values() const override;
  AutogradContext ctx;
  // Per forward argument slot: a Tensor argument, each element of a tensor
  // list, a std::optional<Tensor>, or false for anything else.
  std::vector<bool> is_tensor_input;
  std::vector<InputMetadata> output_info;
  bool once_differentiable = false;

 protected:
  virtual variable_list call_backward(variable_list grads) = 0;
};

template <typename T>
class CppNode final : public CppNodeBase {
 public:
  std::string name() const override { return name_; }
  std::string name_;

 protected:
  variable_list call_backward(variable_list grads) override { return T::backward(&ctx, std::move(grads)); }
};

namespace detail {
// A function declares `static constexpr bool once_differentiable = true;`
// when its backward cannot itself be differentiated (PyTorch's
// @once_differentiable): differentiating its gradients raises an error.
template <typename T, typename = void>
struct is_once_differentiable : std::false_type {};
template <typename T>
struct is_once_differentiable<T, std::void_t<decltype(T::once_differentiable)>>
    : std::bool_constant<T::once_differentiable> {};
}  // namespace detail

namespace detail {
// Collects the tensors of a forward call: Tensor arguments, the elements of
// std::vector<Tensor> arguments, std::optional<Tensor> arguments that hold one.
inline void collect_tensors(variable_list&, std::vector<bool>&) {}
template <typename A, typename... Rest>
void collect_tensors(variable_list& out, std::vector<bool>& is_tensor, const A& a, const Rest&... rest) {
  using D = std::decay_t<A>;
  if constexpr (std::is_same_v<D, Tensor>) {
    out.push_back(a);
    is_tensor.push_back(true);
  } else if constexpr (std::is_same_v<D, std::vector<Tensor>>) {
    for (const Tensor& t : a) {
      out.push_back(t);
      is_tensor.push_back(true);
    }
  } else if constexpr (std::is_same_v<D, std::optional<Tensor>>) {
    const bool has = a.has_value() && a->defined();
    if (has) out.push_back(*a);
    is_tensor.push_back(has);
  } else {
    is_tensor.push_back(false);
  }
  collect_tensors(out, is_tensor, rest...);
}
// Wires a custom node to its inputs and outputs (function.cpp).
void wrap_outputs(CppNodeBase* node, const variable_list& inputs, variable_list& outputs, bool record);
std::string demangle_function_name(const char* mangled);
inline variable_list to_list(const Tensor& t) { return {t}; }
inline variable_list to_list(const variable_list& v) { return v; }
}  // namespace detail

// LibTorch's UndefinedGrad (test helper of its own suite, public there):
// UndefinedGrad().apply({x}) returns copies of the tensors whose backward
// hands an undefined gradient on, as a gradient that "does not flow" would.
struct UndefinedGrad {
  variable_list apply(variable_list&& inputs) const;
};

template <typename T>
struct Function {
  template <typename... Args>
  static auto apply(Args&&... args) {
    variable_list inputs;
    std::vector<bool> is_tensor;
    detail::collect_tensors(inputs, is_tensor, args...);
    bool record = GradMode::is_enabled();
    bool any_rg = false;
    for (const auto& t : inputs) any_rg = any_rg || (t.defined() && t.requires_grad());
    record = record && any_rg;

    auto node = make_intrusive<CppNode<T>>();
    node->name_ = detail::demangle_function_name(typeid(T).name());
    node->is_tensor_input = is_tensor;
    node->once_differentiable = detail::is_once_differentiable<T>::value;
    edge_list edges;
    for (const auto& t : inputs) edges.push_back(record ? gradient_edge(t) : Edge());
    node->set_next_edges(std::move(edges));
    node->ctx.node_ = node.get();

    using R = decltype(T::forward(&node->ctx, std::forward<Args>(args)...));
    R result;
    // Forward mode: forward's own ops carry no tangents; T::jvp gives them.
    const bool fw_on = forward_ad::detail::enabled() && forward_ad::detail::any_tangent_in(inputs);
    {
      NoGradGuard no_grad;
      forward_ad::detail::FormulaScope no_tangents(fw_on);
      result = T::forward(&node->ctx, std::forward<Args>(args)...);
    }
    variable_list outputs = detail::to_list(result);
    detail::wrap_outputs(node.get(), inputs, outputs, record);
    if (fw_on) forward_ad::detail::function_jvp<T>(&node->ctx, node->name_, inputs, outputs);
    if constexpr (std::is_same_v<R, Tensor>) {
      return outputs[0];
    } else {
      return outputs;
    }
  }
};

}  // namespace dg::autograd
