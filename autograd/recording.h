#pragma once
// What the generated autograd wrappers call to record an op: whether to
// record, the next edges of its node, the output's history, and the in-place
// rules. Private to the library; kept here so generated code stays short.
#include "dynagrad/autograd_meta.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/saved_variable.h"

namespace dg::detail {

inline bool requires_grad_fast(const Tensor& t) {
  if (!t.defined()) return false;
  TensorImpl* impl = t.unsafeGetTensorImpl();
  maybe_refresh_view(impl);
  const AutogradMeta* m = impl->autograd_meta();
  return m && (m->requires_grad || m->grad_fn);
}

void check_no_inference_inputs(const char* op, std::initializer_list<const Tensor*> inputs);

// Whether an op over these inputs records a node. Throws if an inference
// tensor would be saved for backward.
template <typename... Ts>
bool should_record(const char* op, const Ts&... inputs) {
  if (!GradMode::is_enabled()) return false;
  if (!(requires_grad_fast(inputs) || ...)) return false;
  check_no_inference_inputs(op, {&inputs...});
  return true;
}

template <typename... Ts>
edge_list collect_next_edges(const Ts&... inputs) {
  edge_list edges;
  edges.reserve(sizeof...(Ts));
  (edges.push_back(autograd::gradient_edge(inputs)), ...);
  return edges;
}

// Makes `node` the grad_fn of `result` (its next output).
void set_history(const Tensor& result, const NodePtr& node);
// After an in-place op recorded as `node` wrote `self`: a plain tensor gets
// `node` as its grad_fn; when `self` is a view, its base gets a CopySlices
// wrapping `node`, and the view's history is rebuilt from the base on use.
// `input` is which of node's inputs `self` is (0 for generated ops).
// (Defined in views.cpp.)
void rebase_history(const Tensor& self, const NodePtr& node, size_t input = 0);

// In-place rules, checked before anything is written: while grad mode is on,
// no in-place op on a leaf that requires grad or on a view of one, and none
// recorded on a view made under NoGradGuard of a base that requires grad;
// never on an inference tensor outside InferenceMode. (Defined in views.cpp.)
void check_inplace(const char* op, const Tensor& self, bool record);
// out= variants do not record: error if they would have to.
void check_out_no_grad(const char* op, bool would_record);
// Forward mode reached an op without a forward formula (derivatives.yaml).
// (Defined in forward_ad.cpp.)
[[noreturn]] void throw_forward_not_implemented(const char* op);

}  // namespace dg::detail
