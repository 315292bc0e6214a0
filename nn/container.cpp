// dg::nn containers (dynagrad/nn/container.h).
#include "dynagrad/nn/container.h"

#include <ostream>

namespace dg::nn {

// ---- Sequential ----------------------------------------------------------------

SequentialImpl::SequentialImpl(std::vector<std::pair<std::string, AnyModule>> named_modules) {
  for (auto& [name, module] : named_modules) push_back(name, std::move(module));
}

void SequentialImpl::push_back(const SequentialImpl& other) {
  size_t i = 0;
  const auto names = other.named_children();
  for (const AnyModule& m : other.modules_) push_back(names[i++].key(), m);
}

std::shared_ptr<Module> SequentialImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<SequentialImpl>();
  const auto names = named_children();
  for (size_t i = 0; i < modules_.size(); ++i)
    copy->push_back(names[i].key(), modules_[i].rebind(modules_[i].ptr()->clone(device)));
  copy->train(is_training());
  return copy;
}

Tensor SequentialImpl::forward(const Tensor& input) {
  DG_CHECK(!modules_.empty(), "Sequential: cannot call forward() on an empty Sequential");
  Tensor x = modules_.front().forward(input);
  for (size_t i = 1; i < modules_.size(); ++i) x = modules_[i].forward(x);
  return x;
}

size_t SequentialImpl::check_index(size_t index) const {
  DG_CHECK(index < modules_.size(), "Sequential: index ", index, " is out of range (size ", modules_.size(), ")");
  return index;
}

const std::shared_ptr<Module>& SequentialImpl::ptr(size_t index) const { return modules_[check_index(index)].ptr(); }

void SequentialImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::Sequential"; }

// ---- ModuleList ----------------------------------------------------------------

void ModuleListImpl::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

void ModuleListImpl::insert(size_t index, std::shared_ptr<Module> module) {
  DG_CHECK(index <= modules_.size(), "ModuleList::insert: index ", index, " is out of range (size ", modules_.size(),
           ")");
  DG_CHECK(module != nullptr, "ModuleList::insert: the module is empty (nullptr)");
  modules_.insert(modules_.begin() + static_cast<std::ptrdiff_t>(index), std::move(module));
  reregister();
}

void ModuleListImpl::reregister() {
  children_.clear();
  for (size_t i = 0; i < modules_.size(); ++i) register_module(std::to_string(i), modules_[i]);
}

const std::shared_ptr<Module>& ModuleListImpl::ptr(size_t index) const {
  DG_CHECK(index < modules_.size(), "ModuleList: index ", index, " is out of range (size ", modules_.size(), ")");
  return modules_[index];
}

std::shared_ptr<Module> ModuleListImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<ModuleListImpl>();
  for (const auto& m : modules_) copy->push_back(m->clone(device));
  copy->train(is_training());
  return copy;
}

void ModuleListImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::ModuleList"; }

// ---- ModuleDict ----------------------------------------------------------------

ModuleDictImpl::ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules) {
  for (const auto& [key, module] : modules) insert(key, module);
}

ModuleDictImpl::ModuleDictImpl(const OrderedDict<std::string, std::shared_ptr<Module>>& modules) {
  for (const auto& item : modules) insert(item.key(), item.value());
}

std::shared_ptr<Module> ModuleDictImpl::pop(const std::string& key) {
  auto* m = children_.find(key);
  DG_CHECK(m != nullptr, "ModuleDict::pop: there is no module '", key, "'");
  auto module = *m;
  children_.erase(key);
  return module;
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const {
  auto* m = children_.find(key);
  DG_CHECK(m != nullptr, "ModuleDict: there is no module '", key, "'");
  return *m;
}

std::shared_ptr<Module> ModuleDictImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<ModuleDictImpl>();
  for (const auto& item : children_) copy->insert(item.key(), item.value()->clone(device));
  copy->train(is_training());
  return copy;
}

void ModuleDictImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::ModuleDict"; }

// ---- ParameterList / ParameterDict ------------------------------------------------

namespace {
void print_parameters(std::ostream& stream, const char* name, const OrderedDict<std::string, Tensor>& params) {
  stream << "dg::nn::" << name << "(\n";
  for (const auto& item : params) {
    stream << "(" << item.key() << "): Parameter containing: [" << scalar_type_name(item.value().scalar_type())
           << " of size [";
    const auto sizes = item.value().sizes();
    for (size_t i = 0; i < sizes.size(); ++i) stream << (i ? ", " : "") << sizes[i];
    stream << "]]\n";
  }
  stream << ")";
}
}  // namespace

void ParameterListImpl::pretty_print(std::ostream& stream) const {
  print_parameters(stream, "ParameterList", parameters_);
}

void ParameterDictImpl::pretty_print(std::ostream& stream) const {
  print_parameters(stream, "ParameterDict", parameters_);
}

Tensor& ParameterDictImpl::insert(const std::string& key, Tensor param) {
  if (Tensor* existing = parameters_.find(key)) {
    const bool requires_grad = param.requires_grad();
    *existing = std::move(param);
    existing->requires_grad_(requires_grad);
    return *existing;
  }
  const bool requires_grad = param.requires_grad();
  return register_parameter(key, std::move(param), requires_grad);
}

Tensor ParameterDictImpl::pop(const std::string& key) {
  Tensor* p = parameters_.find(key);
  DG_CHECK(p != nullptr, "ParameterDict::pop: there is no parameter '", key, "'");
  Tensor out = *p;
  parameters_.erase(key);
  return out;
}

}  // namespace dg::nn
