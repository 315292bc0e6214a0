// Forward-mode AD: dual levels, tangents on tensors, and the helpers the
// generated op wrappers call to propagate them (dynagrad/forward_ad.h).
#include "dynagrad/forward_ad.h"

#include <mutex>
#include <unordered_set>
#include <vector>

#include "autograd/recording.h"
#include "dynagrad/autograd_meta.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"

namespace dg {

namespace autograd::forward_ad {

namespace {

struct LevelState {
  std::mutex mutex;
  bool active = false;
  uint64_t last_id = 0;
  // Every AutogradMeta holding a tangent of the current level. Exiting the
  // level drops those tangents at once, as PyTorch's ForwardADLevel does:
  // left to die with their tensors they could never die, since a tangent
  // recorded in reverse mode (forward-over-reverse) holds a graph that may
  // save its own primal (tanh's tangent saves the output), a cycle through
  // the primal's AutogradMeta. A meta leaves the set when it dies.
  std::unordered_set<AutogradMeta*> holders;
};

LevelState& state() {
  static LevelState s;
  return s;
}

// Checks that `level` (default: the current one) names the active level.
void check_level(const char* fn, std::optional<int64_t> level) {
  const bool active = detail::g_level_active.load(std::memory_order_acquire);
  DG_CHECK(active, fn, ": no dual level exists",
           level ? dg::detail::str(" (level ", *level, " was given; it was exited or never entered)") : std::string(),
           ": enter one first (dg::autograd::forward_ad::dual_level or enter_dual_level())");
  DG_CHECK(!level || *level == 0, fn, ": invalid level ", *level, ": the only level that exists is 0 (nested ",
           "forward mode AD is not supported)");
}

bool same_storage(const Tensor& a, const Tensor& b) {
  return a.defined() && b.defined() &&
         a.unsafeGetTensorImpl()->storage().get() == b.unsafeGetTensorImpl()->storage().get();
}

Tensor self_alias(const Tensor& t) {
  detail::FormulaScope no_tangent;
  return t.as_strided(t.sizes(), t.strides(), t.storage_offset());
}

}  // namespace

bool& detail::formula_scope_flag() {
  thread_local bool in_formula = false;
  return in_formula;
}

int64_t enter_dual_level() {
  LevelState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  DG_CHECK(!s.active, "enter_dual_level: nested forward mode AD is not supported at the moment: level 0 is still ",
           "active (exit it first)");
  s.active = true;
  detail::g_level_id.store(++s.last_id, std::memory_order_release);
  detail::g_level_active.store(true, std::memory_order_release);
  return 0;
}

void exit_dual_level(std::optional<int64_t> level) {
  LevelState& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  DG_CHECK(s.active, "exit_dual_level: no dual level to exit",
           level ? dg::detail::str(" (level ", *level, " was given)") : std::string());
  DG_CHECK(!level || *level == 0, "exit_dual_level: trying to exit level ", *level,
           ", which is not the last level created (0)");
  s.active = false;
  detail::g_level_active.store(false, std::memory_order_release);
  detail::g_level_id.store(0, std::memory_order_release);
  // Every tangent of the level is dropped at once. The tangents are moved
  // out under the lock and freed after it: freeing one may free tensors
  // (and metas in `holders`) that its graph held, and their destructors
  // take the lock; with level_id 0 they no longer look for the set.
  std::vector<Tensor> dropped;
  dropped.reserve(s.holders.size());
  for (AutogradMeta* m : s.holders) {
    dropped.push_back(std::move(m->fw_grad.tangent));
    m->fw_grad.tangent = Tensor();
    m->fw_grad.level_id = 0;
    m->fw_grad.shared = false;
  }
  s.holders.clear();
  lock.unlock();
  dropped.clear();
}

void detail::forget_tangent_holder(AutogradMeta* m) {
  LevelState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (m->fw_grad.level_id != 0 && m->fw_grad.level_id == s.last_id && s.active) s.holders.erase(m);
}

dual_level::~dual_level() {
  // Exited by hand already (exit_dual_level()): nothing left to drop.
  if (detail::g_level_active.load(std::memory_order_acquire)) exit_dual_level(level_);
}

Tensor make_dual(const Tensor& tensor, const Tensor& tangent, std::optional<int64_t> level) {
  DG_CHECK(tensor.defined(), "make_dual: expected a defined primal tensor");
  DG_CHECK(tangent.defined(), "make_dual: expected a defined tangent");
  check_level("make_dual", level);
  DG_CHECK(tensor.is_floating_point(), "make_dual: expected primal to be floating point, but got ", tensor.dtype());
  DG_CHECK(tangent.is_floating_point(), "make_dual: expected tangent to be floating point, but got ", tangent.dtype());
  DG_CHECK(tangent.sizes() == tensor.sizes(), "make_dual: the tangent must have the primal's size: the primal is of ",
           "size ", tensor.sizes(), " while the tangent is of size ", tangent.sizes());
  DG_CHECK(tangent.dtype() == tensor.dtype(), "make_dual: the tangent must have the primal's dtype: the primal is ",
           tensor.dtype(), " while the tangent is ", tangent.dtype());
  DG_CHECK(tangent.device() == tensor.device(), "make_dual: the tangent must be on the primal's device: the primal ",
           "is on ", tensor.device(), " while the tangent is on ", tangent.device());
  DG_CHECK(!detail::has_tangent(tensor), "make_dual: making a dual tensor based on a tensor that already has a ",
           "tangent at the same level 0 is not supported");
  Tensor out = self_alias(tensor);
  // The tangent takes the primal's layout (strides and offset in a storage
  // of the same size), so that as_strided and other layout-reading ops apply
  // to both alike (PyTorch does the same).
  const bool same_layout = tangent.strides() == tensor.strides() && tangent.storage_offset() == tensor.storage_offset();
  detail::set_tangent(out, same_layout ? tangent : detail::copy_with_layout_of(tensor, tangent));
  return out;
}

UnpackedDualTensor unpack_dual(const Tensor& tensor, std::optional<int64_t> level) {
  if (!level && !detail::g_level_active.load(std::memory_order_acquire)) return {tensor, Tensor()};
  check_level("unpack_dual", level);
  Tensor t = detail::tangent(tensor);
  if (!t.defined()) return {tensor, Tensor()};
  return {self_alias(tensor), t};
}

// ---------------------------------------------------------------- what the op wrappers call

namespace {
const ForwardGrad* current_grad(const Tensor& t) {
  if (!t.defined()) return nullptr;
  const AutogradMeta* m = t.unsafeGetTensorImpl()->autograd_meta();
  if (!m || m->fw_grad.level_id != detail::g_level_id.load(std::memory_order_relaxed) || m->fw_grad.level_id == 0)
    return nullptr;
  return &m->fw_grad;
}
}  // namespace

Tensor detail::tangent(const Tensor& t) {
  const ForwardGrad* g = current_grad(t);
  return g ? g->tangent : Tensor();
}

bool detail::has_tangent(const Tensor& t) {
  const ForwardGrad* g = current_grad(t);
  return g && g->tangent.defined();
}

bool detail::any_tangent_in(const std::vector<Tensor>& ts) {
  for (const auto& t : ts)
    if (has_tangent(t)) return true;
  return false;
}

Tensor detail::tangent_or_zeros(const Tensor& t) {
  Tensor g = tangent(t);
  if (g.defined() || !t.defined()) return g;
  return zeros_like(t);
}

namespace {
// The tangent slot of t at the current level (a stale one is taken over).
ForwardGrad& grad_slot(const Tensor& t) {
  AutogradMeta& m = t.unsafeGetTensorImpl()->ensure_autograd_meta();
  ForwardGrad& g = m.fw_grad;
  const uint64_t id = detail::g_level_id.load(std::memory_order_relaxed);
  if (g.level_id != id) {
    g.tangent = Tensor();
    g.shared = false;
    LevelState& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    g.level_id = id;
    s.holders.insert(&m);
  }
  return g;
}

Tensor conformed(const Tensor& t, const Tensor& tangent) {
  Tensor value = tangent;
  if (value.dtype() != t.dtype()) value = value.to(t.dtype());
  if (!(value.sizes() == t.sizes())) value = value.expand(t.sizes()).clone();
  return value;
}

// Sets out's tangent to `value`; when value is an input's tangent (formulas
// such as add's `self_t` return it as it is), both are marked shared, so
// that an in-place op on either replaces its tangent instead of writing
// into the other's.
void set_maybe_shared(const Tensor& out, Tensor value, std::initializer_list<const Tensor*> inputs) {
  bool shared = false;
  for (const Tensor* in : inputs) {
    ForwardGrad* g = const_cast<ForwardGrad*>(current_grad(*in));
    if (g && same_storage(g->tangent, value)) {
      g->shared = true;
      shared = true;
    }
  }
  ForwardGrad& g = grad_slot(out);
  g.tangent = std::move(value);
  g.shared = shared;
}
}  // namespace

void detail::set_tangent(const Tensor& t, const Tensor& tangent) {
  if (!t.defined() || !tangent.defined() || !t.is_floating_point()) return;
  Tensor value = conformed(t, tangent);
  ForwardGrad& g = grad_slot(t);
  g.tangent = std::move(value);
  g.shared = false;
}

void detail::set_output_tangent(const Tensor& out, const Tensor& tangent, std::initializer_list<const Tensor*> inputs) {
  if (!out.defined() || !tangent.defined() || !out.is_floating_point()) return;
  set_maybe_shared(out, conformed(out, tangent), inputs);
}

void detail::update_tangent_inplace(const Tensor& self, const Tensor& value,
                                    std::initializer_list<const Tensor*> inputs) {
  if (!self.is_floating_point()) return;
  if (!value.defined()) {
    // The formula read no defined tangent: self's new tangent is zero
    // (copy_ of a tensor without one over a dual tensor).
    Tensor current = tangent(self);
    if (current.defined()) update_tangent_inplace(self, zeros_like(self), inputs);
    return;
  }
  if (const ForwardGrad* g = current_grad(self)) {
    const Tensor current = g->tangent;
    const bool shared = g->shared;
    if (current.defined() && !shared) {
      if (current.unsafeGetTensorImpl() != value.unsafeGetTensorImpl()) current.copy_(value);
      return;
    }
    if (current.defined()) {
      // Shared with another tensor's tangent: self gets a tangent of its own.
      if (current.unsafeGetTensorImpl() != value.unsafeGetTensorImpl())
        set_maybe_shared(self, conformed(self, value), inputs);
      return;
    }
  }
  if (self.is_view()) {
    // The view's tangent must be the same view of its base's, so the base
    // sees the write: a base without one gets a zero tangent first.
    Tensor base = self._base();
    const TensorImpl* b = base.unsafeGetTensorImpl();
    if (base.is_floating_point() && b->is_contiguous() && b->storage_offset() == 0) {
      Tensor base_t = tangent(base);
      if (!base_t.defined()) {
        base_t = zeros_like(base);
        set_tangent(base, base_t);
      }
      if (base_t.is_contiguous() && base_t.storage_offset() == 0) {
        Tensor view_t = base_t.as_strided(self.sizes(), self.strides(), self.storage_offset());
        view_t.copy_(value);
        set_tangent(self, view_t);
        return;
      }
    }
  }
  set_maybe_shared(self, conformed(self, value), inputs);
}

Tensor detail::copy_with_layout_of(const Tensor& like, const Tensor& values) {
  const TensorImpl* p = like.unsafeGetTensorImpl();
  const int64_t n = static_cast<int64_t>(p->storage()->nbytes() / element_size(p->dtype()));
  FormulaScope no_tangent;
  Tensor out = dg::zeros({n}, like.options()).as_strided(like.sizes(), like.strides(), like.storage_offset());
  out.copy_(values);
  return out;
}

Tensor detail::value_before_write(const Tensor& self) {
  FormulaScope no_tangent;
  return self.clone();
}

std::vector<Tensor> detail::input_tangents(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  out.reserve(inputs.size());
  for (const auto& in : inputs) out.push_back(in.defined() && in.is_floating_point() ? tangent_or_zeros(in) : Tensor());
  return out;
}

void detail::set_function_tangents(const std::string& function, const std::vector<Tensor>& in_tangents,
                                   const std::vector<Tensor>& outputs, const std::vector<Tensor>& out_tangents) {
  DG_CHECK(out_tangents.size() == outputs.size(), "function ", function, ": jvp returned ", out_tangents.size(),
           " tangents, but forward returned ", outputs.size(), " outputs (expected one tangent per output)");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    Tensor t = out_tangents[i];
    if (!out.defined() || !t.defined() || !out.is_floating_point()) continue;
    DG_CHECK(t.sizes() == out.sizes(), "function ", function, ": jvp returned a tangent of size ", t.sizes(),
             " for output ", i, " of size ", out.sizes());
    for (const auto& in : in_tangents)
      if (same_storage(t, in)) {
        t = t.clone();
        break;
      }
    set_tangent(out, t);
  }
}

void detail::throw_no_jvp(const std::string& function) {
  throw Error(dg::detail::str("function ", function, ": its inputs carry forward-mode tangents, but it does not ",
                              "implement the jvp function: you must implement the jvp function (static variable_list ",
                              "jvp(AutogradContext*, variable_list tangents)) for a custom autograd Function to use ",
                              "it with forward mode AD"));
}

}  // namespace autograd::forward_ad

void detail::throw_forward_not_implemented(const char* op) {
  throw Error(detail::str("trying to use forward AD with ", op, ", which does not support it: its forward-mode ",
                          "derivative is not implemented (no `forward:` formula in derivatives.yaml)"));
}

namespace fad = autograd::forward_ad;

Tensor Tensor::_fw_grad(uint64_t level) const {
  // As LibTorch: no tangent (undefined) at a level that does not exist.
  if (level != 0 || !fad::detail::g_level_active.load(std::memory_order_acquire)) return Tensor();
  return fad::detail::tangent(*this);
}

Tensor Tensor::_fw_primal(int64_t /*level*/) const {
  // As LibTorch: any level (a view without a tangent there, whether or not
  // the level exists).
  return fad::self_alias(*this);
}

void Tensor::_set_fw_grad(const Tensor& new_grad, uint64_t level, bool is_inplace_op) const {
  fad::check_level("_set_fw_grad", static_cast<int64_t>(level));
  DG_CHECK(new_grad.defined(), "_set_fw_grad: expected a defined tangent");
  DG_CHECK(is_floating_point() && new_grad.is_floating_point(),
           "_set_fw_grad: expected floating point tensors, but got a ", dtype(), " tensor and a ", new_grad.dtype(),
           " tangent");
  DG_CHECK(new_grad.sizes() == sizes(), "_set_fw_grad: the tangent must have the tensor's size: the tensor is of size ",
           sizes(), " while the tangent is of size ", new_grad.sizes());
  if (is_inplace_op) fad::detail::update_tangent_inplace(*this, new_grad, {});
  else fad::detail::set_tangent(*this, new_grad);
}

}  // namespace dg
