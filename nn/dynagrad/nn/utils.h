// dg::nn::utils: gradient clipping and parameter flattening, LibTorch's
// torch::nn::utils.
#pragma once

#include <vector>

#include "dynagrad/checkpoint.h"
#include "dynagrad/nn/container.h"
#include "dynagrad/tensor.h"

namespace dg::nn::utils {

// Scales the gradients of `parameters` so that their total norm (the norm of
// all of them concatenated) is at most max_norm; returns the total norm
// before clipping. norm_type may be INFINITY. error_if_nonfinite throws when
// the norm is nan or inf.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
void clip_grad_value_(const Tensor& parameter, double clip_value);

// The parameters flattened and concatenated into one 1-D tensor.
Tensor parameters_to_vector(const std::vector<Tensor>& parameters);
// The reverse: copies consecutive slices of vec into the parameters.
void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters);

}  // namespace dg::nn::utils

namespace dg::utils {
// checkpoint_sequential over a Sequential's modules (PyTorch accepts an
// nn.Sequential the same way): see dynagrad/checkpoint.h.
Tensor checkpoint_sequential(const nn::Sequential& modules, int64_t segments, const Tensor& input,
                             const CheckpointOptions& options = {});
}  // namespace dg::utils
