#include "dynagrad/function.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "autograd/recording.h"
#include "dynagrad/factory.h"

namespace dg::detail {
namespace {
// The node of a gradient computed by a once_differentiable backward while
// recording: differentiating through it raises `msg` (PyTorch's DelayedError).
class DelayedError final : public Node {
 public:
  explicit DelayedError(std::string msg) : msg_(std::move(msg)) {}
  std::string name() const override { return "DelayedError"; }
  variable_list apply(variable_list&&) override { throw Error(msg_); }

 private:
  std::string msg_;
};
}  // namespace

edge_list collect_next_edges_of(const variable_list& inputs) {
  edge_list edges;
  for (const auto& t : inputs) edges.push_back(autograd::gradient_edge(t));
  return edges;
}

// Gives each defined tensor of `outs` a DelayedError history reaching the
// incoming gradients `grads` and the forward inputs (`forward_edges`): the
// gradients depend on both, so a second differentiation must reach the error
// rather than silently miss a term.
void delay_error(variable_list& outs, const variable_list& grads, const edge_list& forward_edges, std::string msg) {
  auto node = make_intrusive<DelayedError>(std::move(msg));
  edge_list edges = collect_next_edges_of(grads);
  edges.insert(edges.end(), forward_edges.begin(), forward_edges.end());
  node->set_next_edges(std::move(edges));
  for (auto& o : outs) {
    if (!o.defined()) continue;
    o = o.detach();
    set_history(o, node);
  }
}
}  // namespace dg::detail

namespace dg::autograd {

void AutogradContext::save_for_backward(variable_list to_save) { to_save_ = std::move(to_save); }

variable_list AutogradContext::get_saved_variables() const {
  if (released_) dg::detail::throw_saved_released(node_ ? node_->name() : std::string("Function"));
  variable_list out;
  out.reserve(saved_.size());
  for (const auto& sv : saved_) out.push_back(sv.unpack(node_));
  return out;
}

void AutogradContext::mark_dirty(const variable_list& inputs) {
  for (const auto& t : inputs) {
    if (!t.defined()) continue;
    dirty_.insert(t.unsafeGetTensorImpl());
    t.unsafeGetTensorImpl()->bump_version("a custom Function's forward (mark_dirty)");
  }
}

void AutogradContext::mark_non_differentiable(const variable_list& outputs) {
  for (const auto& t : outputs)
    if (t.defined()) non_differentiable_.insert(t.unsafeGetTensorImpl());
}

bool AutogradContext::needs_input_grad(size_t i) const { return node_ && node_->needs_input_grad(i); }

bool AutogradContext::needs_input_grad(std::initializer_list<IndexRange> ranges) const {
  for (const auto& [first, last] : ranges)
    for (size_t i = first; i < last; ++i)
      if (needs_input_grad(i)) return true;
  return false;
}

variable_list CppNodeBase::apply(variable_list&& grads) {
  if (ctx.released_) throw_released();
  if (ctx.materialize_grads_) {
    for (size_t i = 0; i < grads.size() && i < output_info.size(); ++i)
      if (!grads[i].defined())
        grads[i] =
            dg::zeros(output_info[i].sizes, TensorOptions().dtype(output_info[i].dtype).device(output_info[i].device));
  }
  variable_list out;
  const bool delay_error = once_differentiable && GradMode::is_enabled();
  if (delay_error) {
    NoGradGuard once;  // its backward is not differentiable: do not record it
    out = call_backward(grads);
  } else {
    out = call_backward(std::move(grads));
  }
  const size_t num_tensors = num_outputs();
  const size_t num_args = is_tensor_input.size();
  // Extra gradients past the last forward argument must be undefined; they
  // are dropped (LibTorch accepts them).
  if (out.size() > num_args && num_args > 0) {
    for (size_t i = num_args; i < out.size(); ++i)
      DG_CHECK(!out[i].defined(), "function ", name(), " returned an incorrect number of gradients (expected ",
               num_args, ", got ", out.size(), "; the extra ones must be undefined, and gradient ", i, " is not)");
    out.resize(num_args);
  }
  if (out.size() == num_args && num_args != num_tensors) {
    // One gradient per forward argument: keep the tensors' ones.
    variable_list kept;
    kept.reserve(num_tensors);
    for (size_t i = 0; i < num_args; ++i) {
      if (is_tensor_input[i]) {
        kept.push_back(std::move(out[i]));
      } else {
        DG_CHECK(!out[i].defined(), "function ", name(), " returned a gradient different than undefined at position ",
                 i + 1, ", but the corresponding forward input was not a Variable");
      }
    }
    out = std::move(kept);
  }
  DG_CHECK(out.size() == num_tensors, "function ", name(), " returned an incorrect number of gradients (expected ",
           num_args, ", got ", out.size(), ")");
  // A gradient for an input that needs none is dropped rather than sent on.
  for (size_t i = 0; i < out.size(); ++i)
    if (!needs_input_grad(i)) out[i] = Tensor();
  if (delay_error)
    dg::detail::delay_error(
        out, grads, next_edges(),
        "trying to differentiate twice a function that was marked with once_differentiable (" + name() + ")");
  return out;
}

namespace {
class UndefinedGradBackward final : public Node {
 public:
  std::string name() const override { return "UndefinedGradBackward"; }
  variable_list apply(variable_list&&) override { return variable_list(num_outputs()); }
};
}  // namespace

variable_list UndefinedGrad::apply(variable_list&& inputs) const {
  variable_list outputs;
  bool record = false;
  for (const auto& t : inputs) record = record || (t.defined() && t.requires_grad());
  record = record && GradMode::is_enabled();
  auto node = make_intrusive<UndefinedGradBackward>();
  if (record) node->set_next_edges(dg::detail::collect_next_edges_of(inputs));
  for (const auto& t : inputs) {
    Tensor out;
    if (t.defined()) {
      NoGradGuard no_grad;
      out = t.clone();
    }
    if (record && out.defined()) dg::detail::set_history(out, node);
    outputs.push_back(std::move(out));
  }
  return outputs;
}

void CppNodeBase::release_saved() {
  for (auto& sv : ctx.saved_) sv.reset_data();
  ctx.released_ = true;
}

saved_value_list CppNodeBase::saved_values() const {
  if (ctx.saved_.empty()) return {};
  return {{"saved_variables", SavedValue(ctx.get_saved_variables())}};
}

namespace detail {

void wrap_outputs(CppNodeBase* node, const variable_list& inputs, variable_list& outputs, bool record) {
  AutogradContext& ctx = node->ctx;
  auto is_input = [&](const TensorImpl* impl) {
    for (const auto& in : inputs)
      if (in.unsafeGetTensorImpl() == impl) return true;
    return false;
  };
  const NodePtr self(node);
  for (auto& out : outputs) {
    if (!out.defined()) {
      node->add_input_metadata(InputMetadata{});
      node->output_info.push_back(InputMetadata{});
      continue;
    }
    TensorImpl* impl = out.unsafeGetTensorImpl();
    const bool dirty = ctx.dirty_.count(impl) > 0;
    const bool differentiable = !ctx.non_differentiable_.count(impl) && out.is_floating_point();
    if (dirty) {
      DG_CHECK(is_input(impl), "function ", node->name(),
               ": mark_dirty was given a tensor that is not an input of forward");
      if (record) {
        const AutogradMeta* m = impl->autograd_meta();
        DG_CHECK(!(m && m->requires_grad && !m->grad_fn), "function ", node->name(),
                 ": a leaf Variable that requires grad has been used in an in-place operation (mark_dirty) with "
                 "grad mode on");
      }
      // No bump here: the in-place op forward ran already bumped the version
      // (LibTorch does the same).
    } else if (is_input(impl)) {
      // Returned unchanged: hand back an alias so the input keeps its own history.
      out = make_view(out, out.sizes(), out.strides(), out.storage_offset());
      impl = out.unsafeGetTensorImpl();
    }
    const uint32_t nr = node->add_input_metadata(out);
    InputMetadata info;
    info.sizes = out.sizes();
    info.dtype = out.dtype();
    info.device = out.device();
    node->output_info.push_back(std::move(info));
    if (record && differentiable && dirty && out.is_view()) {
      // Written through a view: the base's history must change too (CopySlices),
      // which hands the node one gradient, so only single-output functions can.
      DG_CHECK(outputs.size() == 1, "function ", node->name(),
               ": an input that is a view was modified in place (mark_dirty) by a function with ", outputs.size(),
               " outputs; only single-output functions may modify views in place");
      size_t input = 0;
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].unsafeGetTensorImpl() == impl) input = i;
      dg::detail::rebase_history(out, self, input);
    } else if (record && differentiable) {
      dg::detail::set_grad_fn(impl->ensure_autograd_meta(), self, nr);
    } else if (dirty && record) {
      // A dirty non-differentiable output loses its old history.
      if (AutogradMeta* m = impl->autograd_meta()) m->grad_fn.reset();
    }
  }
  if (record) {
    ctx.saved_.reserve(ctx.to_save_.size());
    for (const auto& t : ctx.to_save_) {
      bool is_output = false;
      for (const auto& out : outputs)
        if (t.defined() && out.unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) is_output = true;
      ctx.saved_.emplace_back(t, is_output);
    }
  }
  ctx.to_save_.clear();
}

std::string demangle_function_name(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string name = (status == 0 && d) ? std::string(d.get()) : std::string(mangled);
  // Drop template arguments, then namespaces: "ns::Square<int>" -> "Square".
  if (auto lt = name.find('<'); lt != std::string::npos) name.erase(lt);
  if (auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  return name + "Backward";
}

}  // namespace detail
}  // namespace dg::autograd
