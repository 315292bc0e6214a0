#include "dynagrad/detail/op_support.h"

#include "dispatch.h"  // generated: the layer below autograd

namespace dg::detail {

void check_no_inference_inputs(const char* op, std::initializer_list<const Tensor*> inputs) {
  for (const Tensor* t : inputs)
    DG_CHECK(!t->defined() || !t->is_inference(), op,
             ": inference tensors cannot be saved for backward; clone() the tensor outside InferenceMode to "
             "get a normal tensor and use that in autograd");
}

void set_history(const Tensor& result, const NodePtr& node) {
  AutogradMeta& m = result.unsafeGetTensorImpl()->ensure_autograd_meta();
  m.grad_fn = node;
  m.output_nr = node->add_input_metadata(result);
}

namespace {
// Writing a tensor whose elements share memory (an expanded view) would apply
// the op several times to one location: refuse, as PyTorch does. A size>1
// dimension with stride 0 is how such tensors arise.
void check_no_internal_overlap(const char* op, const Tensor& t) {
  IntArrayRef sizes = t.sizes(), strides = t.strides();
  for (size_t d = 0; d < sizes.size(); ++d) {
    DG_CHECK(!(sizes[d] > 1 && strides[d] == 0), op,
             ": unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location (stride 0 along dimension ", d, " of size ", sizes[d], ", e.g. after expand()). clone() it "
             "before writing to it.");
  }
}

bool is_leaf_requiring_grad(const TensorImpl* impl) {
  const AutogradMeta* m = impl->autograd_meta();
  return m && m->requires_grad && !m->grad_fn;
}
}  // namespace

void check_inplace(const char* op, const Tensor& self, bool record) {
  check_defined(op, "self", self);
  DG_CHECK(!self.is_inference() || InferenceMode::is_enabled(), op,
           ": in-place operation on an inference tensor outside InferenceMode");
  check_no_internal_overlap(op, self);
  if (!GradMode::is_enabled()) return;
  TensorImpl* impl = self.unsafeGetTensorImpl();
  maybe_refresh_view(impl);
  DG_CHECK(!is_leaf_requiring_grad(impl), op,
           ": a leaf tensor that requires grad is being used in an in-place operation. Use it in place only "
           "under dg::NoGradGuard (as optimizers do), or clone() it first.");
  const ViewKind kind = impl->view_kind();
  if (kind == ViewKind::None || kind == ViewKind::Detached) return;
  const TensorImpl* base = impl->view_base().get();
  DG_CHECK(!is_leaf_requiring_grad(base), op,
           ": a view of a leaf tensor that requires grad is being used in an in-place operation (the view has "
           "shape ", self.sizes(), ", its base ", base->sizes(),
           "). Modify the leaf under dg::NoGradGuard, or clone() it and work on the copy.");
  if (kind == ViewKind::NoGrad) {
    // Recorded or not, the base's values change without its history knowing.
    DG_CHECK(!requires_grad_fast(Tensor(impl->view_base())), op,
             ": this view was created under NoGradGuard and is being modified in place with grad mode on, "
             "while its base requires grad. Whether the base's gradient should see this change is ambiguous, so "
             "it is refused: create the view with grad mode on (to record the change), or do the in-place op "
             "under NoGradGuard too (to not record it).");
  }
}

void rebase_history(const Tensor& self, const NodePtr& node, size_t input) {
  TensorImpl* impl = self.unsafeGetTensorImpl();
  const ViewKind kind = impl->view_kind();
  if (kind == ViewKind::None || kind == ViewKind::Detached) {
    set_history(self, node);
    return;
  }
  // The op wrote the base's memory: the base's history becomes CopySlices,
  // whose first edge is the base's previous history. The node keeps the same
  // first edge (it is only ever run by the CopySlices).
  const Tensor base(impl->view_base());
  edge_list edges = node->next_edges();
  edges[input] = autograd::gradient_edge(base);
  node->set_next_edges(edge_list(edges));
  auto copy_slices = make_intrusive<CopySlices>(base, self, node, input);
  copy_slices->set_next_edges(std::move(edges));
  set_history(base, copy_slices);
  // The view now follows its base (also if made under NoGradGuard: check_inplace
  // only lets that through when the base did not require grad) and its old
  // grad_fn is stale: mark it so, and the next use rebuilds it from the base.
  impl->set_view_base(impl->view_base(), ViewKind::Default);
  impl->set_view_version(impl->version() - 1);
}

void check_out_no_grad(const char* op, bool would_record) {
  DG_CHECK(!would_record, op,
           ": functions with out= arguments don't support automatic differentiation, but one of the arguments "
           "requires grad");
}

void check_defined(const char* op, const char* arg, const Tensor& t) {
  DG_CHECK(t.defined(), op, ": expected a defined tensor for argument '", arg, "', got an undefined one");
}

Tensor make_output(const meta::TensorMeta& m) { return make_empty(m.sizes, m.dtype, m.device); }

void resize_out(const char* op, const Tensor& out, const meta::TensorMeta& m) {
  check_defined(op, "out", out);
  DG_CHECK(out.dtype() == m.dtype, op, ": expected out to have dtype ", m.dtype, ", got ", out.dtype());
  DG_CHECK(out.device() == m.device, op, ": expected out on device ", m.device, ", got ", out.device());
  check_no_internal_overlap(op, out);
  if (out.sizes() == IntArrayRef(m.sizes)) return;
  TensorImpl* impl = out.unsafeGetTensorImpl();
  const int64_t numel = multiply_integers(m.sizes);
  const size_t needed = static_cast<size_t>(impl->storage_offset() + numel) * element_size(m.dtype);
  if (needed > impl->storage()->nbytes()) impl->storage()->reallocate(needed);
  impl->set_sizes_and_strides(m.sizes, contiguous_strides(m.sizes), impl->storage_offset());
}

ScalarType check_inplace_result(const char* op, const Tensor& self, const meta::TensorMeta& m) {
  DG_CHECK(self.sizes() == IntArrayRef(m.sizes), op, ": the result of shape ", IntArrayRef(m.sizes),
           " does not fit self of shape ", self.sizes());
  const ScalarType s = self.dtype();
  // Same rule as PyTorch's canCast: no float into integral/bool, no integral into bool.
  const bool bad = (is_floating_point(m.dtype) && !is_floating_point(s)) || (s == kBool && m.dtype != kBool);
  DG_CHECK(!bad, op, ": result type ", m.dtype, " can't be cast to the desired output type ", s);
  return s;
}

Tensor cast_for_compute(const Tensor& t, ScalarType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor r = make_empty(t.sizes(), dtype, t.device());
  dispatch::copy_(r, t);
  return r;
}

void no_kernel(const char* op, Device device, ScalarType dtype, const char* supported) {
  throw Error(str(op, ": no ", device_type_name(device.type), " kernel for dtype ", dtype, " (supported: ",
                  supported, ")"));
}

}  // namespace dg::detail
