// dg::nn::Module: the tree, its parameters and buffers, conversion,
// printing and checkpoints (dynagrad/nn/module.h).
#include "dynagrad/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <sstream>
#include <typeinfo>

#include "dynagrad/grad_mode.h"

namespace dg::nn {
namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* out = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = (status == 0 && out) ? out : mangled;
  std::free(out);
  return name;
}

void check_name(const char* what, const std::string& name) {
  DG_CHECK(!name.empty(), what, ": the name must not be empty");
  DG_CHECK(name.find('.') == std::string::npos, what, ": the name must not contain a dot (got '", name, "')");
}

}  // namespace

Module::Module(std::string name) : name_(std::move(name)) {}
Module::Module() = default;

const std::string& Module::name() const noexcept {
  if (!name_) name_ = demangle(typeid(*this).name());
  return *name_;
}

std::shared_ptr<Module> Module::clone(const std::optional<Device>&) const {
  dg::detail::fail("clone() has not been implemented for " + name() + ". Subclass dg::nn::Cloneable<" + name() +
                   "> instead of dg::nn::Module to inherit the ability to clone.");
}

void Module::clone_(Module&, const std::optional<Device>&) {
  dg::detail::fail("clone() has not been implemented for " + name() + ". Subclass dg::nn::Cloneable<" + name() +
                   "> instead of dg::nn::Module to inherit the ability to clone.");
}

void Module::copy_state_for_clone(const Module& from, const std::optional<Device>& device) {
  NoGradGuard no_grad;
  auto copy_dict = [&](const OrderedDict<std::string, Tensor>& src, OrderedDict<std::string, Tensor>& dst) {
    for (const auto& item : src) {
      if (!item.value().defined()) continue;
      Tensor* slot = dst.find(item.key());
      DG_CHECK(slot != nullptr, "clone: ", name(), "::reset() did not register '", item.key(), "'");
      Tensor data = item.value().detach().clone();
      if (device) data = data.to(*device);
      slot->set_data(data);
      if (slot->requires_grad() != item.value().requires_grad()) slot->requires_grad_(item.value().requires_grad());
    }
  };
  copy_dict(from.parameters_, parameters_);
  copy_dict(from.buffers_, buffers_);
  for (const auto& child : from.children_) {
    auto* mine = children_.find(child.key());
    DG_CHECK(mine != nullptr, "clone: ", name(), "::reset() did not register the submodule '", child.key(), "'");
    (*mine)->clone_(*child.value(), device);
  }
}

// ---- traversal --------------------------------------------------------------

void Module::apply(const ModuleApplyFunction& fn) {
  fn(*this);
  for (auto& child : children_) child.value()->apply(fn);
}

void Module::apply(const ConstModuleApplyFunction& fn) const {
  fn(*this);
  for (const auto& child : children_) static_cast<const Module&>(*child.value()).apply(fn);
}

void Module::apply(const NamedModuleApplyFunction& fn, const std::string& name_prefix) {
  fn(name_prefix, *this);
  for (auto& child : children_) child.value()->apply(fn, join_name(name_prefix, child.key()));
}

void Module::apply(const ConstNamedModuleApplyFunction& fn, const std::string& name_prefix) const {
  fn(name_prefix, *this);
  for (const auto& child : children_)
    static_cast<const Module&>(*child.value()).apply(fn, join_name(name_prefix, child.key()));
}

void Module::apply(const ModulePointerApplyFunction& fn) const {
  fn(shared_from_this_checked());
  for (const auto& child : children_) child.value()->apply(fn);
}

void Module::apply(const NamedModulePointerApplyFunction& fn, const std::string& name_prefix) const {
  fn(name_prefix, shared_from_this_checked());
  for (const auto& child : children_) child.value()->apply(fn, join_name(name_prefix, child.key()));
}

std::shared_ptr<Module> Module::shared_from_this_checked() const {
  std::shared_ptr<const Module> ptr;
  try {
    ptr = shared_from_this();
  } catch (const std::bad_weak_ptr&) {
    dg::detail::fail(
        "It looks like you attempted to retrieve your top-level module as a shared_ptr, but it is not stored in "
        "a shared_ptr. Use std::make_shared<" +
        name() +
        "> instead of creating your module on the stack, or alternatively do not try to access your "
        "top-level module as a shared_ptr");
  }
  return std::const_pointer_cast<Module>(ptr);
}

namespace {
// Named tensors of a dict (own) or of the whole tree (recurse), skipping
// undefined ones (a Linear without bias registers an undefined bias).
OrderedDict<std::string, Tensor> collect(const Module& root, bool recurse,
                                         OrderedDict<std::string, Tensor> (Module::*own)(bool) const,
                                         const OrderedDict<std::string, Tensor>& mine) {
  OrderedDict<std::string, Tensor> out;
  if (!recurse) {
    for (const auto& item : mine)
      if (item.value().defined()) out.insert(item.key(), item.value());
    return out;
  }
  root.apply([&](const std::string& prefix, const Module& m) {
    for (const auto& item : (m.*own)(false)) out.insert(join_name(prefix, item.key()), item.value());
  });
  return out;
}
}  // namespace

OrderedDict<std::string, Tensor> Module::named_parameters(bool recurse) const {
  return collect(*this, recurse, &Module::named_parameters, parameters_);
}

std::vector<Tensor> Module::parameters(bool recurse) const { return named_parameters(recurse).values(); }

OrderedDict<std::string, Tensor> Module::named_buffers(bool recurse) const {
  return collect(*this, recurse, &Module::named_buffers, buffers_);
}

std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_modules(const std::string& name_prefix,
                                                                        bool include_self) const {
  OrderedDict<std::string, std::shared_ptr<Module>> out;
  if (include_self) {
    apply([&](const std::string& key, const std::shared_ptr<Module>& m) { out.insert(key, m); }, name_prefix);
  } else {
    for (const auto& child : children_)
      child.value()->apply([&](const std::string& key, const std::shared_ptr<Module>& m) { out.insert(key, m); },
                           join_name(name_prefix, child.key()));
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) const {
  return named_modules("", include_self).values();
}

std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }

OrderedDict<std::string, std::shared_ptr<Module>> Module::named_children() const { return children_; }

// ---- modes, conversion, gradients --------------------------------------------

void Module::train(bool on) {
  for (auto& child : children_) child.value()->train(on);
  is_training_ = on;
}

void Module::to_impl(std::optional<Device> device, std::optional<ScalarType> dtype) {
  NoGradGuard no_grad;
  auto convert = [&](const Tensor& t) {
    if (!t.defined()) return;
    const bool cast = dtype && is_floating_point(t.scalar_type());
    const Device d = device ? *device : t.device();
    const ScalarType s = cast ? *dtype : t.scalar_type();
    if (d == t.device() && s == t.scalar_type()) return;
    t.set_data(t.detach().to(d, s));
    if (t.grad().defined()) t.grad().set_data(t.grad().detach().to(d, s));
  };
  for (auto& item : parameters_) convert(item.value());
  for (auto& item : buffers_) convert(item.value());
  for (auto& child : children_) child.value()->to_impl(device, dtype);
}

void Module::to(Device device, ScalarType dtype, bool) { to_impl(device, dtype); }
void Module::to(ScalarType dtype, bool) { to_impl(std::nullopt, dtype); }
void Module::to(Device device, bool) { to_impl(device, std::nullopt); }

void Module::zero_grad(bool set_to_none) {
  for (const Tensor& p : parameters()) {
    Tensor& g = p.mutable_grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      g = Tensor();
    } else {
      NoGradGuard no_grad;
      if (g.grad_fn()) g = g.detach();
      g.zero_();
    }
  }
}

// ---- registration -------------------------------------------------------------

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check_name("register_parameter", name);
  if (tensor.defined()) tensor.requires_grad_(requires_grad);
  return parameters_.insert(std::move(name), std::move(tensor));
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
  check_name("register_buffer", name);
  return buffers_.insert(std::move(name), std::move(tensor));
}

void Module::unregister_module(const std::string& name) {
  DG_CHECK(children_.contains(name), "unregister_module: there is no submodule '", name, "'");
  children_.erase(name);
}

// ---- printing ---------------------------------------------------------------

void Module::pretty_print(std::ostream& stream) const { stream << name(); }

void Module::pretty_print_recursive(std::ostream& stream, const std::string& indentation) const {
  pretty_print(stream);
  if (children_.is_empty()) return;
  stream << "(\n";
  const std::string next = indentation + "  ";
  for (const auto& child : children_) {
    stream << next << "(" << child.key() << "): ";
    child.value()->pretty_print_recursive(stream, next);
    stream << '\n';
  }
  stream << indentation << ")";
}

std::ostream& operator<<(std::ostream& stream, const Module& module) {
  module.pretty_print_recursive(stream, "");
  return stream;
}

// ---- state and checkpoints --------------------------------------------------------

OrderedDict<std::string, Tensor> Module::state_dict() const {
  OrderedDict<std::string, Tensor> out = named_parameters();
  for (const auto& item : named_buffers()) out.insert(item.key(), item.value());
  return out;
}

void Module::load_state_dict(const OrderedDict<std::string, Tensor>& state, bool strict, const std::string& source) {
  const OrderedDict<std::string, Tensor> mine = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& item : mine) {
    const Tensor* loaded = state.find(item.key());
    if (!loaded) {
      missing.push_back(item.key());
      continue;
    }
    const Tensor& t = item.value();
    std::ostringstream why;
    if (loaded->sizes() != t.sizes())
      why << item.key() << ": shape " << loaded->sizes() << " in " << source << ", " << t.sizes() << " in the module";
    else if (loaded->scalar_type() != t.scalar_type())
      why << item.key() << ": dtype " << loaded->scalar_type() << " in " << source << ", " << t.scalar_type()
          << " in the module";
    if (!why.str().empty()) mismatched.push_back(why.str());
  }
  for (const auto& item : state)
    if (!mine.contains(item.key())) unexpected.push_back(item.key());
  if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::ostringstream msg;
    msg << "load: " << source << " does not fit " << name() << "; nothing was loaded.";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg << ' ' << what << ':';
      for (size_t i = 0; i < names.size(); ++i) msg << (i ? ", " : " ") << names[i];
      msg << '.';
    };
    if (strict) {
      list("Missing in the file", missing);
      list("Not in the module", unexpected);
    }
    list("Mismatched", mismatched);
    dg::detail::fail(msg.str());
  }
  NoGradGuard no_grad;
  for (const auto& item : mine)
    if (const Tensor* loaded = state.find(item.key())) item.value().copy_(*loaded);
}

void Module::save(serialize::OutputArchive& archive) const {
  for (const auto& item : parameters_)
    if (item.value().defined()) archive.write(item.key(), item.value());
  for (const auto& item : buffers_)
    if (item.value().defined()) archive.write(item.key(), item.value(), /*is_buffer=*/true);
  for (const auto& child : children_) {
    serialize::OutputArchive nested;
    child.value()->save(nested);
    archive.write(child.key(), nested);
  }
}

namespace {
// Every tensor of an archive by its dotted name, and the archive's name for messages.
OrderedDict<std::string, Tensor> state_of(const serialize::InputArchive& archive) {
  OrderedDict<std::string, Tensor> state;
  for (const std::string& key : archive.keys()) state.insert(key, archive.tensor(key));
  return state;
}
std::string source_of(const serialize::InputArchive& archive) {
  return archive.filename().empty() ? std::string("the archive") : "'" + archive.filename() + "'";
}
}  // namespace

void Module::load(serialize::InputArchive& archive) {
  load_state_dict(state_of(archive), /*strict=*/true, source_of(archive));
}

serialize::OutputArchive& operator<<(serialize::OutputArchive& archive, const std::shared_ptr<Module>& module) {
  DG_CHECK(module != nullptr, "save: the module is empty (nullptr)");
  module->save(archive);
  return archive;
}

serialize::InputArchive& operator>>(serialize::InputArchive& archive, const std::shared_ptr<Module>& module) {
  DG_CHECK(module != nullptr, "load: the module is empty (nullptr)");
  module->load(archive);
  return archive;
}

namespace detail {
void load_module(const std::shared_ptr<Module>& module, const std::string& filename, bool strict) {
  DG_CHECK(module != nullptr, "load: the module is empty (nullptr)");
  serialize::InputArchive archive;
  archive.load_from(filename);
  module->load_state_dict(state_of(archive), strict, source_of(archive));
}
}  // namespace detail

}  // namespace dg::nn
