// dg::nn containers: Sequential, ModuleList, ModuleDict, ParameterList,
// ParameterDict and Functional (a function as a module), LibTorch's API.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/nn/module.h"

namespace dg::nn {

// A module with a Tensor(Tensor) forward, type-erased (LibTorch's AnyModule
// for the common one-tensor case).
class AnyModule {
 public:
  AnyModule() = default;
  template <typename ModuleType>
  AnyModule(std::shared_ptr<ModuleType> module)  // NOLINT
      : module_(module),
        forward_([m = module.get()](const Tensor& x) -> Tensor { return m->forward(x); }),
        rebind_([](const std::shared_ptr<Module>& m) { return AnyModule(std::dynamic_pointer_cast<ModuleType>(m)); }) {
    DG_CHECK(module != nullptr, "AnyModule: the module is empty (nullptr)");
  }
  template <typename ModuleType, typename = std::enable_if_t<std::is_base_of_v<Module, ModuleType>>>
  AnyModule(ModuleType&& module)  // NOLINT
      : AnyModule(std::make_shared<std::decay_t<ModuleType>>(std::forward<ModuleType>(module))) {}
  template <typename Contained>
  AnyModule(const ModuleHolder<Contained>& holder) : AnyModule(holder.ptr()) {}  // NOLINT

  Tensor forward(const Tensor& input) const {
    DG_CHECK(forward_, "AnyModule: cannot call forward() on an empty AnyModule");
    return forward_(input);
  }
  const std::shared_ptr<Module>& ptr() const { return module_; }
  template <typename T>
  T& get() const {
    auto* m = dynamic_cast<T*>(module_.get());
    DG_CHECK(m != nullptr, "AnyModule: the module is a ", module_ ? module_->name() : "nullptr",
             ", not the requested type");
    return *m;
  }
  bool is_empty() const noexcept { return module_ == nullptr; }
  // The same kind of AnyModule around another module of the same type (a clone).
  AnyModule rebind(const std::shared_ptr<Module>& module) const { return rebind_(module); }

 private:
  std::shared_ptr<Module> module_;
  std::function<Tensor(const Tensor&)> forward_;
  std::function<AnyModule(const std::shared_ptr<Module>&)> rebind_;
};

// Modules applied one after the other: Sequential(Linear(2, 4), ReLU(), ...).
class SequentialImpl : public Cloneable<SequentialImpl> {
 public:
  SequentialImpl() = default;
  template <typename... Modules>
  explicit SequentialImpl(Modules&&... modules) {
    (push_back(std::forward<Modules>(modules)), ...);
  }
  // Named: Sequential({{"fc", Linear(2, 3)}, {"act", ReLU()}}).
  explicit SequentialImpl(std::vector<std::pair<std::string, AnyModule>> named_modules);

  void reset() override {}
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;
  void pretty_print(std::ostream& stream) const override;

  template <typename M>
  void push_back(M&& module) {
    push_back(std::to_string(modules_.size()), std::forward<M>(module));
  }
  template <typename M>
  void push_back(std::string name, M&& module) {
    AnyModule any(std::forward<M>(module));
    register_module(std::move(name), any.ptr());
    modules_.push_back(std::move(any));
  }
  void push_back(const SequentialImpl& other);
  void extend(const SequentialImpl& other) { push_back(other); }

  Tensor forward(const Tensor& input);
  template <typename ReturnType = Tensor>
  ReturnType forward_as(const Tensor& input) {
    return forward(input);
  }

  const std::shared_ptr<Module>& ptr(size_t index) const;
  template <typename T>
  std::shared_ptr<T> ptr(size_t index) const {
    return std::dynamic_pointer_cast<T>(ptr(index));
  }
  template <typename T>
  T& at(size_t index) {
    return modules_.at(check_index(index)).get<T>();
  }
  std::shared_ptr<Module> operator[](size_t index) const { return ptr(index); }
  size_t size() const noexcept { return modules_.size(); }
  bool is_empty() const noexcept { return modules_.empty(); }
  std::vector<AnyModule>::iterator begin() { return modules_.begin(); }
  std::vector<AnyModule>::iterator end() { return modules_.end(); }

 private:
  size_t check_index(size_t index) const;
  std::vector<AnyModule> modules_;
};

class Sequential : public ModuleHolder<SequentialImpl> {
 public:
  using ModuleHolder<SequentialImpl>::ModuleHolder;
  using Impl = SequentialImpl;
  Sequential() : ModuleHolder() {}
  Sequential(std::initializer_list<std::pair<std::string, AnyModule>> named_modules)
      : ModuleHolder(std::make_shared<SequentialImpl>(
            std::vector<std::pair<std::string, AnyModule>>(named_modules.begin(), named_modules.end()))) {}
};

// A list of modules, registered as "0", "1", ...; forward is the user's.
class ModuleListImpl : public Cloneable<ModuleListImpl> {
 public:
  ModuleListImpl() = default;
  template <typename... Modules>
  explicit ModuleListImpl(Modules&&... modules) {
    (push_back(std::forward<Modules>(modules)), ...);
  }
  void reset() override {}
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;
  void pretty_print(std::ostream& stream) const override;

  void push_back(std::shared_ptr<Module> module);
  template <typename M, typename = std::enable_if_t<std::is_base_of_v<Module, M>>>
  void push_back(std::shared_ptr<M> module) {
    push_back(std::static_pointer_cast<Module>(std::move(module)));
  }
  template <typename Contained>
  void push_back(const ModuleHolder<Contained>& holder) {
    push_back(std::static_pointer_cast<Module>(holder.ptr()));
  }
  template <typename M, typename = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<M>>>>
  void push_back(M&& module) {
    push_back(std::static_pointer_cast<Module>(std::make_shared<std::decay_t<M>>(std::forward<M>(module))));
  }
  template <typename Container>
  void extend(const Container& container) {
    for (const auto& m : container) push_back(m);
  }
  void insert(size_t index, std::shared_ptr<Module> module);

  const std::shared_ptr<Module>& ptr(size_t index) const;
  template <typename T>
  std::shared_ptr<T> ptr(size_t index) const {
    return std::dynamic_pointer_cast<T>(ptr(index));
  }
  template <typename T>
  T& at(size_t index) {
    auto* m = dynamic_cast<T*>(ptr(index).get());
    DG_CHECK(m != nullptr, "ModuleList::at: module ", index, " is not of the requested type");
    return *m;
  }
  std::shared_ptr<Module> operator[](size_t index) const { return ptr(index); }
  size_t size() const noexcept { return modules_.size(); }
  bool is_empty() const noexcept { return modules_.empty(); }
  std::vector<std::shared_ptr<Module>>::iterator begin() { return modules_.begin(); }
  std::vector<std::shared_ptr<Module>>::iterator end() { return modules_.end(); }
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }

 private:
  void reregister();
  std::vector<std::shared_ptr<Module>> modules_;
};
DG_MODULE(ModuleList);

// Modules by name, in insertion order.
class ModuleDictImpl : public Cloneable<ModuleDictImpl> {
 public:
  ModuleDictImpl() = default;
  explicit ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);
  explicit ModuleDictImpl(const OrderedDict<std::string, std::shared_ptr<Module>>& modules);
  void reset() override {}
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;
  void pretty_print(std::ostream& stream) const override;

  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items() const { return children_.pairs(); }
  std::vector<std::string> keys() const { return children_.keys(); }
  std::vector<std::shared_ptr<Module>> values() const { return children_.values(); }
  size_t size() const noexcept { return children_.size(); }
  bool empty() const noexcept { return children_.is_empty(); }
  bool contains(const std::string& key) const noexcept { return children_.contains(key); }
  void clear() { children_.clear(); }
  std::shared_ptr<Module> pop(const std::string& key);
  template <typename M>
  std::shared_ptr<M> insert(const std::string& key, std::shared_ptr<M> module) {
    if (children_.contains(key)) return replace_module(key, std::move(module));
    return register_module(key, std::move(module));
  }
  template <typename Contained>
  std::shared_ptr<Contained> insert(const std::string& key, const ModuleHolder<Contained>& holder) {
    return insert(key, holder.ptr());
  }
  template <typename Container>
  void update(const Container& container) {
    for (const auto& item : container) insert(item.first, item.second);
  }
  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <typename T>
  T& at(const std::string& key) {
    auto* m = dynamic_cast<T*>((*this)[key].get());
    DG_CHECK(m != nullptr, "ModuleDict::at: module '", key, "' is not of the requested type");
    return *m;
  }
  OrderedDict<std::string, std::shared_ptr<Module>>::Iterator begin() { return children_.begin(); }
  OrderedDict<std::string, std::shared_ptr<Module>>::Iterator end() { return children_.end(); }
};
DG_MODULE(ModuleDict);

// Parameters in a list ("0", "1", ...) or by name.
class ParameterListImpl : public Cloneable<ParameterListImpl> {
 public:
  ParameterListImpl() = default;
  template <typename... Tensors>
  explicit ParameterListImpl(Tensors&&... params) {
    (append(std::forward<Tensors>(params)), ...);
  }
  void reset() override {}
  void pretty_print(std::ostream& stream) const override;
  void append(Tensor param) { register_parameter(std::to_string(parameters_.size()), std::move(param)); }
  void append(const OrderedDict<std::string, Tensor>::Item& item) { append(item.value()); }
  template <typename Container>
  void extend(const Container& container) {
    for (const auto& p : container) append(p);
  }
  Tensor& operator[](size_t index) { return parameters_[index].value(); }
  const Tensor& operator[](size_t index) const { return parameters_[index].value(); }
  Tensor& at(size_t index) { return parameters_[index].value(); }
  size_t size() const noexcept { return parameters_.size(); }
  bool is_empty() const noexcept { return parameters_.is_empty(); }
  OrderedDict<std::string, Tensor>::Iterator begin() { return parameters_.begin(); }
  OrderedDict<std::string, Tensor>::Iterator end() { return parameters_.end(); }
};
DG_MODULE(ParameterList);

class ParameterDictImpl : public Cloneable<ParameterDictImpl> {
 public:
  ParameterDictImpl() = default;
  explicit ParameterDictImpl(const OrderedDict<std::string, Tensor>& params) {
    for (const auto& item : params) insert(item.key(), item.value());
  }
  void reset() override {}
  void pretty_print(std::ostream& stream) const override;
  Tensor& insert(const std::string& key, Tensor param);
  Tensor pop(const std::string& key);
  bool contains(const std::string& key) const { return parameters_.contains(key); }
  std::vector<std::string> keys() const { return parameters_.keys(); }
  std::vector<Tensor> values() const { return parameters_.values(); }
  size_t size() const noexcept { return parameters_.size(); }
  bool empty() const noexcept { return parameters_.is_empty(); }
  void clear() { parameters_.clear(); }
  Tensor& get(const std::string& key) { return parameters_[key]; }
  Tensor& operator[](const std::string& key) { return parameters_[key]; }
  const Tensor& operator[](const std::string& key) const { return parameters_[key]; }
  template <typename Container>
  void update(const Container& container) {
    for (const auto& item : container) insert(item.key(), item.value());
  }
  OrderedDict<std::string, Tensor>::Iterator begin() { return parameters_.begin(); }
  OrderedDict<std::string, Tensor>::Iterator end() { return parameters_.end(); }
};
DG_MODULE(ParameterDict);

// A function as a module (for Sequential): Functional(dg::relu), or with
// trailing arguments bound: Functional(dg::elu, /*alpha=*/1, 1, 1).
class FunctionalImpl : public Cloneable<FunctionalImpl> {
 public:
  using Function = std::function<Tensor(Tensor)>;
  explicit FunctionalImpl(Function function) : function_(std::move(function)) {}
  template <typename SomeFunction, typename... Args, typename = std::enable_if_t<(sizeof...(Args) > 0)>>
  explicit FunctionalImpl(SomeFunction original_function, Args&&... args)
      : function_([original_function, args...](const Tensor& input) { return original_function(input, args...); }) {}
  void reset() override {}
  Tensor forward(Tensor input) { return function_(std::move(input)); }
  Tensor operator()(Tensor input) { return forward(std::move(input)); }
  void pretty_print(std::ostream& stream) const override { stream << "dg::nn::Functional()"; }
  bool is_serializable() const override { return false; }

 private:
  Function function_;
};

class Functional : public ModuleHolder<FunctionalImpl> {
 public:
  using ModuleHolder<FunctionalImpl>::ModuleHolder;
  using Impl = FunctionalImpl;
  // A plain function pointer (dg::relu has overloads: pass a lambda then).
  Functional(Tensor (*fn)(const Tensor&))  // NOLINT
      : ModuleHolder(std::make_shared<FunctionalImpl>(FunctionalImpl::Function([fn](Tensor x) { return fn(x); }))) {}
};

}  // namespace dg::nn
