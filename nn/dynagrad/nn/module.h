// dg::nn::Module: LibTorch's torch::nn::Module — a tree of modules that owns
// parameters (tensors that train) and buffers (state that does not, like
// BatchNorm's running statistics), with the holder pattern on top:
//
//   struct NetImpl : dg::nn::Module {
//     NetImpl() { fc = register_module("fc", dg::nn::Linear(4, 2)); }
//     dg::Tensor forward(dg::Tensor x) { return fc(x); }
//     dg::nn::Linear fc{nullptr};
//   };
//   DG_MODULE(Net);   // Net holds a std::shared_ptr<NetImpl>, as TORCH_MODULE
//
// Names come out in registration order with dotted paths ("fc.weight"), as
// LibTorch's named_parameters(). dg::save(module, path) / dg::load(module,
// path) write and read its parameters and buffers (dynagrad/serialize.h);
// loading checks every name, shape and dtype before it changes anything.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dynagrad/arg.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/ordered_dict.h"
#include "dynagrad/serialize.h"
#include "dynagrad/tensor.h"

namespace dg::nn {

template <typename Contained>
class ModuleHolder;

class Module : public std::enable_shared_from_this<Module> {
 public:
  using ModuleApplyFunction = std::function<void(Module&)>;
  using ConstModuleApplyFunction = std::function<void(const Module&)>;
  using NamedModuleApplyFunction = std::function<void(const std::string&, Module&)>;
  using ConstNamedModuleApplyFunction = std::function<void(const std::string&, const Module&)>;
  using ModulePointerApplyFunction = std::function<void(const std::shared_ptr<Module>&)>;
  using NamedModulePointerApplyFunction = std::function<void(const std::string&, const std::shared_ptr<Module>&)>;

  explicit Module(std::string name);
  Module();
  Module(const Module&) = default;
  Module& operator=(const Module&) = default;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;
  virtual ~Module() = default;

  // The module's type name (demangled: "NetImpl", "dg::nn::LinearImpl"),
  // unless one was given to the constructor.
  const std::string& name() const noexcept;

  // A deep copy (Cloneable modules only; a plain Module says so).
  virtual std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const;

  // fn on this module and every descendant, depth first, this one first.
  void apply(const ModuleApplyFunction& fn);
  void apply(const ConstModuleApplyFunction& fn) const;
  void apply(const NamedModuleApplyFunction& fn, const std::string& name_prefix = std::string());
  void apply(const ConstNamedModuleApplyFunction& fn, const std::string& name_prefix = std::string()) const;
  void apply(const ModulePointerApplyFunction& fn) const;
  void apply(const NamedModulePointerApplyFunction& fn, const std::string& name_prefix = std::string()) const;

  std::vector<Tensor> parameters(bool recurse = true) const;
  OrderedDict<std::string, Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<std::string, Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true) const;
  OrderedDict<std::string, std::shared_ptr<Module>> named_modules(const std::string& name_prefix = std::string(),
                                                                  bool include_self = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::string, std::shared_ptr<Module>> named_children() const;

  // Training mode, recursively (Dropout and BatchNorm behave differently).
  virtual void train(bool on = true);
  void eval() { train(false); }
  virtual bool is_training() const noexcept { return is_training_; }

  // Converts every parameter and buffer in place (the same tensor objects:
  // references held elsewhere, like an optimizer's, follow). to(dtype)
  // converts floating-point tensors only, as LibTorch.
  virtual void to(Device device, ScalarType dtype, bool non_blocking = false);
  virtual void to(ScalarType dtype, bool non_blocking = false);
  virtual void to(Device device, bool non_blocking = false);

  // Resets the gradients of every parameter: to zeros (LibTorch 1.13's C++
  // default), or to undefined with set_to_none.
  virtual void zero_grad(bool set_to_none = false);

  // The module as the given type, or nullptr.
  template <typename ModuleType>
  typename ModuleType::ContainedType* as() noexcept {
    return as<typename ModuleType::ContainedType>();
  }
  template <typename ModuleType>
  const typename ModuleType::ContainedType* as() const noexcept {
    return as<typename ModuleType::ContainedType>();
  }
  template <typename ModuleType, typename = std::enable_if_t<std::is_base_of_v<Module, ModuleType>>>
  ModuleType* as() noexcept {
    return dynamic_cast<ModuleType*>(this);
  }
  template <typename ModuleType, typename = std::enable_if_t<std::is_base_of_v<Module, ModuleType>>>
  const ModuleType* as() const noexcept {
    return dynamic_cast<const ModuleType*>(this);
  }

  // Parameters and buffers (this module's and its children's, nested
  // archives by child name) into / out of an archive. load() is strict:
  // every name, shape and dtype must match, or nothing changes.
  virtual void save(serialize::OutputArchive& archive) const;
  virtual void load(serialize::InputArchive& archive);
  // Every parameter and buffer by dotted name (what save writes).
  OrderedDict<std::string, Tensor> state_dict() const;
  // Copies `state` into the parameters and buffers. strict: the names must
  // be exactly the module's; otherwise the common names load. Either way the
  // shapes and dtypes of the loaded names must match. Checks everything
  // first: on error nothing has changed, and the message lists every
  // difference.
  void load_state_dict(const OrderedDict<std::string, Tensor>& state, bool strict = true,
                       const std::string& source = "state dict");

  // "Name(options)" for one line; containers print their children below.
  virtual void pretty_print(std::ostream& stream) const;
  virtual bool is_serializable() const { return true; }

  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  Tensor& register_buffer(std::string name, Tensor tensor);
  template <typename ModuleType>
  std::shared_ptr<ModuleType> register_module(std::string name, std::shared_ptr<ModuleType> module);
  template <typename ModuleType>
  std::shared_ptr<ModuleType> register_module(std::string name, ModuleHolder<ModuleType> module_holder);
  template <typename ModuleType>
  std::shared_ptr<ModuleType> replace_module(const std::string& name, std::shared_ptr<ModuleType> module);
  template <typename ModuleType>
  std::shared_ptr<ModuleType> replace_module(const std::string& name, ModuleHolder<ModuleType> module_holder);
  void unregister_module(const std::string& name);

 protected:
  // For Cloneable: this module (a child of a fresh copy, made by reset())
  // becomes a clone of `other`.
  virtual void clone_(Module& other, const std::optional<Device>& device);
  // For Cloneable: copies `from`'s own parameter and buffer values into this
  // module's (made fresh by reset()) and clones its children into this one's.
  void copy_state_for_clone(const Module& from, const std::optional<Device>& device);

  OrderedDict<std::string, Tensor> parameters_{"Parameter"};
  OrderedDict<std::string, Tensor> buffers_{"Buffer"};
  OrderedDict<std::string, std::shared_ptr<Module>> children_{"Submodule"};

 private:
  void pretty_print_recursive(std::ostream& stream, const std::string& indentation) const;
  std::shared_ptr<Module> shared_from_this_checked() const;
  void to_impl(std::optional<Device> device, std::optional<ScalarType> dtype);

  mutable std::optional<std::string> name_;
  bool is_training_ = true;

  friend std::ostream& operator<<(std::ostream& stream, const Module& module);
};

std::ostream& operator<<(std::ostream& stream, const Module& module);

// ---- the holder -----------------------------------------------------------

// A value-semantics handle to a module implementation: Linear holds a
// std::shared_ptr<LinearImpl>, `Linear l(3, 4)` constructs it, `l(x)` calls
// forward, `l->weight` reaches its members, `Linear l{nullptr}` is empty.
template <typename Contained>
class ModuleHolder {
 public:
  using ContainedType = Contained;

  ModuleHolder() : impl_(default_construct()) {}
  ModuleHolder(std::nullptr_t) : impl_(nullptr) {}  // NOLINT
  template <typename Head, typename... Tail,
            typename = std::enable_if_t<!(std::is_same_v<std::decay_t<Head>, ModuleHolder> && sizeof...(Tail) == 0) &&
                                        !std::is_same_v<std::decay_t<Head>, std::nullptr_t>>>
  explicit ModuleHolder(Head&& head, Tail&&... tail)
      : impl_(std::make_shared<Contained>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}
  ModuleHolder(std::shared_ptr<Contained> module) : impl_(std::move(module)) {}  // NOLINT

  explicit operator bool() const noexcept { return !is_empty(); }
  Contained* operator->() { return get(); }
  const Contained* operator->() const { return get(); }
  Contained& operator*() { return *get(); }
  const Contained& operator*() const { return *get(); }
  const std::shared_ptr<Contained>& ptr() const {
    DG_CHECK(!is_empty(), "Accessing empty ModuleHolder");
    return impl_;
  }
  Contained* get() {
    DG_CHECK(!is_empty(), "Accessing empty ModuleHolder");
    return impl_.get();
  }
  const Contained* get() const {
    DG_CHECK(!is_empty(), "Accessing empty ModuleHolder");
    return impl_.get();
  }
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) {
    return get()->forward(std::forward<Args>(args)...);
  }
  template <typename Arg>
  decltype(auto) operator[](Arg&& arg) {
    return (*get())[std::forward<Arg>(arg)];
  }
  bool is_empty() const noexcept { return impl_ == nullptr; }

 protected:
  std::shared_ptr<Contained> impl_;

 private:
  static std::shared_ptr<Contained> default_construct() {
    if constexpr (std::is_default_constructible_v<Contained>) {
      return std::make_shared<Contained>();
    } else {
      static_assert(std::is_default_constructible_v<Contained>,
                    "This module has no default constructor: give it its arguments, or = nullptr for an empty holder");
      return nullptr;
    }
  }
};

template <typename Contained>
std::ostream& operator<<(std::ostream& stream, const ModuleHolder<Contained>& module) {
  return stream << *module;
}

// ---- deep copies ----------------------------------------------------------

// Modules that can clone() themselves: they re-create their parameters and
// children in reset(), and clone() copies the values over (LibTorch's
// torch::nn::Cloneable).
template <typename Derived>
class Cloneable : public Module {
 public:
  using Module::Module;
  virtual void reset() = 0;

  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override {
    NoGradGuard no_grad;
    const auto& self = static_cast<const Derived&>(*this);
    auto copy = std::make_shared<Derived>(self);
    copy->parameters_.clear();
    copy->buffers_.clear();
    copy->children_.clear();
    copy->reset();
    copy->copy_state_for_clone(*this, device);
    return copy;
  }

 private:
  void clone_(Module& other, const std::optional<Device>& device) override {
    auto clone = std::dynamic_pointer_cast<Derived>(other.clone(device));
    DG_CHECK(clone != nullptr, "clone: the module to copy into is not a ", name());
    static_cast<Derived&>(*this) = *clone;
  }
};

// ---- serialization --------------------------------------------------------

serialize::OutputArchive& operator<<(serialize::OutputArchive& archive, const std::shared_ptr<Module>& module);
serialize::InputArchive& operator>>(serialize::InputArchive& archive, const std::shared_ptr<Module>& module);
template <typename Contained>
serialize::OutputArchive& operator<<(serialize::OutputArchive& archive, const ModuleHolder<Contained>& module) {
  return archive << std::static_pointer_cast<Module>(module.ptr());
}
template <typename Contained>
serialize::InputArchive& operator>>(serialize::InputArchive& archive, ModuleHolder<Contained>& module) {
  return archive >> std::static_pointer_cast<Module>(module.ptr());
}

namespace detail {
// The state of `module` from `filename` (strict or the common names).
void load_module(const std::shared_ptr<Module>& module, const std::string& filename, bool strict);
}  // namespace detail

// ---- Module templates -----------------------------------------------------

template <typename ModuleType>
std::shared_ptr<ModuleType> Module::register_module(std::string name, std::shared_ptr<ModuleType> module) {
  DG_CHECK(!name.empty(), "register_module: submodule name must not be empty");
  DG_CHECK(name.find('.') == std::string::npos, "register_module: submodule name must not contain a dot (got '", name,
           "')");
  DG_CHECK(module != nullptr, "register_module: the submodule '", name, "' is empty (nullptr)");
  children_.insert(std::move(name), module);
  return module;
}

template <typename ModuleType>
std::shared_ptr<ModuleType> Module::register_module(std::string name, ModuleHolder<ModuleType> module_holder) {
  return register_module(std::move(name), module_holder.ptr());
}

template <typename ModuleType>
std::shared_ptr<ModuleType> Module::replace_module(const std::string& name, std::shared_ptr<ModuleType> module) {
  auto* slot = children_.find(name);
  DG_CHECK(slot != nullptr, "replace_module: there is no submodule '", name, "'");
  *slot = module;
  return module;
}

template <typename ModuleType>
std::shared_ptr<ModuleType> Module::replace_module(const std::string& name, ModuleHolder<ModuleType> module_holder) {
  return replace_module(name, module_holder.ptr());
}

}  // namespace dg::nn

// DG_MODULE(Linear): `Linear`, the holder of `LinearImpl` (TORCH_MODULE).
#define DG_MODULE_IMPL(Name, ImplType)                    \
  class Name : public ::dg::nn::ModuleHolder<ImplType> {  \
   public:                                                \
    using ::dg::nn::ModuleHolder<ImplType>::ModuleHolder; \
    using Impl = ImplType;                                \
  }
#define DG_MODULE(Name) DG_MODULE_IMPL(Name, Name##Impl)

namespace dg {

// dg::load(module, path, /*strict=*/false): loads the names the module and
// the file have in common (shapes and dtypes must still match).
template <typename Contained>
void load(nn::ModuleHolder<Contained>& module, const std::string& filename, bool strict) {
  nn::detail::load_module(module.ptr(), filename, strict);
}

}  // namespace dg

// LibTorch's spellings, so a ported program keeps its TORCH_MODULE and
// TORCH_ARG lines (a translation unit never includes both libraries).
#ifndef TORCH_MODULE
#define TORCH_MODULE(Name) DG_MODULE(Name)
#endif
#ifndef TORCH_MODULE_IMPL
#define TORCH_MODULE_IMPL(Name, ImplType) DG_MODULE_IMPL(Name, ImplType)
#endif
#ifndef TORCH_ARG
#define TORCH_ARG(T, name) DG_ARG(T, name)
#endif
