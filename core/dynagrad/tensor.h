#pragma once
// Tensor: the tensor users hold. TensorBase (metadata and memory) plus the
// op API — methods generated from ops.yaml into tensor_methods.h and free
// functions in ops.h — and the autograd methods (defined by autograd/). This
// is the one place the core includes generated code.
#if defined(DG_KERNEL_BUILD)
#error \
    "dynagrad/tensor.h is the recording op API, which kernels must not use: include dynagrad/tensor_base.h and take const TensorBase& (kernels compute into allocated outputs and record nothing)"
#endif
#include <functional>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dynagrad/generator.h"
#include "dynagrad/indexing.h"
#include "dynagrad/reduction.h"
#include "dynagrad/removable_handle.h"
#include "dynagrad/tensor_base.h"

namespace dg {

class Node;
using NodePtr = intrusive_ptr<Node>;
class Tensor;
using TensorList = std::vector<Tensor>;

// Tensor::backward's `inputs`: absent (every leaf), or a list, written as a
// braced list (`{w, b}`), a std::vector or a std::optional of one, as
// LibTorch's optional<TensorList> accepts (std::optional<std::vector>
// cannot take `{w}`). `{}` means absent, as in LibTorch.
class OptionalTensorList {
 public:
  OptionalTensorList() = default;
  OptionalTensorList(std::nullopt_t) {}                                  // NOLINT
  OptionalTensorList(std::initializer_list<Tensor> l);                   // NOLINT
  OptionalTensorList(TensorList v) : v_(std::move(v)) {}                 // NOLINT
  OptionalTensorList(std::optional<TensorList> v) : v_(std::move(v)) {}  // NOLINT
  bool has_value() const { return v_.has_value(); }
  explicit operator bool() const { return v_.has_value(); }
  const TensorList& operator*() const { return *v_; }
  const TensorList* operator->() const { return &*v_; }

 private:
  std::optional<TensorList> v_;
};

class Tensor : public TensorBase {
 public:
  Tensor() = default;
  explicit Tensor(intrusive_ptr<TensorImpl> impl) : TensorBase(std::move(impl)) {}
  // Implicit: what the core and the kernels make (make_empty, make_view)
  // becomes a full Tensor in the layers above them.
  Tensor(const TensorBase& t) : TensorBase(t) {}        // NOLINT
  Tensor(TensorBase&& t) : TensorBase(std::move(t)) {}  // NOLINT

  Tensor _base() const;  // undefined unless is_view()
  // A one-element tensor's value as a bool (`if (t.is_nonzero())`).
  bool is_nonzero() const;

  // ---- autograd ------------------------------------------------------------
  bool requires_grad() const;
  const Tensor& requires_grad_(bool requires_grad = true) const;
  // LibTorch's older spelling of requires_grad_.
  const Tensor& set_requires_grad(bool requires_grad) const { return requires_grad_(requires_grad); }
  bool is_leaf() const;
  const Tensor& grad() const;  // undefined until a backward fills it
  Tensor& mutable_grad() const;
  const NodePtr& grad_fn() const;  // null for leaves and tensors without history
  uint32_t output_nr() const;
  void retain_grad() const;
  bool retains_grad() const;
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                OptionalTensorList inputs = std::nullopt) const;
  Tensor detach() const;
  const Tensor& detach_() const;
  // LibTorch's set_data: this tensor (the same object, its grad, hooks and
  // requires_grad kept) now holds new_data's values, dtype, device and shape.
  // Not recorded; for leaves and tensors without history (Module::to).
  void set_data(const Tensor& new_data) const;
  Tensor data() const { return detach(); }

  // A hook sees the gradient w.r.t. this tensor before it is used; a hook
  // that returns a defined tensor replaces the gradient. Returns a handle for
  // remove_hook. Hooks run in registration order.
  unsigned register_hook(std::function<Tensor(const Tensor&)> hook) const;
  unsigned register_hook(std::function<void(const Tensor&)> hook) const;
  template <typename F, typename R = std::invoke_result_t<F, const Tensor&>>
  unsigned register_hook(F&& f) const {
    return register_hook(std::function<R(const Tensor&)>(std::forward<F>(f)));
  }
  // Removes a hook registered on this tensor; removing one twice is an error.
  void remove_hook(unsigned handle) const;
  // A hook run after a backward has accumulated into this leaf's .grad; it
  // sees the leaf (PyTorch's register_post_accumulate_grad_hook). Leaves only.
  RemovableHandle register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  // Forward mode, LibTorch's low-level spellings (dynagrad/forward_ad.h has
  // make_dual and unpack_dual): the tangent at `level` (undefined when none),
  // a view of this tensor without it, and setting it (is_inplace_op: written
  // into the current tangent, which views of the same base share).
  Tensor _fw_grad(uint64_t level) const;
  Tensor _fw_primal(int64_t level) const;
  void _set_fw_grad(const Tensor& new_grad, uint64_t level, bool is_inplace_op) const;

  // ---- conversions ---------------------------------------------------------
  // LibTorch's argument order: non_blocking (accepted; copies here are
  // synchronous), then copy (a new tensor even when nothing changes).
  Tensor to(ScalarType dtype, bool non_blocking = false, bool copy = false) const;  // differentiable (copy_)
  // To another device (and dtype): differentiable, the gradient flows back
  // to this tensor's device. No copy when nothing changes and !copy.
  Tensor to(Device device, bool non_blocking = false, bool copy = false) const;
  Tensor to(Device device, ScalarType dtype, bool non_blocking = false, bool copy = false) const;
  // other's device and dtype.
  Tensor to(const Tensor& other, bool non_blocking = false, bool copy = false) const;
  Tensor cpu() const { return to(Device(kCPU)); }
  Tensor cuda(int index = -1) const { return to(Device(kCUDA, static_cast<int8_t>(index))); }
  Tensor operator[](int64_t index) const;  // select(0, index)

  // ---- indexing (dynagrad/indexing.h: x.index({Slice(1, None), 0, mask})) --
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  // Writes rhs (broadcast to the indexed shape) or a number into the indexed
  // elements, in place; accumulate adds instead (repeated indices add up).
  const Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& rhs,
                           bool accumulate = false) const;
  const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& rhs,
                           bool accumulate = false) const;
  const Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Scalar& v) const;
  const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Scalar& v) const;

  // ---- generated op methods (ops.yaml, variants: method) -------------------
#include "dynagrad/tensor_methods.h"
};

inline OptionalTensorList::OptionalTensorList(std::initializer_list<Tensor> l) : v_(TensorList(l)) {}

std::ostream& operator<<(std::ostream& os, const Tensor& t);

namespace detail {
// The name of t's grad_fn, or "" (for printing; defined by autograd).
std::string grad_fn_name(const Tensor& t);
}  // namespace detail

}  // namespace dg

#include "dynagrad/ops.h"                 // generated: free functions for every op
#include "dynagrad/tensor_methods_inl.h"  // generated: method bodies
