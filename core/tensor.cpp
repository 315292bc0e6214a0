// The tensor core: metadata queries, item(), conversions between dtypes and
// devices, views and allocation. Tensor's autograd methods are autograd's
// (autograd/autograd_meta.cpp); printing is in printing.cpp.
#include "dynagrad/tensor.h"

#include <type_traits>

#include "dynagrad/cuda.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg {

namespace {
int64_t wrap(const char* what, int64_t d, int64_t ndim) {
  const int64_t lo = ndim == 0 ? -1 : -ndim;
  const int64_t hi = ndim == 0 ? 0 : ndim - 1;
  DG_CHECK(d >= lo && d <= hi, what, ": dimension ", d, " is out of range for a tensor of ", ndim,
           " dimensions (expected a value in [", lo, ", ", hi, "])");
  return d < 0 ? d + (ndim == 0 ? 1 : ndim) : d;
}
}  // namespace

int64_t TensorBase::size(int64_t d) const {
  const int64_t nd = dim();
  DG_CHECK(nd > 0, "size: dimension ", d, " requested of a 0-dim tensor, which has no dimensions");
  return sizes()[wrap("size", d, nd)];
}

int64_t TensorBase::stride(int64_t d) const {
  const int64_t nd = dim();
  DG_CHECK(nd > 0, "stride: dimension ", d, " requested of a 0-dim tensor, which has no dimensions");
  return strides()[wrap("stride", d, nd)];
}

Scalar TensorBase::item() const {
  DG_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", sizes());
  if (is_cuda()) return detail::to_host(*this).item();
  const void* p = data_ptr();
  return visit_dtype(dtype(), [p]<typename T>() {
    const T v = *static_cast<const T*>(p);
    if constexpr (std::is_same_v<T, bool>) return Scalar(v);
    else if constexpr (std::is_integral_v<T>) return Scalar(static_cast<int64_t>(v));
    else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      return Scalar(static_cast<double>(static_cast<float>(v)));
    else return Scalar(static_cast<double>(v));
  });
}

Tensor Tensor::_base() const {
  const auto& base = impl()->view_base();
  return base ? Tensor(base) : Tensor();
}

// ---- conversions ---------------------------------------------------------------

bool Tensor::is_nonzero() const {
  DG_CHECK(numel() != 0, "is_nonzero: Boolean value of Tensor with no values is ambiguous");
  DG_CHECK(numel() == 1, "is_nonzero: Boolean value of Tensor with more than one value is ambiguous (it has ", numel(),
           " elements)");
  return item().toDouble() != 0.0;
}

Tensor Tensor::to(ScalarType dtype, bool non_blocking, bool copy) const {
  return to(device(), dtype, non_blocking, copy);
}

Tensor Tensor::to(Device device, bool non_blocking, bool copy) const { return to(device, dtype(), non_blocking, copy); }

Tensor Tensor::to(const Tensor& other, bool non_blocking, bool copy) const {
  return to(other.device(), other.dtype(), non_blocking, copy);
}

Tensor Tensor::to(Device device, ScalarType dtype, bool /*non_blocking*/, bool copy) const {
  device = cuda::resolve(device);
  if (dtype == this->dtype() && device == this->device() && !copy) return *this;
  Tensor r = dg::empty(sizes(), TensorOptions().dtype(dtype).device(device));
  r.copy_(*this);  // copy_ records (across devices too), so the conversion is differentiable
  return r;
}

Tensor Tensor::operator[](int64_t index) const { return select(0, index); }

TensorBase detail::copy_to_device(const TensorBase& t, Device device) {
  device = cuda::resolve(device);
  Tensor c;
  {
    NoGradGuard no_grad;                  // a copy of the values, never part of a graph
    c = Tensor(t).detach().contiguous();  // on t's own device
  }
  if (c.device().type == device.type && c.device().index == device.index) return c;
  TensorBase r = make_empty(c.sizes(), c.dtype(), device);
  cuda::copy_bytes("to", r.data_ptr(), device, c.data_ptr(), c.device(), c.nbytes());
  return r;
}

// ---- views and allocation ----------------------------------------------------------

TensorBase make_view(const TensorBase& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset, ViewKind kind) {
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
  return TensorBase(std::move(impl));
}

TensorBase make_empty(IntArrayRef sizes, ScalarType dtype, Device device) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    DG_CHECK(s >= 0, "empty: negative dimension ", s, " in shape ", sizes);
    n *= s;
  }
  auto storage = make_intrusive<StorageImpl>(static_cast<size_t>(n) * element_size(dtype), device);
  auto impl = make_intrusive<TensorImpl>(std::move(storage), dtype, sizes, contiguous_strides(sizes), 0);
  if (InferenceMode::is_enabled()) impl->set_inference(true);
  return TensorBase(std::move(impl));
}

}  // namespace dg
