// dg::optim::SGD: options, state and the step (one _fused_sgd_ per parameter).
#include "dynagrad/optim/sgd.h"

#include "dynagrad/error.h"
#include "optim/step_support.h"

namespace dg::optim {

SGDOptions::SGDOptions(double lr) : lr_(lr) {}

bool operator==(const SGDOptions& lhs, const SGDOptions& rhs) {
  return lhs.lr() == rhs.lr() && lhs.momentum() == rhs.momentum() && lhs.dampening() == rhs.dampening() &&
         lhs.weight_decay() == rhs.weight_decay() && lhs.nesterov() == rhs.nesterov();
}

void SGDOptions::serialize(serialize::OutputArchive& archive) const {
  archive.write("lr", lr());
  archive.write("momentum", momentum());
  archive.write("dampening", dampening());
  archive.write("weight_decay", weight_decay());
  archive.write("nesterov", nesterov());
}

void SGDOptions::serialize(serialize::InputArchive& archive) {
  archive.read("lr", lr_);
  archive.read("momentum", momentum_);
  archive.read("dampening", dampening_);
  archive.read("weight_decay", weight_decay_);
  archive.read("nesterov", nesterov_);
}

double SGDOptions::get_lr() const { return lr(); }
void SGDOptions::set_lr(const double lr) { this->lr(lr); }

bool operator==(const SGDParamState& lhs, const SGDParamState& rhs) {
  return lhs.momentum_buffer().defined() == rhs.momentum_buffer().defined() &&
         (!lhs.momentum_buffer().defined() || dg::equal(lhs.momentum_buffer(), rhs.momentum_buffer()));
}

void SGDParamState::serialize(serialize::OutputArchive& archive) const {
  detail::write_tensor(archive, "momentum_buffer", momentum_buffer());
}

void SGDParamState::serialize(serialize::InputArchive& archive) {
  detail::read_tensor(archive, "momentum_buffer", momentum_buffer_);
}

SGD::SGD(std::vector<OptimizerParamGroup> param_groups, SGDOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<SGDOptions>(defaults)) {
  check_options(defaults);
  for (const auto& group : param_groups_) check_options(group.options());
}

SGD::SGD(std::vector<Tensor> params, SGDOptions defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void SGD::check_options(const OptimizerOptions& options) const {
  const auto& o = static_cast<const SGDOptions&>(options);
  DG_CHECK(o.lr() >= 0, "SGD: Invalid learning rate: ", o.lr(), " (expected lr >= 0)");
  DG_CHECK(o.momentum() >= 0, "SGD: Invalid momentum value: ", o.momentum(), " (expected momentum >= 0)");
  DG_CHECK(o.weight_decay() >= 0, "SGD: Invalid weight_decay value: ", o.weight_decay(),
           " (expected weight_decay >= 0)");
  DG_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
           "SGD: Nesterov momentum requires a momentum and zero dampening (expected momentum > 0 and dampening == 0, "
           "got momentum ",
           o.momentum(), " and dampening ", o.dampening(), ")");
}

std::unique_ptr<OptimizerParamState> SGD::make_param_state() const { return std::make_unique<SGDParamState>(); }

Tensor SGD::step(LossClosure closure) {
  NoGradGuard no_grad;
  Tensor loss = detail::evaluate_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const SGDOptions&>(group.options());
    for (auto& p : group.params()) {
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      Tensor buf = p;  // unused without momentum (the op neither reads nor writes it)
      bool first_step = false;
      if (o.momentum() != 0) {
        auto& slot = state_[param_state_key(p)];
        if (!slot) slot = std::make_unique<SGDParamState>();
        auto& s = static_cast<SGDParamState&>(*slot);
        if (!s.momentum_buffer().defined()) {
          s.momentum_buffer(dg::empty_like(p));
          first_step = true;
        }
        detail::follow_device(s.momentum_buffer(), p);
        buf = s.momentum_buffer();
      }
      dg::_fused_sgd_(p, grad, buf, o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), first_step);
    }
  }
  return loss;
}

}  // namespace dg::optim
