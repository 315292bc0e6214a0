#pragma once
// Tensor: a cheap handle (one intrusive pointer) to a TensorImpl. The op
// methods (`x.mul(y)`, `x.sum()`, ...) are generated from ops.yaml into
// tensor_methods.h; everything here is the hand-written core.
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/error.h"
#include "dynagrad/int_array.h"
#include "dynagrad/intrusive_ptr.h"
#include "dynagrad/scalar.h"
#include "dynagrad/tensor_impl.h"
#include "dynagrad/tensor_options.h"

namespace dg {

class Node;
using NodePtr = intrusive_ptr<Node>;
class Tensor;
using TensorList = std::vector<Tensor>;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(intrusive_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_.get() != nullptr; }
  void reset() { impl_.reset(); }
  TensorImpl* unsafeGetTensorImpl() const { return impl_.get(); }
  const intrusive_ptr<TensorImpl>& getIntrusivePtr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  uint32_t use_count() const { return impl_.use_count(); }

  // ---- metadata ------------------------------------------------------------
  int64_t dim() const { return impl()->dim(); }
  int64_t ndimension() const { return dim(); }
  IntArrayRef sizes() const { return impl()->sizes(); }
  IntArrayRef strides() const { return impl()->strides(); }
  int64_t size(int64_t d) const;    // negative d counts from the end
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
  template <typename T> T* data_ptr() const;   // checks T against dtype()
  template <typename T> T item() const;        // one-element tensors, any dtype
  Scalar item() const;

  // ---- versions and views --------------------------------------------------
  uint32_t _version() const { return impl()->version(); }
  bool is_view() const { return impl()->view_base().get() != nullptr; }
  Tensor _base() const;  // undefined unless is_view()
  bool is_inference() const { return impl()->is_inference(); }

  // ---- autograd ------------------------------------------------------------
  bool requires_grad() const;
  const Tensor& requires_grad_(bool requires_grad = true) const;
  bool is_leaf() const;
  const Tensor& grad() const;   // undefined until a backward fills it
  Tensor& mutable_grad() const;
  const NodePtr& grad_fn() const;  // null for leaves and tensors without history
  uint32_t output_nr() const;
  void retain_grad() const;
  bool retains_grad() const;
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false, std::optional<TensorList> inputs = std::nullopt) const;
  Tensor detach() const;
  const Tensor& detach_() const;

  // A hook sees the gradient w.r.t. this tensor before it is used; a hook
  // that returns a defined tensor replaces the gradient. Returns a handle for
  // remove_hook. Hooks run in registration order.
  unsigned register_hook(std::function<Tensor(const Tensor&)> hook) const;
  unsigned register_hook(std::function<void(const Tensor&)> hook) const;
  template <typename F, typename R = std::invoke_result_t<F, const Tensor&>>
  unsigned register_hook(F&& f) const {
    return register_hook(std::function<R(const Tensor&)>(std::forward<F>(f)));
  }
  void remove_hook(unsigned handle) const;

  // ---- conversions ---------------------------------------------------------
  Tensor to(ScalarType dtype, bool copy = false) const;   // differentiable (copy_)
  // To another device (and dtype): differentiable, the gradient flows back
  // to this tensor's device. No copy when nothing changes and !copy.
  Tensor to(Device device, bool copy = false) const;
  Tensor to(Device device, ScalarType dtype, bool copy = false) const;
  Tensor cpu() const { return to(Device(kCPU)); }
  Tensor cuda(int index = -1) const { return to(Device(kCUDA, static_cast<int8_t>(index))); }
  Tensor operator[](int64_t index) const;                  // select(0, index)

  // ---- generated op methods (ops.yaml, variants: method) -------------------
#include "dynagrad/tensor_methods.h"

 private:
  TensorImpl* impl() const {
    DG_CHECK(impl_, "Tensor: operation on an undefined tensor (default-constructed or reset)");
    return impl_.get();
  }
  intrusive_ptr<TensorImpl> impl_;
};

template <typename T>
T* Tensor::data_ptr() const {
  DG_CHECK(dtype() == scalar_type_of<T>, "Tensor::data_ptr<", scalar_type_name(scalar_type_of<T>),
           ">: the tensor's dtype is ", dtype());
  return reinterpret_cast<T*>(data_ptr());
}

template <typename T>
T Tensor::item() const {
  return item().to<T>();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Makes a tensor that aliases `base`'s storage with new geometry (a view).
// Its ViewKind comes from the grad mode in force unless given.
Tensor make_view(const Tensor& base, IntArrayRef sizes, IntArrayRef strides, int64_t offset,
                 ViewKind kind = ViewKind::None);
// Allocates an uninitialised contiguous tensor (no autograd).
Tensor make_empty(IntArrayRef sizes, ScalarType dtype, Device device);

namespace detail {
// The name of t's grad_fn, or "" (for printing; defined by autograd).
std::string grad_fn_name(const Tensor& t);
// A contiguous copy of `t` (same dtype) on `device`, made without autograd:
// for host code that must read a CUDA tensor's values (item, printing,
// index checks) and for copies across devices. Copying to the host waits
// for the device.
Tensor copy_to_device(const Tensor& t, Device device);
// `t` itself when it is on the CPU, else copy_to_device(t, kCPU).
inline Tensor to_host(const Tensor& t) { return t.is_cpu() ? t : copy_to_device(t, Device(kCPU)); }
}  // namespace detail

}  // namespace dg

#include "dynagrad/ops.h"  // generated: free functions for every op
#include "dynagrad/tensor_methods_inl.h"  // generated: method bodies
