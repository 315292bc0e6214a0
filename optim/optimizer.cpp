// dg::optim::Optimizer: parameter groups, state, zero_grad, and the
// checkpoint layout every optimizer shares.
//
// Checkpoint layout (keys of the archive; nested archives give dotted names):
//   n_param_groups                      int
//   param_groups.<g>.n_params           int
//   param_groups.<g>.params.<j>         int: the parameter's index counting
//                                       through all groups in order
//   param_groups.<g>.options.<name>     the group's options (serialize())
//   state.<index>.<name>                the parameter's state (serialize()),
//                                       absent for a parameter without state
#include "dynagrad/optim/optimizer.h"

#include <cstdint>
#include <sstream>
#include <unordered_set>

#include "dynagrad/error.h"
#include "dynagrad/grad_mode.h"

namespace dg::optim {

// ---- the bases' defaults ---------------------------------------------------

std::unique_ptr<OptimizerParamState> OptimizerParamState::clone() const {
  DG_CHECK(false,
           "OptimizerParamState::clone: expected a subclass that implements clone() "
           "(derive from OptimizerCloneableParamState<Derived>), got the base class");
  return nullptr;
}
void OptimizerParamState::serialize(serialize::InputArchive&) {
  DG_CHECK(false, "OptimizerParamState::serialize: expected a subclass that implements it, got the base class");
}
void OptimizerParamState::serialize(serialize::OutputArchive&) const {
  DG_CHECK(false, "OptimizerParamState::serialize: expected a subclass that implements it, got the base class");
}

std::unique_ptr<OptimizerOptions> OptimizerOptions::clone() const {
  DG_CHECK(false,
           "OptimizerOptions::clone: expected a subclass that implements clone() "
           "(derive from OptimizerCloneableOptions<Derived>), got the base class");
  return nullptr;
}
void OptimizerOptions::serialize(serialize::InputArchive&) {
  DG_CHECK(false, "OptimizerOptions::serialize: expected a subclass that implements it, got the base class");
}
void OptimizerOptions::serialize(serialize::OutputArchive&) const {
  DG_CHECK(false, "OptimizerOptions::serialize: expected a subclass that implements it, got the base class");
}
double OptimizerOptions::get_lr() const {
  DG_CHECK(false, "OptimizerOptions::get_lr: expected a subclass that implements it, got the base class");
  return 0;
}
void OptimizerOptions::set_lr(const double) {
  DG_CHECK(false, "OptimizerOptions::set_lr: expected a subclass that implements it, got the base class");
}

// ---- OptimizerParamGroup ---------------------------------------------------

bool OptimizerParamGroup::has_options() const { return options_ != nullptr; }

OptimizerOptions& OptimizerParamGroup::options() {
  DG_CHECK(has_options(), "OptimizerParamGroup::options: expected a group with options, got one without");
  return *options_;
}
const OptimizerOptions& OptimizerParamGroup::options() const {
  DG_CHECK(has_options(), "OptimizerParamGroup::options: expected a group with options, got one without");
  return *options_;
}
void OptimizerParamGroup::set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
std::vector<Tensor>& OptimizerParamGroup::params() { return params_; }
const std::vector<Tensor>& OptimizerParamGroup::params() const { return params_; }

// ---- Optimizer --------------------------------------------------------------

std::string param_state_key(const Tensor& p) {
  std::ostringstream s;
  s << static_cast<const void*>(p.unsafeGetTensorImpl());
  return s.str();
}

Optimizer::Optimizer(std::vector<OptimizerParamGroup> param_groups, std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  for (const auto& group : param_groups) add_param_group(group);
}

Optimizer::Optimizer(std::vector<Tensor> parameters, std::unique_ptr<OptimizerOptions> defaults)
    : Optimizer(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(parameters))}, std::move(defaults)) {}

void Optimizer::add_param_group(const OptimizerParamGroup& param_group) {
  std::unordered_set<const void*> seen;
  for (const auto& group : param_groups_)
    for (const auto& p : group.params()) seen.insert(p.unsafeGetTensorImpl());
  for (size_t i = 0; i < param_group.params().size(); ++i) {
    const Tensor& p = param_group.params()[i];
    DG_CHECK(p.defined(), "Optimizer::add_param_group: expected defined parameters, got an undefined tensor at index ",
             i);
    DG_CHECK(p.is_leaf(), "Optimizer::add_param_group: expected leaf tensors (parameters), got a non-leaf at index ", i,
             " (an optimizer can only optimize leaf tensors)");
    DG_CHECK(seen.insert(p.unsafeGetTensorImpl()).second, "Optimizer::add_param_group: expected each parameter in ",
             "one group only, got parameter ", i, " of the new group twice or already in another group");
  }
  OptimizerParamGroup group(param_group.params());
  if (param_group.has_options()) {
    group.set_options(param_group.options().clone());
  } else {
    group.set_options(defaults_->clone());
  }
  check_options(group.options());
  param_groups_.push_back(std::move(group));
}

void Optimizer::add_parameters(const std::vector<Tensor>& parameters) {
  DG_CHECK(!param_groups_.empty(), "Optimizer::add_parameters: expected an optimizer with a parameter group, got none");
  auto& params = param_groups_[0].params();
  params.insert(params.end(), parameters.begin(), parameters.end());
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& group : param_groups_) {
    for (auto& p : group.params()) {
      Tensor& g = p.mutable_grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        g = Tensor();
      } else {
        g.detach_();
        g.zero_();
      }
    }
  }
}

const std::vector<Tensor>& Optimizer::parameters() const noexcept { return param_groups_.at(0).params(); }
std::vector<Tensor>& Optimizer::parameters() noexcept { return param_groups_.at(0).params(); }
size_t Optimizer::size() const noexcept {
  size_t n = 0;
  for (const auto& group : param_groups_) n += group.params().size();
  return n;
}

OptimizerOptions& Optimizer::defaults() noexcept { return *defaults_; }
const OptimizerOptions& Optimizer::defaults() const noexcept { return *defaults_; }
std::vector<OptimizerParamGroup>& Optimizer::param_groups() noexcept { return param_groups_; }
const std::vector<OptimizerParamGroup>& Optimizer::param_groups() const noexcept { return param_groups_; }

std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>>& Optimizer::state() noexcept { return state_; }
const std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>>& Optimizer::state() const noexcept {
  return state_;
}

OptimizerParamState* Optimizer::find_state(const Tensor& p) const {
  auto it = state_.find(param_state_key(p));
  return it == state_.end() ? nullptr : it->second.get();
}

void Optimizer::save(serialize::OutputArchive& archive) const {
  archive.write("n_param_groups", static_cast<int64_t>(param_groups_.size()));
  serialize::OutputArchive groups, states;
  int64_t index = 0;
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    const auto& group = param_groups_[g];
    serialize::OutputArchive out, params, options;
    out.write("n_params", static_cast<int64_t>(group.params().size()));
    for (size_t j = 0; j < group.params().size(); ++j, ++index) {
      params.write(std::to_string(j), index);
      if (const OptimizerParamState* s = find_state(group.params()[j])) {
        serialize::OutputArchive st;
        s->serialize(st);
        states.write(std::to_string(index), st);
      }
    }
    out.write("params", params);
    group.options().serialize(options);
    out.write("options", options);
    groups.write(std::to_string(g), out);
  }
  archive.write("param_groups", groups);
  archive.write("state", states);
}

void Optimizer::load(serialize::InputArchive& archive) {
  const std::string& file = archive.filename();
  int64_t n_groups = 0;
  archive.read("n_param_groups", n_groups);
  DG_CHECK(n_groups == static_cast<int64_t>(param_groups_.size()), "Optimizer::load: expected a checkpoint with ",
           param_groups_.size(), " parameter groups (as this optimizer), got ", n_groups, " in ", file);
  // Check everything before changing anything.
  std::vector<serialize::InputArchive> group_archives(param_groups_.size());
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    archive.read("param_groups." + std::to_string(g), group_archives[g]);
    int64_t n = 0;
    group_archives[g].read("n_params", n);
    DG_CHECK(n == static_cast<int64_t>(param_groups_[g].params().size()), "Optimizer::load: expected parameter group ",
             g, " to hold ", param_groups_[g].params().size(), " parameters (as this optimizer's), got ", n, " in ",
             file);
  }
  std::vector<std::unique_ptr<OptimizerOptions>> options(param_groups_.size());
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    options[g] = param_groups_[g].options().clone();
    serialize::InputArchive in;
    group_archives[g].read("options", in);
    options[g]->serialize(in);
    check_options(*options[g]);
  }
  std::unordered_map<std::string, std::unique_ptr<OptimizerParamState>> states;
  serialize::InputArchive state_archive;
  const bool any_state = archive.try_read("state", state_archive);
  int64_t index = 0;
  for (const auto& group : param_groups_) {
    for (const auto& p : group.params()) {
      serialize::InputArchive in;
      if (any_state && state_archive.try_read(std::to_string(index), in)) {
        std::unique_ptr<OptimizerParamState> s = make_param_state();
        s->serialize(in);
        states[param_state_key(p)] = std::move(s);
      }
      ++index;
    }
  }
  for (size_t g = 0; g < param_groups_.size(); ++g) param_groups_[g].set_options(std::move(options[g]));
  state_ = std::move(states);
}

serialize::OutputArchive& operator<<(serialize::OutputArchive& archive, const Optimizer& optimizer) {
  optimizer.save(archive);
  return archive;
}

serialize::InputArchive& operator>>(serialize::InputArchive& archive, Optimizer& optimizer) {
  optimizer.load(archive);
  return archive;
}

}  // namespace dg::optim
