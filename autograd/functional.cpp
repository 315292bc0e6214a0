// dg::autograd::functional: vjp, jvp, jacobian, hessian, vhp, hvp, each a few
// calls of autograd::grad on fresh leaves (see functional.h for the rules).
#include "dynagrad/functional.h"

#include "dynagrad/engine.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg::autograd::functional {

namespace {

// Fresh leaves for the inputs: history kept only when create_graph asks for it.
variable_list prepare_inputs(const char* api, const variable_list& inputs, bool create_graph) {
  variable_list out;
  out.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    DG_CHECK(x.defined(), api, ": input ", i, " is undefined");
    DG_CHECK(x.is_floating_point(), api, ": input ", i, " must be a floating-point tensor to be differentiated, got ",
             x.dtype());
    if (create_graph && x.requires_grad()) {
      out.push_back(x.view_as(x));
    } else {
      out.push_back(x.detach().requires_grad_(true));
    }
  }
  return out;
}

variable_list finish(variable_list ts, bool create_graph) {
  if (!create_graph)
    for (auto& t : ts)
      if (t.defined()) t = t.detach();
  return ts;
}

void check_outputs(const char* api, const variable_list& outs) {
  for (size_t i = 0; i < outs.size(); ++i)
    DG_CHECK(outs[i].defined(), api, ": output ", i, " of the user-provided function is undefined");
}

// `v` for `ref` (the function's outputs or inputs): given, shaped as ref; or,
// when empty, ones for a single one-element tensor.
variable_list vector_for(const char* api, const variable_list& v, const variable_list& ref, const char* what) {
  if (v.empty()) {
    DG_CHECK(ref.size() == 1 && ref[0].numel() == 1, api,
             ": the vector v can only be omitted if the user-provided function's ", what,
             " is a single Tensor with a single element");
    return {dg::ones_like(ref[0])};
  }
  DG_CHECK(v.size() == ref.size(), api, ": v has ", v.size(), " tensors but the function's ", what, " has ",
           ref.size());
  for (size_t i = 0; i < v.size(); ++i)
    DG_CHECK(v[i].defined() && v[i].sizes() == ref[i].sizes(), api, ": mismatch in shape: v[", i, "] has shape ",
             v[i].defined() ? v[i].sizes() : IntArrayRef{}, " and the function's ", what, "[", i, "] has shape ",
             ref[i].sizes());
  return v;
}

// autograd::grad over the outputs that have a history; undefined results for
// inputs no output reaches (and for all inputs when none has a history).
variable_list grad_of(const variable_list& outputs, const variable_list& inputs, const variable_list& grad_outputs,
                      bool create_graph, bool retain_graph) {
  variable_list outs, gouts;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].defined() || !outputs[i].requires_grad()) continue;
    outs.push_back(outputs[i]);
    gouts.push_back(grad_outputs.empty() ? Tensor() : grad_outputs[i]);
  }
  if (outs.empty()) return variable_list(inputs.size());
  return grad(outs, inputs, gouts, retain_graph, create_graph, /*allow_unused=*/true);
}

// In strict mode, every input must reach the outputs (its gradient defined).
void check_strict(const char* api, const variable_list& g, bool strict) {
  for (size_t i = 0; i < g.size() && strict; ++i)
    DG_CHECK(g[i].defined(), api, ": the output of the user-provided function is independent of input ", i,
             ". This is not allowed in strict mode.");
}

// Undefined gradients become zeros shaped as `like`, or a strict-mode error.
variable_list zeros_for_unused(const char* api, variable_list g, const variable_list& like, bool strict,
                               const char* independent_of) {
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i].defined()) continue;
    DG_CHECK(!strict, api, ": the output of the user-provided function is independent of ", independent_of, " ", i,
             ". This is not allowed in strict mode.");
    g[i] = dg::zeros_like(like[i]);
  }
  return g;
}

Tensor single_element(const char* api, const variable_list& outs) {
  DG_CHECK(outs.size() == 1 && outs[0].defined() && outs[0].numel() == 1, api,
           ": the Tensor returned by the function should contain a single element, got ",
           outs.size() == 1 && outs[0].defined() ? outs[0].numel() : int64_t(0), " elements");
  return outs[0];
}

ListFn as_list(const TensorFn& f) {
  return [f](const variable_list& in) { return variable_list{f(in[0])}; };
}
ScalarListFn as_scalar_list(const TensorFn& f) {
  return [f](const variable_list& in) { return f(in[0]); };
}
variable_list list_of(const Tensor& t) { return t.defined() ? variable_list{t} : variable_list{}; }

// The rows (reverse) or columns (forward) of d outs / d ins, as [out][in]
// tensors of shape out.sizes() + in.sizes().
std::vector<variable_list> jacobian_of(const char* api, const variable_list& outs, const variable_list& ins,
                                       bool create_graph, bool strict, const std::string& strategy) {
  std::vector<variable_list> result(outs.size(), variable_list(ins.size()));
  auto shape_of = [](const Tensor& o, const Tensor& i) {
    std::vector<int64_t> s(o.sizes().begin(), o.sizes().end());
    s.insert(s.end(), i.sizes().begin(), i.sizes().end());
    return s;
  };
  if (strategy == "reverse-mode") {
    for (size_t o = 0; o < outs.size(); ++o) {
      const int64_t n = outs[o].numel();
      const Tensor eye = dg::eye(n, TensorOptions().dtype(outs[o].dtype()).device(outs[o].device()));
      std::vector<variable_list> rows(ins.size());
      for (int64_t k = 0; k < n; ++k) {
        variable_list g = grad_of({outs[o]}, ins, {eye[k].view(outs[o].sizes())}, create_graph, true);
        for (size_t i = 0; i < ins.size(); ++i) {
          DG_CHECK(g[i].defined() || !strict, api, ": output ", o, " of the user-provided function is independent of ",
                   "input ", i, ". This is not allowed in strict mode.");
          rows[i].push_back(g[i].defined() ? g[i] : dg::zeros_like(ins[i]));
        }
      }
      for (size_t i = 0; i < ins.size(); ++i)
        result[o][i] = n == 0 ? dg::zeros(shape_of(outs[o], ins[i]), TensorOptions().dtype(ins[i].dtype()))
                              : dg::stack(rows[i], 0).view(shape_of(outs[o], ins[i]));
    }
    return result;
  }
  DG_CHECK(strategy == "forward-mode", api, ": expected strategy \"reverse-mode\" or \"forward-mode\", got \"",
           strategy, "\"");
  // Columns by the double-backward trick: g(u) = Jᵀ u is linear in u, so
  // d/du <g(u), v> = J v, one reverse pass per column over one graph.
  variable_list dummies;
  for (const auto& o : outs) dummies.push_back(dg::zeros_like(o).requires_grad_(true));
  variable_list gin = grad_of(outs, ins, dummies, /*create_graph=*/true, /*retain_graph=*/true);
  for (size_t i = 0; i < ins.size(); ++i) {
    const int64_t n = ins[i].numel();
    const Tensor eye = dg::eye(n, TensorOptions().dtype(ins[i].dtype()).device(ins[i].device()));
    std::vector<variable_list> cols(outs.size());
    for (int64_t k = 0; k < n; ++k) {
      variable_list col(outs.size());
      if (gin[i].defined() && gin[i].requires_grad())
        col = grad_of({gin[i]}, dummies, {eye[k].view(ins[i].sizes())}, create_graph, true);
      for (size_t o = 0; o < outs.size(); ++o) {
        DG_CHECK(col[o].defined() || !strict, api, ": output ", o, " of the user-provided function is independent of ",
                 "input ", i, ". This is not allowed in strict mode.");
        cols[o].push_back(col[o].defined() ? col[o] : dg::zeros_like(outs[o]));
      }
    }
    for (size_t o = 0; o < outs.size(); ++o) {
      // Columns stacked last: (out..., n) -> out.sizes() + in.sizes().
      const int64_t od = outs[o].dim();
      result[o][i] = n == 0 ? dg::zeros(shape_of(outs[o], ins[i]), TensorOptions().dtype(ins[i].dtype()))
                            : dg::stack(cols[o], od).view(shape_of(outs[o], ins[i]));
    }
  }
  return result;
}

}  // namespace

std::pair<variable_list, variable_list> vjp(const ListFn& func, const variable_list& inputs, const variable_list& v,
                                            bool create_graph, bool strict) {
  AutoGradMode enable(true);
  const variable_list ins = prepare_inputs("vjp", inputs, create_graph);
  const variable_list outs = func(ins);
  check_outputs("vjp", outs);
  const variable_list vv = vector_for("vjp", v, outs, "output");
  variable_list g = grad_of(outs, ins, vv, create_graph, create_graph);
  g = zeros_for_unused("vjp", std::move(g), ins, strict, "input");
  return {finish(outs, create_graph), finish(std::move(g), create_graph)};
}

std::pair<variable_list, variable_list> jvp(const ListFn& func, const variable_list& inputs, const variable_list& v,
                                            bool create_graph, bool strict) {
  AutoGradMode enable(true);
  const variable_list ins = prepare_inputs("jvp", inputs, create_graph);
  const variable_list vv = vector_for("jvp", v, ins, "input");
  const variable_list outs = func(ins);
  check_outputs("jvp", outs);
  variable_list dummies;
  for (const auto& o : outs) dummies.push_back(dg::zeros_like(o).requires_grad_(true));
  variable_list gin = grad_of(outs, ins, dummies, /*create_graph=*/true, /*retain_graph=*/true);
  check_strict("jvp", gin, strict);
  variable_list r = grad_of(gin, dummies, vv, create_graph, create_graph);
  r = zeros_for_unused("jvp", std::move(r), outs, strict, "the inputs, for output");
  return {finish(outs, create_graph), finish(std::move(r), create_graph)};
}

std::vector<variable_list> jacobian(const ListFn& func, const variable_list& inputs, bool create_graph, bool strict,
                                    bool /*vectorize*/, const std::string& strategy) {
  AutoGradMode enable(true);
  const variable_list ins = prepare_inputs("jacobian", inputs, create_graph);
  const variable_list outs = func(ins);
  check_outputs("jacobian", outs);
  std::vector<variable_list> j = jacobian_of("jacobian", outs, ins, create_graph, strict, strategy);
  for (auto& row : j) row = finish(std::move(row), create_graph);
  return j;
}

std::vector<variable_list> hessian(const ScalarListFn& func, const variable_list& inputs, bool create_graph,
                                   bool strict, bool /*vectorize*/, const std::string& outer_jacobian_strategy) {
  AutoGradMode enable(true);
  const variable_list ins = prepare_inputs("hessian", inputs, create_graph);
  const Tensor out = single_element("hessian", {func(ins)});
  variable_list g = grad_of({out}, ins, {}, /*create_graph=*/true, /*retain_graph=*/true);
  g = zeros_for_unused("hessian", std::move(g), ins, strict, "input");
  std::vector<variable_list> h = jacobian_of("hessian", g, ins, create_graph, strict, outer_jacobian_strategy);
  for (auto& row : h) row = finish(std::move(row), create_graph);
  return h;
}

std::pair<Tensor, variable_list> vhp(const ScalarListFn& func, const variable_list& inputs, const variable_list& v,
                                     bool create_graph, bool strict) {
  AutoGradMode enable(true);
  const variable_list ins = prepare_inputs("vhp", inputs, create_graph);
  const variable_list vv = vector_for("vhp", v, ins, "input");
  const Tensor out = single_element("vhp", {func(ins)});
  variable_list jac = grad_of({out}, ins, {}, /*create_graph=*/true, /*retain_graph=*/true);
  check_strict("vhp", jac, strict);
  variable_list r = grad_of(jac, ins, vv, create_graph, create_graph);
  r = zeros_for_unused("vhp", std::move(r), ins, strict, "the jacobian's input");
  return {finish({out}, create_graph)[0], finish(std::move(r), create_graph)};
}

std::pair<Tensor, variable_list> hvp(const ScalarListFn& func, const variable_list& inputs, const variable_list& v,
                                     bool create_graph, bool strict) {
  return vhp(func, inputs, v, create_graph, strict);
}

// ---- one tensor in, one tensor out

std::pair<Tensor, Tensor> vjp(const TensorFn& func, const Tensor& inputs, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [o, g] = vjp(as_list(func), {inputs}, list_of(v), create_graph, strict);
  return {o[0], g[0]};
}

std::pair<Tensor, Tensor> jvp(const TensorFn& func, const Tensor& inputs, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [o, g] = jvp(as_list(func), {inputs}, list_of(v), create_graph, strict);
  return {o[0], g[0]};
}

Tensor jacobian(const TensorFn& func, const Tensor& inputs, bool create_graph, bool strict, bool vectorize,
                const std::string& strategy) {
  return jacobian(as_list(func), {inputs}, create_graph, strict, vectorize, strategy)[0][0];
}

Tensor hessian(const TensorFn& func, const Tensor& inputs, bool create_graph, bool strict, bool vectorize,
               const std::string& outer_jacobian_strategy) {
  return hessian(as_scalar_list(func), {inputs}, create_graph, strict, vectorize, outer_jacobian_strategy)[0][0];
}

std::pair<Tensor, Tensor> vhp(const TensorFn& func, const Tensor& inputs, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [o, g] = vhp(as_scalar_list(func), {inputs}, list_of(v), create_graph, strict);
  return {o, g[0]};
}

std::pair<Tensor, Tensor> hvp(const TensorFn& func, const Tensor& inputs, const Tensor& v, bool create_graph,
                              bool strict) {
  return vhp(func, inputs, v, create_graph, strict);
}

}  // namespace dg::autograd::functional
