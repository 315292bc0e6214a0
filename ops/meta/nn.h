#pragma once
// Shape rules of the neural-network functions (see meta.h).
#include "dynagrad/tensor.h"
#include "ops/meta.h"
namespace dg::meta {

// softmax / log_softmax: same shape and dtype; dim checked.
TensorMeta softmax(const char* op, const Tensor& self, int64_t dim);
// _softmax_backward_data / _log_softmax_backward_data: grad_output and output
// of one shape, dtype and device.
TensorMeta softmax_backward_data(const char* op, const Tensor& grad_output, const Tensor& output, int64_t dim);
// _nll_pick: self [N, C, d...], target int64 [N, d...] -> [N, d...].
TensorMeta nll_pick(const char* op, const Tensor& self, const Tensor& target, int64_t ignore_index);
// _nll_pick_backward: grad and target [N, d...] -> self_sizes [N, C, d...].
TensorMeta nll_pick_backward(const char* op, const Tensor& grad, const Tensor& target, IntArrayRef self_sizes,
                             int64_t ignore_index);
// embedding: weight [num, D], indices int64 of any shape -> indices.sizes() + [D].
TensorMeta embedding(const char* op, const Tensor& weight, const Tensor& indices, int64_t padding_idx,
                     bool scale_grad_by_freq, bool sparse);
// embedding_backward: grad indices.sizes() + [D] -> [num_weights, D].
TensorMeta embedding_backward(const char* op, const Tensor& grad, const Tensor& indices, int64_t num_weights,
                              int64_t padding_idx, bool scale_grad_by_freq, bool sparse);
// _embedding_backward_adjoint: grad_weight [num, D] -> indices.sizes() + [D].
TensorMeta embedding_backward_adjoint(const char* op, const Tensor& grad_weight, const Tensor& indices,
                                      int64_t padding_idx, bool scale_grad_by_freq);

}  // namespace dg::meta
