// dg::optim::Adam and dg::optim::AdamW: options, state and the step (one
// _fused_adam_ per parameter). The two differ only in their weight decay
// (added to the gradient, or decoupled) and its default, so they share every
// body here through templates over their option and state types.
#include "dynagrad/optim/adam.h"

#include "dynagrad/error.h"
#include "dynagrad/optim/adamw.h"
#include "optim/step_support.h"

namespace dg::optim {

namespace {

template <typename Options>
bool options_equal(const Options& lhs, const Options& rhs) {
  return lhs.lr() == rhs.lr() && lhs.betas() == rhs.betas() && lhs.eps() == rhs.eps() &&
         lhs.weight_decay() == rhs.weight_decay() && lhs.amsgrad() == rhs.amsgrad();
}

template <typename Options>
void write_options(const Options& o, serialize::OutputArchive& archive) {
  archive.write("lr", o.lr());
  archive.write("betas.0", std::get<0>(o.betas()));
  archive.write("betas.1", std::get<1>(o.betas()));
  archive.write("eps", o.eps());
  archive.write("weight_decay", o.weight_decay());
  archive.write("amsgrad", o.amsgrad());
}

template <typename Options>
void read_options(Options& o, serialize::InputArchive& archive) {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool amsgrad = false;
  archive.read("lr", lr);
  archive.read("betas.0", beta1);
  archive.read("betas.1", beta2);
  archive.read("eps", eps);
  archive.read("weight_decay", weight_decay);
  archive.read("amsgrad", amsgrad);
  o.lr(lr).betas(std::make_tuple(beta1, beta2)).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad);
}

bool same_tensor_values(const Tensor& a, const Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || dg::equal(a, b));
}

template <typename State>
bool state_equal(const State& lhs, const State& rhs) {
  return lhs.step() == rhs.step() && same_tensor_values(lhs.exp_avg(), rhs.exp_avg()) &&
         same_tensor_values(lhs.exp_avg_sq(), rhs.exp_avg_sq()) &&
         same_tensor_values(lhs.max_exp_avg_sq(), rhs.max_exp_avg_sq());
}

template <typename State>
void write_state(const State& s, serialize::OutputArchive& archive) {
  archive.write("step", s.step());
  detail::write_tensor(archive, "exp_avg", s.exp_avg());
  detail::write_tensor(archive, "exp_avg_sq", s.exp_avg_sq());
  detail::write_tensor(archive, "max_exp_avg_sq", s.max_exp_avg_sq());
}

template <typename State>
void read_state(State& s, serialize::InputArchive& archive) {
  int64_t step = 0;
  archive.read("step", step);
  s.step(step);
  detail::read_tensor(archive, "exp_avg", s.exp_avg());
  detail::read_tensor(archive, "exp_avg_sq", s.exp_avg_sq());
  detail::read_tensor(archive, "max_exp_avg_sq", s.max_exp_avg_sq());
}

template <typename Options>
void check_adam_options(const char* name, const Options& o) {
  DG_CHECK(o.lr() >= 0, name, ": Invalid learning rate: ", o.lr(), " (expected lr >= 0)");
  DG_CHECK(o.eps() >= 0, name, ": Invalid epsilon value: ", o.eps(), " (expected eps >= 0)");
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  DG_CHECK(0 <= beta1 && beta1 < 1.0, name, ": Invalid beta parameter at index 0: ", beta1,
           " (expected 0 <= beta < 1)");
  DG_CHECK(0 <= beta2 && beta2 < 1.0, name, ": Invalid beta parameter at index 1: ", beta2,
           " (expected 0 <= beta < 1)");
  DG_CHECK(o.weight_decay() >= 0, name, ": Invalid weight_decay value: ", o.weight_decay(),
           " (expected weight_decay >= 0)");
}

// One step of every parameter with a gradient; `decoupled`: AdamW.
template <typename Options, typename State>
void adam_step(std::vector<OptimizerParamGroup>& groups,
               std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>>& states, bool decoupled) {
  for (auto& group : groups) {
    const auto& o = static_cast<const Options&>(group.options());
    for (auto& p : group.params()) {
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      auto& slot = states[param_state_key(p)];
      if (!slot) {
        auto s = std::make_unique<State>();
        s->step(0);
        s->exp_avg(dg::zeros_like(p));
        s->exp_avg_sq(dg::zeros_like(p));
        slot = std::move(s);
      }
      auto& s = static_cast<State&>(*slot);
      if (o.amsgrad() && !s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(dg::zeros_like(p));
      detail::follow_device(s.exp_avg(), p);
      detail::follow_device(s.exp_avg_sq(), p);
      detail::follow_device(s.max_exp_avg_sq(), p);
      s.step(s.step() + 1);
      // Without amsgrad the maximum is neither read nor written: p stands in.
      const Tensor& max_exp_avg_sq = o.amsgrad() ? s.max_exp_avg_sq() : p;
      dg::_fused_adam_(p, grad, s.exp_avg(), s.exp_avg_sq(), max_exp_avg_sq, o.lr(), std::get<0>(o.betas()),
                       std::get<1>(o.betas()), o.eps(), o.weight_decay(), o.amsgrad(), decoupled, s.step());
    }
  }
}

}  // namespace

// ---- Adam -------------------------------------------------------------------

AdamOptions::AdamOptions(double lr) : lr_(lr) {}
bool operator==(const AdamOptions& lhs, const AdamOptions& rhs) { return options_equal(lhs, rhs); }
void AdamOptions::serialize(serialize::OutputArchive& archive) const { write_options(*this, archive); }
void AdamOptions::serialize(serialize::InputArchive& archive) { read_options(*this, archive); }
double AdamOptions::get_lr() const { return lr(); }
void AdamOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const AdamParamState& lhs, const AdamParamState& rhs) { return state_equal(lhs, rhs); }
void AdamParamState::serialize(serialize::OutputArchive& archive) const { write_state(*this, archive); }
void AdamParamState::serialize(serialize::InputArchive& archive) { read_state(*this, archive); }

Adam::Adam(std::vector<OptimizerParamGroup> param_groups, AdamOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdamOptions>(defaults)) {
  check_options(defaults);
  for (const auto& group : param_groups_) check_options(group.options());
}
Adam::Adam(std::vector<Tensor> params, AdamOptions defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void Adam::check_options(const OptimizerOptions& options) const {
  check_adam_options("Adam", static_cast<const AdamOptions&>(options));
}
std::unique_ptr<OptimizerParamState> Adam::make_param_state() const { return std::make_unique<AdamParamState>(); }

Tensor Adam::step(LossClosure closure) {
  NoGradGuard no_grad;
  Tensor loss = detail::evaluate_closure(closure);
  adam_step<AdamOptions, AdamParamState>(param_groups_, state_, /*decoupled=*/false);
  return loss;
}

// ---- AdamW ------------------------------------------------------------------

AdamWOptions::AdamWOptions(double lr) : lr_(lr) {}
bool operator==(const AdamWOptions& lhs, const AdamWOptions& rhs) { return options_equal(lhs, rhs); }
void AdamWOptions::serialize(serialize::OutputArchive& archive) const { write_options(*this, archive); }
void AdamWOptions::serialize(serialize::InputArchive& archive) { read_options(*this, archive); }
double AdamWOptions::get_lr() const { return lr(); }
void AdamWOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const AdamWParamState& lhs, const AdamWParamState& rhs) { return state_equal(lhs, rhs); }
void AdamWParamState::serialize(serialize::OutputArchive& archive) const { write_state(*this, archive); }
void AdamWParamState::serialize(serialize::InputArchive& archive) { read_state(*this, archive); }

AdamW::AdamW(std::vector<OptimizerParamGroup> param_groups, AdamWOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdamWOptions>(defaults)) {
  check_options(defaults);
  for (const auto& group : param_groups_) check_options(group.options());
}
AdamW::AdamW(std::vector<Tensor> params, AdamWOptions defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void AdamW::check_options(const OptimizerOptions& options) const {
  check_adam_options("AdamW", static_cast<const AdamWOptions&>(options));
}
std::unique_ptr<OptimizerParamState> AdamW::make_param_state() const { return std::make_unique<AdamWParamState>(); }

Tensor AdamW::step(LossClosure closure) {
  NoGradGuard no_grad;
  Tensor loss = detail::evaluate_closure(closure);
  adam_step<AdamWOptions, AdamWParamState>(param_groups_, state_, /*decoupled=*/true);
  return loss;
}

}  // namespace dg::optim
