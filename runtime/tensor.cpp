#include "dynagrad/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>

#include "dynagrad/autograd_meta.h"
#include "dynagrad/cuda.h"
#include "dynagrad/engine.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "element_access.h"

namespace dg {

namespace {
const Tensor& undefined_tensor() {
  static const Tensor t;
  return t;
}
const NodePtr& null_node() {
  static const NodePtr n;
  return n;
}

int64_t wrap(const char* what, int64_t d, int64_t ndim) {
  const int64_t lo = ndim == 0 ? -1 : -ndim;
  const int64_t hi = ndim == 0 ? 0 : ndim - 1;
  DG_CHECK(d >= lo && d <= hi, what, ": dimension ", d, " is out of range for a tensor of ", ndim,
           " dimensions (expected a value in [", lo, ", ", hi, "])");
  return d < 0 ? d + (ndim == 0 ? 1 : ndim) : d;
}
}  // namespace

int64_t Tensor::size(int64_t d) const {
  const int64_t nd = dim();
  DG_CHECK(nd > 0, "size: dimension ", d, " requested of a 0-dim tensor, which has no dimensions");
  return sizes()[wrap("size", d, nd)];
}

int64_t Tensor::stride(int64_t d) const {
  const int64_t nd = dim();
  DG_CHECK(nd > 0, "stride: dimension ", d, " requested of a 0-dim tensor, which has no dimensions");
  return strides()[wrap("stride", d, nd)];
}

Scalar Tensor::item() const {
  DG_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", sizes());
  if (is_cuda()) return detail::to_host(*this).item();
  const void* p = data_ptr();
  switch (dtype()) {
    case kFloat32: return Scalar(static_cast<double>(*static_cast<const float*>(p)));
    case kFloat64: return Scalar(*static_cast<const double*>(p));
    case kInt64: return Scalar(*static_cast<const int64_t*>(p));
    case kBool: return Scalar(*static_cast<const bool*>(p));
    case kFloat16: return Scalar(static_cast<double>(static_cast<float>(*static_cast<const Half*>(p))));
    case kBFloat16: return Scalar(static_cast<double>(static_cast<float>(*static_cast<const BFloat16*>(p))));
  }
  throw Error("item: unknown dtype");
}

Tensor Tensor::_base() const {
  const auto& base = impl()->view_base();
  return base ? Tensor(base) : Tensor();
}

// ---- autograd ------------------------------------------------------------------

bool Tensor::requires_grad() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m && (m->requires_grad || m->grad_fn);
}

const Tensor& Tensor::requires_grad_(bool requires_grad) const {
  TensorImpl* self = impl();
  AutogradMeta* m = self->autograd_meta();
  if (m && m->grad_fn) {
    // A non-leaf already requires grad; only turning it off is meaningless.
    DG_CHECK(requires_grad,
             "requires_grad_: you can only change requires_grad flags of leaf tensors; to use a computed "
             "tensor without its history, take t.detach()");
    return *this;
  }
  if (requires_grad) {
    DG_CHECK(is_floating_point(),
             "requires_grad_: only tensors of floating point dtype can require gradients, got ", dtype());
    DG_CHECK(!self->is_inference() || InferenceMode::is_enabled(),
             "requires_grad_: setting requires_grad=true on an inference tensor outside InferenceMode is not "
             "allowed; clone() it first");
    self->ensure_autograd_meta().requires_grad = true;
  } else if (m) {
    m->requires_grad = false;
  }
  return *this;
}

bool Tensor::is_leaf() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return !m || !m->grad_fn;
}

const Tensor& Tensor::grad() const {
  const AutogradMeta* m = impl()->autograd_meta();
  if (!m) return undefined_tensor();
  if (m->grad_fn && m->hooks && m->hooks->retains_grad) return m->hooks->retained_grad;
  return m->grad;
}

Tensor& Tensor::mutable_grad() const { return impl()->ensure_autograd_meta().grad; }

const NodePtr& Tensor::grad_fn() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m ? m->grad_fn : null_node();
}

uint32_t Tensor::output_nr() const {
  detail::maybe_refresh_view(impl());
  const AutogradMeta* m = impl()->autograd_meta();
  return m ? m->output_nr : 0;
}

namespace {
std::shared_ptr<TensorHooks>& ensure_hooks(AutogradMeta& m) {
  if (!m.hooks) m.hooks = std::make_shared<TensorHooks>();
  return m.hooks;
}
}  // namespace

void Tensor::retain_grad() const {
  DG_CHECK(requires_grad(), "retain_grad: can't retain the gradient of a tensor that does not require grad");
  if (is_leaf()) return;  // leaves keep .grad anyway
  AutogradMeta& m = *impl()->autograd_meta();
  auto& hooks = ensure_hooks(m);
  hooks->retains_grad = true;
  m.grad_fn->add_tensor_hooks(m.output_nr, hooks);
}

bool Tensor::retains_grad() const {
  const AutogradMeta* m = impl()->autograd_meta();
  return m && m->grad_fn && m->hooks && m->hooks->retains_grad;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph,
                      std::optional<TensorList> inputs) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph, inputs ? *inputs : TensorList{});
}

Tensor Tensor::detach() const {
  // PyTorch: a view sharing storage (and the version counter) with no history.
  return make_view(*this, sizes(), strides(), storage_offset(), ViewKind::Detached);
}

const Tensor& Tensor::detach_() const {
  DG_CHECK(!is_view(), "detach_: can't detach views in place. Use detach() instead");
  if (AutogradMeta* m = impl()->autograd_meta()) {
    m->grad_fn.reset();
    m->output_nr = 0;
    m->requires_grad = false;
  }
  return *this;
}

unsigned Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  DG_CHECK(requires_grad(), "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  AutogradMeta& m = *impl()->autograd_meta();
  auto& hooks = ensure_hooks(m);
  hooks->fns.push_back(std::move(hook));
  const unsigned handle = static_cast<unsigned>(hooks->fns.size() - 1);
  if (m.grad_fn) {
    m.grad_fn->add_tensor_hooks(m.output_nr, hooks);
  } else {
    // A leaf's hooks live on its AccumulateGrad; one made later picks them up itself.
    // `acc` outlives the lock: if it held the last reference, the
    // accumulator's destructor takes the same lock.
    std::shared_ptr<LeafLink> link;
    {
      std::lock_guard<std::mutex> lock(m.mutex);
      link = m.leaf_link;
    }
    intrusive_ptr<AccumulateGrad> acc;
    if (link) {
      std::lock_guard<std::mutex> lock(link->mutex);
      acc = intrusive_ptr<AccumulateGrad>::lock_if_alive(link->accumulator);
    }
    if (acc) acc->add_tensor_hooks(0, hooks);
  }
  return handle;
}

unsigned Tensor::register_hook(std::function<void(const Tensor&)> hook) const {
  return register_hook(std::function<Tensor(const Tensor&)>([h = std::move(hook)](const Tensor& g) {
    h(g);
    return Tensor();
  }));
}

void Tensor::remove_hook(unsigned handle) const {
  AutogradMeta* m = impl()->autograd_meta();
  DG_CHECK(m && m->hooks && handle < m->hooks->fns.size(), "remove_hook: no hook with handle ", handle);
  m->hooks->fns[handle] = nullptr;
}

// ---- conversions ---------------------------------------------------------------

Tensor Tensor::to(ScalarType dtype, bool copy) const { return to(device(), dtype, copy); }

Tensor Tensor::to(Device device, bool copy) const { return to(device, dtype(), copy); }

Tensor Tensor::to(Device device, ScalarType dtype, bool copy) const {
  device = cuda::resolve(device);
  if (dtype == this->dtype() && device == this->device() && !copy) return *this;
  Tensor r = dg::empty(sizes(), TensorOptions().dtype(dtype).device(device));
  r.copy_(*this);  // copy_ records (across devices too), so the conversion is differentiable
  return r;
}

Tensor Tensor::operator[](int64_t index) const { return select(0, index); }

Tensor detail::copy_to_device(const Tensor& t, Device device) {
  device = cuda::resolve(device);
  Tensor c;
  {
    NoGradGuard no_grad;
    c = t.detach().contiguous();  // on t's own device
  }
  if (c.device().type == device.type && c.device().index == device.index) return c;
  Tensor r = make_empty(c.sizes(), c.dtype(), device);
  cuda::copy_bytes("to", r.data_ptr(), device, c.data_ptr(), c.device(), c.nbytes());
  return r;
}

// ---- views and allocation ----------------------------------------------------------

Tensor make_view(const Tensor& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset, ViewKind kind) {
  const TensorImpl* b = base.unsafeGetTensorImpl();
  DG_CHECK(b, "make_view: undefined base tensor");
  auto impl = make_intrusive<TensorImpl>(b->storage(), b->dtype(), sizes, strides, offset);
  if (kind == ViewKind::None) {
    kind = InferenceMode::is_enabled() ? ViewKind::Inference
           : GradMode::is_enabled()    ? ViewKind::Default
                                       : ViewKind::NoGrad;
  }
  // A view of a detached alias is detached too: it never had history to follow.
  if (b->view_kind() == ViewKind::Detached) kind = ViewKind::Detached;
  // Always point at the root, so chains of views never chain TensorImpls.
  impl->set_view_base(b->view_base() ? b->view_base() : base.getIntrusivePtr(), kind);
  impl->set_inference(b->is_inference());
  return Tensor(std::move(impl));
}

Tensor make_empty(IntArrayRef sizes, ScalarType dtype, Device device) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    DG_CHECK(s >= 0, "empty: negative dimension ", s, " in shape ", sizes);
    n *= s;
  }
  auto storage = make_intrusive<StorageImpl>(static_cast<size_t>(n) * element_size(dtype), device);
  auto impl = make_intrusive<TensorImpl>(std::move(storage), dtype, sizes, contiguous_strides(sizes), 0);
  if (InferenceMode::is_enabled()) impl->set_inference(true);
  return Tensor(std::move(impl));
}

// ---- printing (follows torch/_tensor_str.py) ---------------------------------------

namespace {
constexpr int kPrecision = 4;
constexpr int kLineWidth = 80;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
// PyTorch prints all-integral float tensors as "1., 2." (its int_mode); our
// tests and docs ask for fixed 4 decimals everywhere ("1.0000"). Flip this to
// get PyTorch's exact output back.
constexpr bool kIntMode = true;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, kPrecision, v);
  return buf;
}

std::string fixed_str(double v) { return fmt("%.*f", v); }
std::string sci_str(double v) { return fmt("%.*e", v); }

std::string nonfinite_str(double v) { return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"); }

// One element as text, before width padding.
struct Formatter {
  ScalarType dtype;
  bool floating = false;
  bool int_mode = kIntMode;
  bool sci_mode = false;
  size_t width = 1;

  Formatter(ScalarType t, const std::vector<double>& vals) : dtype(t), floating(is_floating_point(t)) {
    if (!floating) {
      for (double v : vals) width = std::max(width, raw(v).size());
      return;
    }
    std::vector<double> nz;
    for (double v : vals)
      if (std::isfinite(v) && v != 0) nz.push_back(v);
    if (nz.empty()) return;
    double mn = INFINITY, mx = 0;
    for (double v : nz) {
      mn = std::min(mn, std::fabs(v));
      mx = std::max(mx, std::fabs(v));
      if (v != std::ceil(v)) int_mode = false;
    }
    int_mode = int_mode && kIntMode;
    if (int_mode) {
      sci_mode = mx / mn > 1000.0 || mx > 1.0e8;
      for (double v : nz) width = std::max(width, sci_mode ? sci_str(v).size() : fmt("%.0f", v).size() + 1);
    } else {
      sci_mode = mx / mn > 1000.0 || mx > 1.0e8 || mn < 1.0e-4;
      for (double v : nz) width = std::max(width, sci_mode ? sci_str(v).size() : fixed_str(v).size());
    }
  }

  std::string raw(double v) const {
    if (dtype == kBool) return v != 0 ? "True" : "False";
    if (!floating) return std::to_string(static_cast<long long>(v));
    if (!std::isfinite(v)) return nonfinite_str(v);
    if (sci_mode) return sci_str(v);
    if (int_mode) return fmt("%.0f", v) + ".";
    return fixed_str(v);
  }
  std::string operator()(double v) const {
    std::string s = raw(v);
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
  }
};

// int64 values beyond 2^53 would lose digits as doubles: print those exactly.
struct Printer {
  const Tensor& t;
  const Formatter& f;
  bool summarize;

  double value(int64_t off) const {
    return detail::load_as_double(t.unsafeGetTensorImpl()->data() + off * int64_t(t.element_size()), t.dtype());
  }
  std::string element(int64_t off) const {
    if (t.dtype() == kInt64) {
      std::string s = std::to_string(*reinterpret_cast<const int64_t*>(t.unsafeGetTensorImpl()->data() +
                                                                        off * 8));
      return s.size() < f.width ? std::string(f.width - s.size(), ' ') + s : s;
    }
    return f(value(off));
  }

  // Indices of dim d to show (-1 stands for the "..." gap).
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  std::string str(size_t d, int64_t off, int indent) const {
    const int64_t nd = t.dim();
    if (nd == 0) return element(off);
    const int64_t n = t.sizes()[d];
    const int64_t stride = t.strides()[d];
    if (static_cast<int64_t>(d) == nd - 1) {
      const size_t elem_len = f.width + 2;
      const size_t per_line = std::max<size_t>(1, (kLineWidth - indent) / elem_len);
      std::vector<std::string> items;
      for (int64_t i : shown(n)) items.push_back(i < 0 ? std::string(" ...") : element(off + i * stride));
      std::string s = "[";
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) s += (i % per_line == 0) ? ",\n" + std::string(indent + 1, ' ') : ", ";
        s += items[i];
      }
      return s + "]";
    }
    std::string sep = "," + std::string(nd - d - 1, '\n') + std::string(indent + 1, ' ');
    std::string s = "[";
    bool first = true;
    for (int64_t i : shown(n)) {
      if (!first) s += sep;
      first = false;
      s += i < 0 ? std::string("...") : str(d + 1, off + i * stride, indent + 1);
    }
    return s + "]";
  }
};

// The values the formatter sizes its columns by (the shown ones when summarizing).
void collect(const Tensor& t, size_t d, int64_t off, bool summarize, std::vector<double>& out) {
  if (t.dim() == 0) {
    out.push_back(detail::load_as_double(t.unsafeGetTensorImpl()->data(), t.dtype()));
    return;
  }
  const int64_t n = t.sizes()[d];
  const int64_t stride = t.strides()[d];
  auto visit = [&](int64_t i) {
    if (static_cast<int64_t>(d) + 1 == t.dim())
      out.push_back(detail::load_as_double(
          t.unsafeGetTensorImpl()->data() + (off + i * stride) * int64_t(t.element_size()), t.dtype()));
    else
      collect(t, d + 1, off + i * stride, summarize, out);
  };
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) visit(i);
    for (int64_t i = n - kEdgeItems; i < n; ++i) visit(i);
  } else {
    for (int64_t i = 0; i < n; ++i) visit(i);
  }
}

std::string dtype_suffix(ScalarType t) { return std::string("dtype=torch.") + scalar_type_name(t); }
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  if (t.is_cuda()) suffixes.push_back("device='" + detail::str(t.device()) + "'");
  std::string body;
  if (t.numel() == 0) {
    if (t.dim() != 1) {
      std::string s = "size=(";
      for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.sizes()[i]);
      suffixes.push_back(s + (t.dim() == 1 ? ",)" : ")"));
    }
    if (t.dtype() != kFloat32) suffixes.push_back(dtype_suffix(t.dtype()));
    body = "[]";
  } else {
    const bool summarize = t.numel() > kThreshold;
    std::vector<double> vals;
    const Tensor host = detail::to_host(t);  // a CUDA tensor's values, waited for
    collect(host, 0, 0, summarize, vals);
    Formatter f(t.dtype(), vals);
    body = Printer{host, f, summarize}.str(0, 0, indent);
    // PyTorch leaves out the dtype of its defaults: float32, int64 and bool.
    if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) suffixes.push_back(dtype_suffix(t.dtype()));
  }
  if (t.grad_fn()) {
    suffixes.push_back("grad_fn=<" + t.grad_fn()->name() + ">");
  } else if (t.requires_grad()) {
    suffixes.push_back("requires_grad=True");
  }
  std::string s = prefix + body;
  const size_t nl = s.rfind('\n');
  size_t last_line = nl == std::string::npos ? s.size() + 2 : s.size() - nl + 1;
  for (const auto& suf : suffixes) {
    if (last_line + suf.size() + 2 > static_cast<size_t>(kLineWidth)) {
      s += ",\n" + std::string(indent, ' ') + suf;
      last_line = indent + suf.size();
    } else {
      s += ", " + suf;
      last_line += suf.size() + 2;
    }
  }
  return os << s << ')';
}

}  // namespace dg
