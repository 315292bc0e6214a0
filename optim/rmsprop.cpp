// dg::optim::RMSprop: options, state and the step (one _fused_rmsprop_ per
// parameter).
#include "dynagrad/optim/rmsprop.h"

#include "dynagrad/error.h"
#include "optim/step_support.h"

namespace dg::optim {

namespace {
bool same_tensor_values(const Tensor& a, const Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || dg::equal(a, b));
}
}  // namespace

RMSpropOptions::RMSpropOptions(double lr) : lr_(lr) {}

bool operator==(const RMSpropOptions& lhs, const RMSpropOptions& rhs) {
  return lhs.lr() == rhs.lr() && lhs.alpha() == rhs.alpha() && lhs.eps() == rhs.eps() &&
         lhs.weight_decay() == rhs.weight_decay() && lhs.momentum() == rhs.momentum() &&
         lhs.centered() == rhs.centered();
}

void RMSpropOptions::serialize(serialize::OutputArchive& archive) const {
  archive.write("lr", lr());
  archive.write("alpha", alpha());
  archive.write("eps", eps());
  archive.write("weight_decay", weight_decay());
  archive.write("momentum", momentum());
  archive.write("centered", centered());
}

void RMSpropOptions::serialize(serialize::InputArchive& archive) {
  archive.read("lr", lr_);
  archive.read("alpha", alpha_);
  archive.read("eps", eps_);
  archive.read("weight_decay", weight_decay_);
  archive.read("momentum", momentum_);
  archive.read("centered", centered_);
}

double RMSpropOptions::get_lr() const { return lr(); }
void RMSpropOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const RMSpropParamState& lhs, const RMSpropParamState& rhs) {
  return lhs.step() == rhs.step() && same_tensor_values(lhs.square_avg(), rhs.square_avg()) &&
         same_tensor_values(lhs.momentum_buffer(), rhs.momentum_buffer()) &&
         same_tensor_values(lhs.grad_avg(), rhs.grad_avg());
}

void RMSpropParamState::serialize(serialize::OutputArchive& archive) const {
  archive.write("step", step());
  detail::write_tensor(archive, "square_avg", square_avg());
  detail::write_tensor(archive, "momentum_buffer", momentum_buffer());
  detail::write_tensor(archive, "grad_avg", grad_avg());
}

void RMSpropParamState::serialize(serialize::InputArchive& archive) {
  archive.read("step", step_);
  detail::read_tensor(archive, "square_avg", square_avg_);
  detail::read_tensor(archive, "momentum_buffer", momentum_buffer_);
  detail::read_tensor(archive, "grad_avg", grad_avg_);
}

RMSprop::RMSprop(std::vector<OptimizerParamGroup> param_groups, RMSpropOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<RMSpropOptions>(defaults)) {
  check_options(defaults);
  for (const auto& group : param_groups_) check_options(group.options());
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions defaults)
    : RMSprop(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void RMSprop::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  DG_CHECK(o.lr() >= 0, "RMSprop: Invalid learning rate: ", o.lr(), " (expected lr >= 0)");
  DG_CHECK(o.eps() >= 0, "RMSprop: Invalid epsilon value: ", o.eps(), " (expected eps >= 0)");
  DG_CHECK(o.momentum() >= 0, "RMSprop: Invalid momentum value: ", o.momentum(), " (expected momentum >= 0)");
  DG_CHECK(o.weight_decay() >= 0, "RMSprop: Invalid weight_decay value: ", o.weight_decay(),
           " (expected weight_decay >= 0)");
  DG_CHECK(o.alpha() >= 0, "RMSprop: Invalid alpha value: ", o.alpha(), " (expected alpha >= 0)");
}

std::unique_ptr<OptimizerParamState> RMSprop::make_param_state() const { return std::make_unique<RMSpropParamState>(); }

Tensor RMSprop::step(LossClosure closure) {
  NoGradGuard no_grad;
  Tensor loss = detail::evaluate_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const RMSpropOptions&>(group.options());
    for (auto& p : group.params()) {
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      auto& slot = state_[param_state_key(p)];
      if (!slot) {
        auto s = std::make_unique<RMSpropParamState>();
        s->step(0);
        s->square_avg(dg::zeros_like(p));
        slot = std::move(s);
      }
      auto& s = static_cast<RMSpropParamState&>(*slot);
      if (o.momentum() > 0 && !s.momentum_buffer().defined()) s.momentum_buffer(dg::zeros_like(p));
      if (o.centered() && !s.grad_avg().defined()) s.grad_avg(dg::zeros_like(p));
      detail::follow_device(s.square_avg(), p);
      detail::follow_device(s.momentum_buffer(), p);
      detail::follow_device(s.grad_avg(), p);
      s.step(s.step() + 1);
      // State an option leaves unused is neither read nor written: p stands in.
      dg::_fused_rmsprop_(p, grad, s.square_avg(), o.centered() ? s.grad_avg() : p,
                          o.momentum() > 0 ? s.momentum_buffer() : p, o.lr(), o.alpha(), o.eps(), o.weight_decay(),
                          o.momentum(), o.centered());
    }
  }
  return loss;
}

}  // namespace dg::optim
