#pragma once
// Numerical gradient checks for users' own functions and for the generated
// per-op tests: central finite differences in float64 against the analytic
// gradient that autograd computes.
#include <functional>

#include "dynagrad/node.h"

namespace dg::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  bool raise_exception = true;  // throw dg::Error describing the first mismatch
};

using GradcheckFn = std::function<variable_list(const variable_list&)>;

// Checks d fn(inputs) / d inputs for every input that requires grad. Inputs
// must be float64. Returns true on success; on failure throws (or returns false
// when raise_exception is false).
bool gradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts = {});

// Checks the second derivative: the gradient of (fn's vector-Jacobian product
// with random grad_outputs) w.r.t. the inputs and the grad_outputs.
bool gradgradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts = {});

// Checks forward mode (PyTorch: gradcheck(check_forward_ad=True)): with a
// random tangent u on every input that requires grad, the tangents of fn's
// outputs computed in a dual level must equal the central finite differences
// (fn(x + eps u) - fn(x - eps u)) / 2 eps, and agree with reverse mode:
// <v, J u> from forward mode equals <J^T v, u> from autograd::grad for a
// random v.
bool fwgradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts = {});

}  // namespace dg::autograd
