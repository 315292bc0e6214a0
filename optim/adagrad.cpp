// dg::optim::Adagrad: options, state and the step (one _fused_adagrad_ per
// parameter).
#include "dynagrad/optim/adagrad.h"

#include "dynagrad/error.h"
#include "optim/step_support.h"

namespace dg::optim {

AdagradOptions::AdagradOptions(double lr) : lr_(lr) {}

bool operator==(const AdagradOptions& lhs, const AdagradOptions& rhs) {
  return lhs.lr() == rhs.lr() && lhs.lr_decay() == rhs.lr_decay() && lhs.weight_decay() == rhs.weight_decay() &&
         lhs.initial_accumulator_value() == rhs.initial_accumulator_value() && lhs.eps() == rhs.eps();
}

void AdagradOptions::serialize(serialize::OutputArchive& archive) const {
  archive.write("lr", lr());
  archive.write("lr_decay", lr_decay());
  archive.write("weight_decay", weight_decay());
  archive.write("initial_accumulator_value", initial_accumulator_value());
  archive.write("eps", eps());
}

void AdagradOptions::serialize(serialize::InputArchive& archive) {
  archive.read("lr", lr_);
  archive.read("lr_decay", lr_decay_);
  archive.read("weight_decay", weight_decay_);
  archive.read("initial_accumulator_value", initial_accumulator_value_);
  archive.read("eps", eps_);
}

double AdagradOptions::get_lr() const { return lr(); }
void AdagradOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const AdagradParamState& lhs, const AdagradParamState& rhs) {
  return lhs.step() == rhs.step() && lhs.sum().defined() == rhs.sum().defined() &&
         (!lhs.sum().defined() || dg::equal(lhs.sum(), rhs.sum()));
}

void AdagradParamState::serialize(serialize::OutputArchive& archive) const {
  archive.write("step", step());
  detail::write_tensor(archive, "sum", sum());
}

void AdagradParamState::serialize(serialize::InputArchive& archive) {
  archive.read("step", step_);
  detail::read_tensor(archive, "sum", sum_);
}

namespace {
std::unique_ptr<AdagradParamState> fresh_state(const Tensor& p, const AdagradOptions& o) {
  auto s = std::make_unique<AdagradParamState>();
  s->step(0);
  s->sum(dg::full_like(p, o.initial_accumulator_value()));
  return s;
}
}  // namespace

Adagrad::Adagrad(std::vector<OptimizerParamGroup> param_groups, AdagradOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<AdagradOptions>(defaults)) {
  check_options(defaults);
  for (const auto& group : param_groups_) check_options(group.options());
  NoGradGuard no_grad;
  for (const auto& group : param_groups_) {
    for (const auto& p : group.params())
      state_[param_state_key(p)] = fresh_state(p, static_cast<const AdagradOptions&>(group.options()));
  }
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions defaults)
    : Adagrad(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void Adagrad::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const AdagradOptions&>(options);
  DG_CHECK(o.lr() >= 0, "Adagrad: Invalid learning rate: ", o.lr(), " (expected lr >= 0)");
  DG_CHECK(o.lr_decay() >= 0, "Adagrad: Invalid lr_decay value: ", o.lr_decay(), " (expected lr_decay >= 0)");
  DG_CHECK(o.weight_decay() >= 0, "Adagrad: Invalid weight_decay value: ", o.weight_decay(),
           " (expected weight_decay >= 0)");
  DG_CHECK(o.initial_accumulator_value() >= 0,
           "Adagrad: Invalid initial_accumulator_value value: ", o.initial_accumulator_value(),
           " (expected initial_accumulator_value >= 0)");
  DG_CHECK(o.eps() >= 0, "Adagrad: Invalid epsilon value: ", o.eps(), " (expected eps >= 0)");
}

std::unique_ptr<OptimizerParamState> Adagrad::make_param_state() const { return std::make_unique<AdagradParamState>(); }

Tensor Adagrad::step(LossClosure closure) {
  NoGradGuard no_grad;
  Tensor loss = detail::evaluate_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const AdagradOptions&>(group.options());
    for (auto& p : group.params()) {
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      auto& slot = state_[param_state_key(p)];
      if (!slot) slot = fresh_state(p, o);  // a parameter added after construction
      auto& s = static_cast<AdagradParamState&>(*slot);
      detail::follow_device(s.sum(), p);
      s.step(s.step() + 1);
      const double clr = o.lr() / (1 + static_cast<double>(s.step() - 1) * o.lr_decay());
      dg::_fused_adagrad_(p, grad, s.sum(), clr, o.weight_decay(), o.eps());
    }
  }
  return loss;
}

}  // namespace dg::optim
