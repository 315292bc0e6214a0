// dg::optim::LBFGS: options, state and the step: PyTorch's L-BFGS (the
// two-loop recursion over the last history_size curvature pairs, an
// optional strong-Wolfe line search with cubic interpolation), over all
// parameters as one flat vector.
#include "dynagrad/optim/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "dynagrad/error.h"
#include "optim/step_support.h"

namespace dg::optim {

LBFGSOptions::LBFGSOptions(double lr) : lr_(lr) {}

bool operator==(const LBFGSOptions& lhs, const LBFGSOptions& rhs) {
  return lhs.lr() == rhs.lr() && lhs.max_iter() == rhs.max_iter() && lhs.max_eval() == rhs.max_eval() &&
         lhs.tolerance_grad() == rhs.tolerance_grad() && lhs.tolerance_change() == rhs.tolerance_change() &&
         lhs.history_size() == rhs.history_size() && lhs.line_search_fn() == rhs.line_search_fn();
}

void LBFGSOptions::serialize(serialize::OutputArchive& archive) const {
  archive.write("lr", lr());
  archive.write("max_iter", max_iter());
  detail::write_optional(archive, "max_eval", max_eval());
  archive.write("tolerance_grad", tolerance_grad());
  archive.write("tolerance_change", tolerance_change());
  archive.write("history_size", history_size());
  detail::write_optional(archive, "line_search_fn", line_search_fn());
}

void LBFGSOptions::serialize(serialize::InputArchive& archive) {
  archive.read("lr", lr_);
  archive.read("max_iter", max_iter_);
  detail::read_optional(archive, "max_eval", max_eval_);
  archive.read("tolerance_grad", tolerance_grad_);
  archive.read("tolerance_change", tolerance_change_);
  archive.read("history_size", history_size_);
  detail::read_optional(archive, "line_search_fn", line_search_fn_);
}

double LBFGSOptions::get_lr() const { return lr(); }
void LBFGSOptions::set_lr(const double lr) { this->lr(lr); }

namespace {

bool same_tensor_values(const Tensor& a, const Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || dg::equal(a, b));
}

template <typename List>
bool same_lists(const List& a, const List& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_tensor_values(a[i], b[i])) return false;
  return true;
}

template <typename List>
void write_list(serialize::OutputArchive& archive, const std::string& key, const List& list) {
  serialize::OutputArchive nested;
  nested.write("size", static_cast<int64_t>(list.size()));
  for (size_t i = 0; i < list.size(); ++i) detail::write_tensor(nested, std::to_string(i), list[i]);
  archive.write(key, nested);
}

template <typename List>
void read_list(serialize::InputArchive& archive, const std::string& key, List& list) {
  serialize::InputArchive nested;
  archive.read(key, nested);
  int64_t size = 0;
  nested.read("size", size);
  list.clear();
  for (int64_t i = 0; i < size; ++i) {
    Tensor t;
    detail::read_tensor(nested, std::to_string(i), t);
    list.push_back(t);
  }
}

}  // namespace

bool operator==(const LBFGSParamState& lhs, const LBFGSParamState& rhs) {
  return lhs.func_evals() == rhs.func_evals() && lhs.n_iter() == rhs.n_iter() && lhs.t() == rhs.t() &&
         lhs.prev_loss() == rhs.prev_loss() && same_tensor_values(lhs.d(), rhs.d()) &&
         same_tensor_values(lhs.H_diag(), rhs.H_diag()) &&
         same_tensor_values(lhs.prev_flat_grad(), rhs.prev_flat_grad()) && same_lists(lhs.old_dirs(), rhs.old_dirs()) &&
         same_lists(lhs.old_stps(), rhs.old_stps()) && same_lists(lhs.ro(), rhs.ro()) &&
         lhs.al().has_value() == rhs.al().has_value() && (!lhs.al() || same_lists(*lhs.al(), *rhs.al()));
}

void LBFGSParamState::serialize(serialize::OutputArchive& archive) const {
  archive.write("func_evals", func_evals());
  archive.write("n_iter", n_iter());
  archive.write("t", t());
  archive.write("prev_loss", prev_loss());
  detail::write_tensor(archive, "d", d());
  detail::write_tensor(archive, "H_diag", H_diag());
  detail::write_tensor(archive, "prev_flat_grad", prev_flat_grad());
  write_list(archive, "old_dirs", old_dirs());
  write_list(archive, "old_stps", old_stps());
  write_list(archive, "ro", ro());
  if (al()) write_list(archive, "al", *al());
}

void LBFGSParamState::serialize(serialize::InputArchive& archive) {
  archive.read("func_evals", func_evals_);
  archive.read("n_iter", n_iter_);
  archive.read("t", t_);
  archive.read("prev_loss", prev_loss_);
  detail::read_tensor(archive, "d", d_);
  detail::read_tensor(archive, "H_diag", H_diag_);
  detail::read_tensor(archive, "prev_flat_grad", prev_flat_grad_);
  read_list(archive, "old_dirs", old_dirs_);
  read_list(archive, "old_stps", old_stps_);
  read_list(archive, "ro", ro_);
  serialize::InputArchive al_archive;
  if (archive.try_read("al", al_archive)) {
    std::vector<Tensor> al;
    read_list(archive, "al", al);
    al_ = std::move(al);
  } else {
    al_ = std::nullopt;
  }
}

LBFGS::LBFGS(std::vector<OptimizerParamGroup> param_groups, LBFGSOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<LBFGSOptions>(defaults)) {
  DG_CHECK(param_groups_.size() == 1,
           "LBFGS doesn't support per-parameter options (parameter groups): expected 1 "
           "parameter group, got ",
           param_groups_.size());
  check_options(defaults);
  if (!defaults.max_eval()) {
    const int64_t max_eval = (defaults.max_iter() * 5) / 4;
    static_cast<LBFGSOptions&>(param_groups_[0].options()).max_eval(max_eval);
    static_cast<LBFGSOptions&>(*defaults_).max_eval(max_eval);
  }
  _numel_cache = std::nullopt;
}

LBFGS::LBFGS(std::vector<Tensor> params, LBFGSOptions defaults)
    : LBFGS(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void LBFGS::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const LBFGSOptions&>(options);
  DG_CHECK(o.lr() >= 0, "LBFGS: Invalid learning rate: ", o.lr(), " (expected lr >= 0)");
  DG_CHECK(o.history_size() > 0, "LBFGS: Invalid history_size: ", o.history_size(), " (expected history_size > 0)");
  DG_CHECK(!o.line_search_fn() || *o.line_search_fn() == "strong_wolfe",
           "LBFGS: only 'strong_wolfe' is supported as line_search_fn, got '", o.line_search_fn().value_or(""), "'");
}

std::unique_ptr<OptimizerParamState> LBFGS::make_param_state() const { return std::make_unique<LBFGSParamState>(); }

int64_t LBFGS::_numel() {
  if (!_numel_cache) {
    int64_t n = 0;
    for (const auto& p : param_groups_[0].params()) n += p.numel();
    _numel_cache = n;
  }
  return *_numel_cache;
}

Tensor LBFGS::_gather_flat_grad() {
  std::vector<Tensor> views;
  for (const auto& p : param_groups_[0].params()) {
    if (!p.grad().defined()) views.push_back(dg::zeros({p.numel()}, p.options()));
    else views.push_back(p.grad().reshape({-1}));
  }
  return dg::cat(views, 0);
}

void LBFGS::_add_grad(const double step_size, const Tensor& update) {
  int64_t offset = 0;
  for (auto& p : param_groups_[0].params()) {
    const int64_t numel = p.numel();
    p.add_(update.slice(0, offset, offset + numel).view_as(p), step_size);
    offset += numel;
  }
  DG_CHECK(offset == _numel(), "LBFGS: expected the update to cover ", _numel(), " parameter elements, got ", offset);
}

std::vector<Tensor> LBFGS::_clone_param() {
  std::vector<Tensor> out;
  for (const auto& p : param_groups_[0].params()) out.push_back(p.clone());
  return out;
}

void LBFGS::_set_param(const std::vector<Tensor>& params_data) {
  auto& params = param_groups_[0].params();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(params_data[i]);
}

std::tuple<double, Tensor> LBFGS::_directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x,
                                                        double t, const Tensor& d) {
  _add_grad(t, d);
  double loss = 0;
  {
    EnableGradGuard enable_grad;
    loss = closure().item<double>();
  }
  Tensor flat_grad = _gather_flat_grad();
  _set_param(x);
  return {loss, flat_grad};
}

namespace {

double dot_value(const Tensor& a, const Tensor& b) { return dg::dot(a, b).item<double>(); }
double abs_max(const Tensor& a) { return a.abs().max().item<double>(); }

// The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1,
// g2, clamped to the bounds (by default the interval between x1 and x2); the
// middle of the bounds when the cubic has no minimum.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt) {
  double xmin_bound, xmax_bound;
  if (bounds) std::tie(xmin_bound, xmax_bound) = *bounds;
  else std::tie(xmin_bound, xmax_bound) = x1 <= x2 ? std::make_pair(x1, x2) : std::make_pair(x2, x1);
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square >= 0) {
    const double d2 = std::sqrt(d2_square);
    double min_pos;
    if (x1 <= x2) min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
    else min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return std::min(std::max(min_pos, xmin_bound), xmax_bound);
  }
  return (xmin_bound + xmax_bound) / 2.;
}

struct LineSearchResult {
  double f;
  Tensor g;
  double t;
  int64_t func_evals;
};

using ObjFunc = std::function<std::tuple<double, Tensor>(const std::vector<Tensor>&, double, const Tensor&)>;

// The strong-Wolfe line search along d from x (loss f, gradient g,
// directional derivative gtd), starting at step t: a bracketing phase, then a
// zoom by cubic interpolation.
LineSearchResult strong_wolfe(const ObjFunc& obj_func, const std::vector<Tensor>& x, double t, const Tensor& d,
                              double f, const Tensor& g_in, double gtd, double c1 = 1e-4, double c2 = 0.9,
                              double tolerance_change = 1e-9, int64_t max_ls = 25) {
  const double d_norm = abs_max(d);
  const Tensor g = g_in.clone();
  auto [f_new, g_new] = obj_func(x, t, d);
  int64_t ls_func_evals = 1;
  double gtd_new = dot_value(g_new, d);
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Tensor g_prev = g;
  bool done = false;
  int64_t ls_iter = 0;
  std::vector<double> bracket, bracket_f, bracket_gtd;
  std::vector<Tensor> bracket_g;
  while (ls_iter < max_ls) {
    if (f_new > (f + c1 * t * gtd) || (ls_iter > 1 && f_new >= f_prev)) {
      bracket = {t_prev, t};
      bracket_f = {f_prev, f_new};
      bracket_g = {g_prev, g_new.clone()};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {
      bracket = {t};
      bracket_f = {f_new};
      bracket_g = {g_new};
      done = true;
      break;
    }
    if (gtd_new >= 0) {
      bracket = {t_prev, t};
      bracket_f = {f_prev, f_new};
      bracket_g = {g_prev, g_new.clone()};
      bracket_gtd = {gtd_prev, gtd_new};
      break;
    }
    // Interpolate towards a longer step.
    const double min_step = t + 0.01 * (t - t_prev);
    const double max_step = t * 10;
    const double tmp = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, std::make_pair(min_step, max_step));
    t_prev = tmp;
    f_prev = f_new;
    g_prev = g_new.clone();
    gtd_prev = gtd_new;
    std::tie(f_new, g_new) = obj_func(x, t, d);
    ls_func_evals += 1;
    gtd_new = dot_value(g_new, d);
    ls_iter += 1;
  }
  if (ls_iter == max_ls) {
    bracket = {0, t};
    bracket_f = {f, f_new};
    bracket_g = {g, g_new};
  }

  // Zoom until the bracket is small enough or a point meets the conditions.
  bool insuf_progress = false;
  size_t low_pos = 0, high_pos = 0;
  if (bracket_f.size() == 2)
    std::tie(low_pos, high_pos) = bracket_f[0] <= bracket_f[1] ? std::pair{0, 1} : std::pair{1, 0};
  while (!done && ls_iter < max_ls) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
    const double hi = std::max(bracket[0], bracket[1]), lo = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (hi - lo);
    if (std::min(hi - t, t - lo) < eps) {
      if (insuf_progress || t >= hi || t <= lo) {
        t = std::abs(t - hi) < std::abs(t - lo) ? hi - eps : lo + eps;
        insuf_progress = false;
      } else {
        insuf_progress = true;
      }
    } else {
      insuf_progress = false;
    }
    std::tie(f_new, g_new) = obj_func(x, t, d);
    ls_func_evals += 1;
    gtd_new = dot_value(g_new, d);
    ls_iter += 1;
    if (f_new > (f + c1 * t * gtd) || f_new >= bracket_f[low_pos]) {
      bracket[high_pos] = t;
      bracket_f[high_pos] = f_new;
      bracket_g[high_pos] = g_new.clone();
      bracket_gtd[high_pos] = gtd_new;
      std::tie(low_pos, high_pos) = bracket_f[0] <= bracket_f[1] ? std::pair{0, 1} : std::pair{1, 0};
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0) {
        bracket[high_pos] = bracket[low_pos];
        bracket_f[high_pos] = bracket_f[low_pos];
        bracket_g[high_pos] = bracket_g[low_pos];
        bracket_gtd[high_pos] = bracket_gtd[low_pos];
      }
      bracket[low_pos] = t;
      bracket_f[low_pos] = f_new;
      bracket_g[low_pos] = g_new.clone();
      bracket_gtd[low_pos] = gtd_new;
    }
  }
  return {bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals};
}

}  // namespace

Tensor LBFGS::step(LossClosure closure) {
  NoGradGuard no_grad;
  DG_CHECK(closure != nullptr, "LBFGS::step: expected a closure that recomputes the loss, got none");
  const auto& o = static_cast<const LBFGSOptions&>(param_groups_[0].options());
  const double lr = o.lr();
  const int64_t max_iter = o.max_iter();
  const int64_t max_eval = o.max_eval().value_or((max_iter * 5) / 4);
  const double tolerance_grad = o.tolerance_grad();
  const double tolerance_change = o.tolerance_change();
  const int64_t history_size = o.history_size();
  DG_CHECK(!param_groups_[0].params().empty(), "LBFGS::step: expected parameters to optimize, got none");

  // The state lives with the first parameter (PyTorch's).
  auto& slot = state_[param_state_key(param_groups_[0].params()[0])];
  if (!slot) slot = std::make_unique<LBFGSParamState>();
  auto& state = static_cast<LBFGSParamState&>(*slot);

  const Tensor orig_loss = detail::evaluate_closure(closure);
  double loss = orig_loss.item<double>();
  int64_t current_evals = 1;
  state.func_evals(state.func_evals() + 1);
  Tensor flat_grad = _gather_flat_grad();
  bool opt_cond = abs_max(flat_grad) <= tolerance_grad;
  if (opt_cond) return orig_loss;

  Tensor d = state.d();
  double t = state.t();
  std::deque<Tensor> old_dirs = state.old_dirs(), old_stps = state.old_stps(), ro = state.ro();
  Tensor H_diag = state.H_diag();
  Tensor prev_flat_grad = state.prev_flat_grad();
  double prev_loss = state.prev_loss();
  for (Tensor* s : {&d, &H_diag, &prev_flat_grad}) detail::follow_device(*s, flat_grad);
  for (auto* list : {&old_dirs, &old_stps, &ro})
    for (Tensor& s : *list) detail::follow_device(s, flat_grad);

  int64_t n_iter = 0;
  while (n_iter < max_iter) {
    ++n_iter;
    state.n_iter(state.n_iter() + 1);

    // The direction: steepest descent first, then the two-loop recursion.
    if (state.n_iter() == 1) {
      d = flat_grad.neg();
      old_dirs.clear();
      old_stps.clear();
      ro.clear();
      H_diag = dg::ones({}, flat_grad.options());
    } else {
      const Tensor y = flat_grad.sub(prev_flat_grad);
      const Tensor s = d.mul(t);
      const Tensor ys = dg::dot(y, s);
      if (ys.item<double>() > 1e-10) {
        if (static_cast<int64_t>(old_dirs.size()) == history_size) {
          old_dirs.pop_front();
          old_stps.pop_front();
          ro.pop_front();
        }
        old_dirs.push_back(y);
        old_stps.push_back(s);
        ro.push_back(ys.reciprocal());
        H_diag = ys / dg::dot(y, y);
      }
      const size_t num_old = old_dirs.size();
      if (!state.al()) state.al(std::vector<Tensor>(static_cast<size_t>(history_size)));
      std::vector<Tensor>& al = *state.al();
      Tensor q = flat_grad.neg();
      for (size_t k = num_old; k-- > 0;) {
        al[k] = dg::dot(old_stps[k], q) * ro[k];
        q.add_(old_dirs[k], -al[k].item<double>());
      }
      Tensor r = dg::mul(q, H_diag);
      for (size_t k = 0; k < num_old; ++k) {
        const Tensor be_i = dg::dot(old_dirs[k], r) * ro[k];
        r.add_(old_stps[k], (al[k] - be_i).item<double>());
      }
      d = r;
    }

    if (!prev_flat_grad.defined()) prev_flat_grad = flat_grad.clone();
    else prev_flat_grad.copy_(flat_grad);
    prev_loss = loss;

    // The step length.
    if (state.n_iter() == 1) {
      t = std::min(1., 1. / flat_grad.abs().sum().item<double>()) * lr;
    } else {
      t = lr;
    }
    const double gtd = dot_value(flat_grad, d);
    if (gtd > -tolerance_change) break;

    int64_t ls_func_evals = 0;
    if (o.line_search_fn()) {
      const std::vector<Tensor> x_init = _clone_param();
      const ObjFunc obj_func = [&](const std::vector<Tensor>& x, double step, const Tensor& dir) {
        return _directional_evaluate(closure, x, step, dir);
      };
      LineSearchResult ls = strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd);
      loss = ls.f;
      flat_grad = ls.g;
      t = ls.t;
      ls_func_evals = ls.func_evals;
      _add_grad(t, d);
      opt_cond = abs_max(flat_grad) <= tolerance_grad;
    } else {
      _add_grad(t, d);
      if (n_iter != max_iter) {
        loss = detail::evaluate_closure(closure).item<double>();
        flat_grad = _gather_flat_grad();
        opt_cond = abs_max(flat_grad) <= tolerance_grad;
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    state.func_evals(state.func_evals() + ls_func_evals);

    if (n_iter == max_iter) break;
    if (current_evals >= max_eval) break;
    if (opt_cond) break;
    if (abs_max(d.mul(t)) <= tolerance_change) break;
    if (std::abs(loss - prev_loss) < tolerance_change) break;
  }

  state.d(d);
  state.t(t);
  state.old_dirs(old_dirs);
  state.old_stps(old_stps);
  state.ro(ro);
  state.H_diag(H_diag);
  state.prev_flat_grad(prev_flat_grad);
  state.prev_loss(prev_loss);
  return orig_loss;
}

}  // namespace dg::optim
