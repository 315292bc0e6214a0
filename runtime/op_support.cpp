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

void check_inplace(const char* op, const Tensor& self, bool record) {
  check_defined(op, "self", self);
  DG_CHECK(!self.is_inference() || InferenceMode::is_enabled(), op,
           ": in-place operation on an inference tensor outside InferenceMode");
  if (!GradMode::is_enabled()) return;
  const AutogradMeta* m = self.unsafeGetTensorImpl()->autograd_meta();
  DG_CHECK(!(m && m->requires_grad && !m->grad_fn), op,
           ": a leaf tensor that requires grad is being used in an in-place operation. Use it in place only "
           "under dg::NoGradGuard (as optimizers do), or clone() it first.");
  // Recording an in-place op on a view would have to rewrite the base's
  // history too (PyTorch's view rebasing); until that exists, refuse rather
  // than give the base a wrong gradient.
  DG_CHECK(!(record && self.is_view()), op,
           ": in-place operations on views of tensors that require grad are not supported yet; clone() the "
           "view first.");
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
