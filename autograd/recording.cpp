#include "autograd/recording.h"

namespace dg::detail {

void check_no_inference_inputs(const char* op, std::initializer_list<const Tensor*> inputs) {
  for (const Tensor* t : inputs)
    DG_CHECK(!t->defined() || !t->is_inference(), op,
             ": inference tensors cannot be saved for backward; clone() the tensor outside InferenceMode to "
             "get a normal tensor and use that in autograd");
}

void set_history(const Tensor& result, const NodePtr& node) {
  AutogradMeta& m = result.unsafeGetTensorImpl()->ensure_autograd_meta();
  set_grad_fn(m, node, node->add_input_metadata(result));
}

void check_out_no_grad(const char* op, bool would_record) {
  DG_CHECK(!would_record, op,
           ": functions with out= arguments don't support automatic differentiation, but one of the arguments "
           "requires grad");
}

}  // namespace dg::detail
