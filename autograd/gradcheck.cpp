#include "dynagrad/gradcheck.h"

#include <cmath>
#include <random>

#include "core/element_access.h"
#include "dynagrad/engine.h"
#include "dynagrad/factory.h"
#include "dynagrad/forward_ad.h"
#include "dynagrad/grad_mode.h"

namespace dg::autograd {

namespace {

// Values of a (possibly strided) tensor in row-major logical order.
std::vector<double> values_of(const Tensor& t) {
  std::vector<double> v;
  if (!t.defined()) return v;
  if (!t.is_cpu()) return values_of(detail::to_host(t));
  v.reserve(static_cast<size_t>(t.numel()));
  const char* base = static_cast<const char*>(t.data_ptr());
  const int64_t es = static_cast<int64_t>(t.element_size());
  detail::for_each_offset(t.sizes(), t.strides(),
                          [&](int64_t off) { v.push_back(detail::load_as_double(base + off * es, t.dtype())); });
  return v;
}

bool differentiable_output(const Tensor& o) { return o.defined() && o.is_floating_point(); }

bool fail(const GradcheckOptions& opts, const std::string& msg) {
  if (opts.raise_exception) throw Error(msg);
  return false;
}

}  // namespace

bool gradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts) {
  std::vector<size_t> diff;  // inputs that require grad
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    DG_CHECK(x.dtype() == kFloat64, "gradcheck: input ", i, " has dtype ", x.dtype(),
             "; finite differences need float64 inputs (use .to(dg::kFloat64))");
    // The perturbations are written straight into the storage from the host.
    DG_CHECK(x.is_cpu(), "gradcheck: input ", i, " is on ", x.device(),
             "; gradcheck perturbs inputs on the host, so give it CPU tensors (CUDA results are checked "
             "against the CPU's)");
    diff.push_back(i);
  }
  if (diff.empty()) return fail(opts, "gradcheck: no input requires grad, so there is nothing to check");

  const variable_list outputs = fn(inputs);
  const size_t n_out = outputs.size();

  // Numerical Jacobian: num[o][j] holds, for each element k of input diff[j]
  // (outer) and element m of output o (inner), d out_o[m] / d in[k].
  std::vector<std::vector<std::vector<double>>> num(n_out, std::vector<std::vector<double>>(diff.size()));
  for (size_t j = 0; j < diff.size(); ++j) {
    const Tensor& x = inputs[diff[j]];
    char* base = static_cast<char*>(x.data_ptr());
    const int64_t numel = x.numel();
    for (size_t o = 0; o < n_out; ++o) num[o][j].reserve(static_cast<size_t>(numel * outputs[o].numel()));
    for (int64_t k = 0; k < numel; ++k) {
      // Perturb through the strides, straight in the storage: the versions
      // stay as they were, and the value is restored right after.
      double* p = reinterpret_cast<double*>(base) + detail::offset_of(x.sizes(), x.strides(), k);
      const double orig = *p;
      *p = orig - opts.eps;
      // Values are read right after each call: an output may alias the
      // input (views), so it changes with the next perturbation.
      auto eval = [&]() {
        variable_list r = fn(inputs);
        std::vector<std::vector<double>> v(n_out);
        for (size_t o = 0; o < n_out && o < r.size(); ++o)
          if (differentiable_output(outputs[o])) v[o] = values_of(r[o]);
        return v;
      };
      std::vector<std::vector<double>> lo, hi;
      try {
        lo = eval();
        *p = orig + opts.eps;
        hi = eval();
      } catch (...) {
        *p = orig;
        throw;
      }
      *p = orig;
      for (size_t o = 0; o < n_out; ++o) {
        if (!differentiable_output(outputs[o])) continue;
        const std::vector<double>& a = lo[o];
        const std::vector<double>& b = hi[o];
        for (size_t m = 0; m < a.size(); ++m) num[o][j].push_back((b[m] - a[m]) / (2 * opts.eps));
      }
    }
  }

  variable_list diff_inputs;
  for (size_t j : diff) diff_inputs.push_back(inputs[j]);

  for (size_t o = 0; o < n_out; ++o) {
    const Tensor& y = outputs[o];
    if (!differentiable_output(y)) continue;
    const int64_t out_numel = y.numel();
    const bool connected = y.requires_grad();
    for (int64_t m = 0; m < out_numel; ++m) {
      variable_list g(diff.size());
      if (connected) {
        Tensor onehot = dg::zeros(y.sizes(), TensorOptions().dtype(y.dtype()));
        detail::store_from_double(static_cast<char*>(onehot.data_ptr()) + m * int64_t(onehot.element_size()),
                                  onehot.dtype(), 1.0);
        g = autograd::grad({y}, diff_inputs, {onehot}, /*retain_graph=*/true, /*create_graph=*/false,
                           /*allow_unused=*/true);
      }
      for (size_t j = 0; j < diff.size(); ++j) {
        const Tensor& x = inputs[diff[j]];
        std::vector<double> row = values_of(g[j]);
        if (row.empty()) row.assign(static_cast<size_t>(x.numel()), 0.0);
        if (g[j].defined() && g[j].sizes() != x.sizes())
          return fail(opts, detail::str("gradcheck: the gradient for input ", diff[j], " has shape ", g[j].sizes(),
                                        " but the input has shape ", x.sizes()));
        for (int64_t k = 0; k < x.numel(); ++k) {
          const double a = row[static_cast<size_t>(k)];
          const double n = num[o][j][static_cast<size_t>(k * out_numel + m)];
          if (!(std::fabs(a - n) <= opts.atol + opts.rtol * std::fabs(n)))
            return fail(opts, detail::str("gradcheck: Jacobian mismatch for output ", o, " with respect to input ",
                                          diff[j], " at (output element ", m, ", input element ", k, "): numerical ", n,
                                          ", analytical ", a, " (atol ", opts.atol, ", rtol ", opts.rtol, ")"));
        }
      }
    }
  }
  return true;
}

bool gradgradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts) {
  const variable_list outputs = fn(inputs);
  std::vector<size_t> diff_out;
  for (size_t o = 0; o < outputs.size(); ++o)
    if (differentiable_output(outputs[o]) && outputs[o].requires_grad()) diff_out.push_back(o);
  std::vector<size_t> diff_in;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) diff_in.push_back(i);

  // Fixed-seed grad_outputs, independent of the global generator.
  std::mt19937_64 gen(0);
  std::normal_distribution<double> normal(0.0, 1.0);
  variable_list all = inputs;
  for (size_t o : diff_out) {
    Tensor v = dg::empty(outputs[o].sizes(), TensorOptions().dtype(kFloat64));
    double* p = v.data_ptr<double>();
    for (int64_t k = 0; k < v.numel(); ++k) p[k] = normal(gen);
    v.requires_grad_(true);
    all.push_back(v);
  }
  const size_t n_in = inputs.size();

  GradcheckFn vjp = [&](const variable_list& args) -> variable_list {
    variable_list xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n_in));
    variable_list ys_all = fn(xs);
    variable_list ys, vs;
    for (size_t k = 0; k < diff_out.size(); ++k) {
      if (!ys_all[diff_out[k]].requires_grad()) continue;
      ys.push_back(ys_all[diff_out[k]]);
      vs.push_back(args[n_in + k]);
    }
    variable_list targets;
    for (size_t i : diff_in) targets.push_back(xs[i]);
    variable_list gs(targets.size());
    if (!ys.empty()) gs = autograd::grad(ys, targets, vs, /*retain_graph=*/true, /*create_graph=*/true, true);
    for (size_t j = 0; j < gs.size(); ++j)
      if (!gs[j].defined()) gs[j] = dg::zeros(targets[j].sizes(), TensorOptions().dtype(targets[j].dtype()));
    return gs;
  };
  return gradcheck(vjp, all, opts);
}

bool fwgradcheck(const GradcheckFn& fn, const variable_list& inputs, const GradcheckOptions& opts) {
  variable_list u(inputs.size());  // the tangents
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    DG_CHECK(x.dtype() == kFloat64, "fwgradcheck: input ", i, " has dtype ", x.dtype(),
             "; finite differences need float64 inputs (use .to(dg::kFloat64))");
    u[i] = dg::randn(x.sizes(), TensorOptions().dtype(kFloat64).device(x.device()));
    any = true;
  }
  if (!any) return fail(opts, "fwgradcheck: no input requires grad, so there is nothing to check");

  // Forward mode.
  variable_list outputs, jvps;
  {
    forward_ad::dual_level level;
    variable_list duals;
    for (size_t i = 0; i < inputs.size(); ++i)
      duals.push_back(u[i].defined() ? forward_ad::make_dual(inputs[i], u[i]) : inputs[i]);
    outputs = fn(duals);
    for (const auto& o : outputs) {
      Tensor t = differentiable_output(o) ? forward_ad::unpack_dual(o).tangent : Tensor();
      jvps.push_back(t.defined() || !differentiable_output(o) ? t : dg::zeros_like(o));
    }
  }

  // Central differences along u.
  // The shifted inputs keep the inputs' layout (strides and offset in a
  // storage of the same size): ops that read the layout (as_strided) then
  // see the same function of the storage.
  auto shifted = [&](double step) {
    NoGradGuard no_grad;
    variable_list in;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!u[i].defined()) {
        in.push_back(inputs[i]);
        continue;
      }
      in.push_back(forward_ad::detail::copy_with_layout_of(inputs[i], inputs[i] + u[i] * step));
    }
    return fn(in);
  };
  const variable_list plus = shifted(opts.eps), minus = shifted(-opts.eps);
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (!differentiable_output(outputs[k])) continue;
    const std::vector<double> a = values_of(jvps[k]), p = values_of(plus[k]), m = values_of(minus[k]);
    if (a.size() != p.size())
      return fail(opts, dg::detail::str("fwgradcheck: the tangent of output ", k, " has ", a.size(),
                                        " elements, the output ", p.size()));
    for (size_t e = 0; e < a.size(); ++e) {
      const double fd = (p[e] - m[e]) / (2 * opts.eps);
      if (!(std::abs(a[e] - fd) <= opts.atol + opts.rtol * std::abs(fd)))
        return fail(opts, dg::detail::str("fwgradcheck: Jacobian-vector product mismatch for output ", k, " element ",
                                          e, ": forward mode ", a[e], ", finite differences ", fd));
    }
  }

  // Reverse mode: <v, J u> == <J^T v, u>.
  variable_list outs, vs, req;
  std::vector<size_t> req_index;
  for (size_t k = 0; k < outputs.size(); ++k)
    if (differentiable_output(outputs[k]) && outputs[k].requires_grad()) {
      outs.push_back(outputs[k]);
      vs.push_back(dg::randn(outputs[k].sizes(), TensorOptions().dtype(outputs[k].dtype())));
    }
  for (size_t i = 0; i < inputs.size(); ++i)
    if (u[i].defined()) {
      req.push_back(inputs[i]);
      req_index.push_back(i);
    }
  if (outs.empty()) return true;
  const variable_list g = grad(outs, req, vs, std::nullopt, false, /*allow_unused=*/true);
  double lhs = 0, rhs = 0;
  size_t vi = 0;
  for (size_t k = 0; k < outputs.size(); ++k)
    if (differentiable_output(outputs[k]) && outputs[k].requires_grad()) {
      const std::vector<double> a = values_of(jvps[k]), v = values_of(vs[vi++]);
      for (size_t e = 0; e < a.size(); ++e) lhs += a[e] * v[e];
    }
  for (size_t j = 0; j < req.size(); ++j) {
    if (!g[j].defined()) continue;
    const std::vector<double> a = values_of(g[j]), b = values_of(u[req_index[j]]);
    for (size_t e = 0; e < a.size() && e < b.size(); ++e) rhs += a[e] * b[e];
  }
  if (!(std::abs(lhs - rhs) <= opts.atol + opts.rtol * std::abs(rhs)))
    return fail(opts, dg::detail::str("fwgradcheck: forward and reverse mode disagree: <v, J u> = ", lhs,
                                      " by forward mode, <J^T v, u> = ", rhs, " by reverse mode"));
  return true;
}

}  // namespace dg::autograd
