// dg::nn::utils (dynagrad/nn/utils.h).
#include "dynagrad/nn/utils.h"

#include <cmath>

#include "dynagrad/grad_mode.h"

namespace dg::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  double total = 0.0;
  if (std::isinf(norm_type)) {
    for (const Tensor& g : grads) total = std::max(total, g.abs().max().item<double>());
  } else {
    // One norm per gradient, then the norm of those norms.
    std::vector<Tensor> norms;
    for (const Tensor& g : grads) norms.push_back(dg::linalg_vector_norm(g, norm_type).to(kFloat64).cpu());
    total = dg::linalg_vector_norm(dg::stack(norms), norm_type).item<double>();
  }
  DG_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of order ", norm_type,
           " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale "
           "the gradients by the non-finite norm anyway, set `error_if_nonfinite=false`");
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const Tensor& g : grads) g.mul_(coef);
  return total;
}

double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters)
    if (p.grad().defined()) p.grad().clamp_(-clip_value, clip_value);
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

Tensor parameters_to_vector(const std::vector<Tensor>& parameters) {
  DG_CHECK(!parameters.empty(), "parameters_to_vector: expected at least one parameter");
  std::vector<Tensor> flat;
  for (const Tensor& p : parameters) {
    DG_CHECK(p.device() == parameters[0].device(),
             "parameters_to_vector: found two parameters on different devices, "
             "this is currently not supported");
    flat.push_back(p.view({-1}));
  }
  return dg::cat(flat);
}

void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters) {
  DG_CHECK(vec.dim() == 1, "vector_to_parameters: expected a 1-D vector, got ", vec.dim(), "-D");
  int64_t total = 0;
  for (const Tensor& p : parameters) total += p.numel();
  DG_CHECK(total == vec.numel(), "vector_to_parameters: the vector has ", vec.numel(), " elements, the parameters ",
           total);
  NoGradGuard no_grad;
  int64_t offset = 0;
  for (const Tensor& p : parameters) {
    p.copy_(vec.slice(0, offset, offset + p.numel()).view_as(p));
    offset += p.numel();
  }
}

}  // namespace dg::nn::utils

namespace dg::utils {

Tensor checkpoint_sequential(const nn::Sequential& modules, int64_t segments, const Tensor& input,
                             const CheckpointOptions& options) {
  std::vector<std::function<Tensor(const Tensor&)>> fns;
  for (const nn::AnyModule& m : *modules.ptr()) fns.push_back([m](const Tensor& x) { return m.forward(x); });
  return checkpoint_sequential(fns, segments, input, options);
}

}  // namespace dg::utils
