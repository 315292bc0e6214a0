#pragma once
// TensorBase: a cheap handle (one intrusive pointer) to a TensorImpl, with
// the tensor's metadata and memory and nothing else. It is the tensor type of
// the kernels: without the op API (dynagrad/tensor.h's Tensor adds it, and
// autograd's methods), a kernel cannot record history, not even by mistake.
// The split is ATen's TensorBase/Tensor.
#include <cstdint>
#include <vector>

#include "dynagrad/accessor.h"
#include "dynagrad/error.h"
#include "dynagrad/int_array.h"
#include "dynagrad/intrusive_ptr.h"
#include "dynagrad/scalar.h"
#include "dynagrad/tensor_impl.h"
#include "dynagrad/tensor_options.h"

namespace dg {

class TensorBase {
 public:
  TensorBase() = default;
  explicit TensorBase(intrusive_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_.get() != nullptr; }
  void reset() { impl_.reset(); }
  TensorImpl* unsafeGetTensorImpl() const { return impl_.get(); }
  const intrusive_ptr<TensorImpl>& getIntrusivePtr() const { return impl_; }
  bool is_same(const TensorBase& o) const { return impl_ == o.impl_; }
  uint32_t use_count() const { return impl_.use_count(); }

  // ---- metadata ------------------------------------------------------------
  int64_t dim() const { return impl()->dim(); }
  int64_t ndimension() const { return dim(); }
  IntArrayRef sizes() const { return impl()->sizes(); }
  IntArrayRef strides() const { return impl()->strides(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return impl()->numel(); }
  ScalarType scalar_type() const { return impl()->dtype(); }
  ScalarType dtype() const { return impl()->dtype(); }
  Device device() const { return impl()->device(); }
  bool is_cpu() const { return device().is_cpu(); }
  bool is_cuda() const { return device().is_cuda(); }
  TensorOptions options() const { return TensorOptions().dtype(dtype()).device(device()); }
  bool is_contiguous() const { return impl()->is_contiguous(); }
  bool is_floating_point() const { return dg::is_floating_point(dtype()); }
  int64_t storage_offset() const { return impl()->storage_offset(); }
  size_t element_size() const { return dg::element_size(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }

  void* data_ptr() const { return impl()->data(); }
  template <typename T>
  T* data_ptr() const;  // checks T against dtype()
  // Element access by a[i][j]... over the sizes and strides (CPU tensors of
  // element type T and N dims; the tensor must outlive the accessor, so a
  // temporary has none, as in LibTorch: name the tensor first).
  template <typename T, int64_t N>
  TensorAccessor<T, N> accessor() const&;
  template <typename T, int64_t N>
  TensorAccessor<T, N> accessor() && = delete;
  template <typename T>
  T item() const;  // one-element tensors, any dtype
  Scalar item() const;

  // ---- versions and views --------------------------------------------------
  uint32_t _version() const { return impl()->version(); }
  bool is_view() const { return impl()->view_base().get() != nullptr; }
  bool is_inference() const { return impl()->is_inference(); }

 protected:
  TensorImpl* impl() const {
    DG_CHECK(impl_, "Tensor: operation on an undefined tensor (default-constructed or reset)");
    return impl_.get();
  }
  intrusive_ptr<TensorImpl> impl_;
};

template <typename T>
T* TensorBase::data_ptr() const {
  DG_CHECK(dtype() == scalar_type_of<T>, "Tensor::data_ptr<", scalar_type_name(scalar_type_of<T>),
           ">: expected scalar type ", scalar_type_name(scalar_type_of<T>), " but found ", dtype());
  return reinterpret_cast<T*>(data_ptr());
}

template <typename T, int64_t N>
TensorAccessor<T, N> TensorBase::accessor() const& {
  static_assert(N > 0, "accessor is used for indexing tensor, for scalars use *data_ptr<T>()");
  DG_CHECK(dim() == N, "Tensor::accessor: TensorAccessor expected ", N, " dims but tensor has ", dim());
  DG_CHECK(is_cpu(), "Tensor::accessor: expected a CPU tensor, got one on ", device());
  return TensorAccessor<T, N>(data_ptr<T>(), sizes().data(), strides().data());
}

template <typename T>
T TensorBase::item() const {
  return item().to<T>();
}

// Makes a tensor that aliases `base`'s storage with new geometry (a view).
// Its ViewKind comes from the grad mode in force unless given.
TensorBase make_view(const TensorBase& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset,
                     ViewKind kind = ViewKind::None);
// Allocates an uninitialised contiguous tensor (no autograd).
TensorBase make_empty(IntArrayRef sizes, ScalarType dtype, Device device);

namespace detail {
// A contiguous copy of `t` (same dtype) on `device`, made without recording
// anything: for host code that must read a CUDA tensor's values (item,
// printing, index checks) and for copies across devices. Copying to the host
// waits for the device.
TensorBase copy_to_device(const TensorBase& t, Device device);
// `t` itself when it is on the CPU, else copy_to_device(t, kCPU).
inline TensorBase to_host(const TensorBase& t) { return t.is_cpu() ? t : copy_to_device(t, Device(kCPU)); }
}  // namespace detail

}  // namespace dg
