#pragma once
// The functional autograd API (PyTorch's torch.autograd.functional): vjp,
// jvp, jacobian, hessian, vhp and hvp of a function of tensors.
//
// Each comes in two forms: one tensor in, one tensor out
// (std::function<Tensor(const Tensor&)>) and lists
// (std::function<variable_list(const variable_list&)>; for hessian, vhp and
// hvp, lists in and one scalar out). As in PyTorch:
//  - the inputs are used through fresh leaves (detached, requiring grad), so
//    the user's tensors' .grad is never touched; with create_graph=true their
//    history is kept and the results can be differentiated again;
//  - without create_graph the results (and the function's outputs) are
//    detached;
//  - an input the outputs do not depend on gets a zero result, or a dg::Error
//    with strict=true;
//  - `v` may be left undefined only where the function's output (for vjp) or
//    the input (for jvp, hvp, vhp) has one element.
// jvp uses the double-backward trick (two reverse passes); hvp computes vhp
// (the Hessian of a twice continuously differentiable function is
// symmetric), which costs one reverse pass less than PyTorch's hvp.
// jacobian's strategy is "reverse-mode" (one reverse pass per output
// element) or "forward-mode" (one jvp per input element, which pays when
// inputs are fewer than outputs); `vectorize` is accepted and computes the
// same rows or columns one at a time.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/node.h"

namespace dg::autograd::functional {

using TensorFn = std::function<Tensor(const Tensor&)>;
using ListFn = std::function<variable_list(const variable_list&)>;
using ScalarListFn = std::function<Tensor(const variable_list&)>;

// (func(inputs), vᵀ J)
std::pair<Tensor, Tensor> vjp(const TensorFn& func, const Tensor& inputs, const Tensor& v = {},
                              bool create_graph = false, bool strict = false);
std::pair<variable_list, variable_list> vjp(const ListFn& func, const variable_list& inputs,
                                            const variable_list& v = {}, bool create_graph = false,
                                            bool strict = false);

// (func(inputs), J v)
std::pair<Tensor, Tensor> jvp(const TensorFn& func, const Tensor& inputs, const Tensor& v = {},
                              bool create_graph = false, bool strict = false);
std::pair<variable_list, variable_list> jvp(const ListFn& func, const variable_list& inputs,
                                            const variable_list& v = {}, bool create_graph = false,
                                            bool strict = false);

// d output / d input, of shape output.sizes() + input.sizes(); the list form
// is indexed [output][input].
Tensor jacobian(const TensorFn& func, const Tensor& inputs, bool create_graph = false, bool strict = false,
                bool vectorize = false, const std::string& strategy = "reverse-mode");
std::vector<variable_list> jacobian(const ListFn& func, const variable_list& inputs, bool create_graph = false,
                                    bool strict = false, bool vectorize = false,
                                    const std::string& strategy = "reverse-mode");

// Second derivatives of a function with one element out: shape
// input.sizes() + input.sizes(); the list form is indexed [input i][input j].
Tensor hessian(const TensorFn& func, const Tensor& inputs, bool create_graph = false, bool strict = false,
               bool vectorize = false, const std::string& outer_jacobian_strategy = "reverse-mode");
std::vector<variable_list> hessian(const ScalarListFn& func, const variable_list& inputs, bool create_graph = false,
                                   bool strict = false, bool vectorize = false,
                                   const std::string& outer_jacobian_strategy = "reverse-mode");

// (func(inputs), vᵀ H) and (func(inputs), H v) for a function with one element out.
std::pair<Tensor, Tensor> vhp(const TensorFn& func, const Tensor& inputs, const Tensor& v = {},
                              bool create_graph = false, bool strict = false);
std::pair<Tensor, variable_list> vhp(const ScalarListFn& func, const variable_list& inputs, const variable_list& v = {},
                                     bool create_graph = false, bool strict = false);
std::pair<Tensor, Tensor> hvp(const TensorFn& func, const Tensor& inputs, const Tensor& v = {},
                              bool create_graph = false, bool strict = false);
std::pair<Tensor, variable_list> hvp(const ScalarListFn& func, const variable_list& inputs, const variable_list& v = {},
                                     bool create_graph = false, bool strict = false);

}  // namespace dg::autograd::functional
