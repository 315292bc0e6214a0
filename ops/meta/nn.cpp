// Shape rules of the neural-network functions, and the range checks of their
// class targets and embedding indices: read here (on the host, for a CUDA
// tensor too), before anything is written, so the kernels index unchecked.
#include "ops/meta.h"

namespace dg::meta {

namespace {

void nn_check_floating(const char* op, const char* name, const Tensor& t) {
  DG_CHECK(t.is_floating_point(), op, ": expected ", name, " to be a floating point tensor, got ", t.dtype());
}

void nn_check_index(const char* op, const char* name, const Tensor& t) {
  DG_CHECK(t.dtype() == kInt64, op, ": expected ", name, " of dtype int64, got ", t.dtype());
}

// Every class target in [0, classes) or equal to ignore_index.
void nn_check_targets(const Tensor& target, int64_t classes, int64_t ignore_index) {
  const std::optional<int64_t> bad = find_index_out_of_range(target, classes, ignore_index);
  DG_CHECK(!bad, "nll_loss: target ", *bad, " is out of range for input with ", classes, " classes (expected 0..",
           classes - 1, ", or ignore_index ", ignore_index, ")");
}

// Every embedding index names one of weight's `rows` rows.
void nn_check_rows(const Tensor& indices, int64_t rows) {
  const std::optional<int64_t> bad = find_index_out_of_range(indices, rows);
  DG_CHECK(!bad, "embedding: index ", *bad, " is out of range for weight with ", rows, " rows (expected 0..", rows - 1,
           ")");
}

DimVector nn_without_dim1(IntArrayRef sizes) {
  DimVector out;
  for (size_t d = 0; d < sizes.size(); ++d)
    if (d != 1) out.push_back(sizes[d]);
  return out;
}

DimVector nn_with_last(IntArrayRef sizes, int64_t last) {
  DimVector out(sizes);
  out.push_back(last);
  return out;
}

}  // namespace

TensorMeta softmax(const char* op, const Tensor& self, int64_t dim) {
  nn_check_floating(op, "self", self);
  wrap_dim(op, dim, self.dim());
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

TensorMeta softmax_backward_data(const char* op, const Tensor& grad_output, const Tensor& output, int64_t dim) {
  check_same_device(op, {&grad_output, &output});
  nn_check_floating(op, "grad_output", grad_output);
  DG_CHECK(grad_output.sizes() == output.sizes(), op, ": expected grad_output and output of one shape, got ",
           grad_output.sizes(), " and ", output.sizes());
  DG_CHECK(grad_output.dtype() == output.dtype(), op, ": expected grad_output and output of one dtype, got ",
           grad_output.dtype(), " and ", output.dtype());
  wrap_dim(op, dim, output.dim());
  return TensorMeta{DimVector(output.sizes()), output.dtype(), output.device()};
}

TensorMeta nll_pick(const char* op, const Tensor& self, const Tensor& target, int64_t ignore_index) {
  check_same_device(op, {&self, &target});
  nn_check_floating(op, "self", self);
  nn_check_index(op, "target", target);
  DG_CHECK(self.dim() >= 2, op, ": expected self of shape [N, C, ...] (at least 2 dimensions), got ", self.sizes());
  const DimVector expected = nn_without_dim1(self.sizes());
  DG_CHECK(target.sizes() == expected.ref(), op, ": expected target of shape ", expected.ref(), " for input of shape ",
           self.sizes(), ", got ", target.sizes());
  nn_check_targets(target, self.size(1), ignore_index);
  return TensorMeta{expected, self.dtype(), self.device()};
}

TensorMeta nll_pick_backward(const char* op, const Tensor& grad, const Tensor& target, IntArrayRef self_sizes,
                             int64_t ignore_index) {
  check_same_device(op, {&grad, &target});
  nn_check_floating(op, "grad", grad);
  nn_check_index(op, "target", target);
  DG_CHECK(self_sizes.size() >= 2, op, ": expected self_sizes [N, C, ...] (at least 2 dimensions), got ", self_sizes);
  const DimVector expected = nn_without_dim1(self_sizes);
  DG_CHECK(target.sizes() == expected.ref() && grad.sizes() == expected.ref(), op,
           ": expected grad and target of shape ", expected.ref(), ", got ", grad.sizes(), " and ", target.sizes());
  nn_check_targets(target, self_sizes[1], ignore_index);
  return TensorMeta{DimVector(self_sizes), grad.dtype(), grad.device()};
}

TensorMeta embedding(const char* op, const Tensor& weight, const Tensor& indices, int64_t padding_idx,
                     bool scale_grad_by_freq, bool sparse) {
  (void)padding_idx;
  (void)scale_grad_by_freq;
  DG_CHECK(!sparse, op, ": sparse=True (sparse gradients) is not supported; use sparse=False");
  check_same_device(op, {&weight, &indices});
  nn_check_floating(op, "weight", weight);
  nn_check_index(op, "indices", indices);
  DG_CHECK(weight.dim() == 2, op, ": expected weight to be 2-D [num_embeddings, embedding_dim], got shape ",
           weight.sizes());
  nn_check_rows(indices, weight.size(0));
  return TensorMeta{nn_with_last(indices.sizes(), weight.size(1)), weight.dtype(), weight.device()};
}

TensorMeta embedding_backward(const char* op, const Tensor& grad, const Tensor& indices, int64_t num_weights,
                              int64_t padding_idx, bool scale_grad_by_freq, bool sparse) {
  (void)padding_idx;
  (void)scale_grad_by_freq;
  check_same_device(op, {&grad, &indices});
  DG_CHECK(!sparse, op, ": sparse=True (sparse gradients) is not supported; use sparse=False");
  nn_check_floating(op, "grad", grad);
  nn_check_index(op, "indices", indices);
  DG_CHECK(num_weights >= 0, op, ": expected num_weights >= 0, got ", num_weights);
  DG_CHECK(grad.dim() == indices.dim() + 1 && grad.sizes().size() > 0 &&
               IntArrayRef(grad.sizes().data(), grad.sizes().size() - 1) == indices.sizes(),
           op, ": expected grad of shape indices.sizes() + [embedding_dim] (indices ", indices.sizes(), "), got ",
           grad.sizes());
  nn_check_rows(indices, num_weights);
  return TensorMeta{DimVector{num_weights, grad.size(-1)}, grad.dtype(), grad.device()};
}

TensorMeta embedding_backward_adjoint(const char* op, const Tensor& grad_weight, const Tensor& indices,
                                      int64_t padding_idx, bool scale_grad_by_freq) {
  return embedding(op, grad_weight, indices, padding_idx, scale_grad_by_freq, false);
}

}  // namespace dg::meta
