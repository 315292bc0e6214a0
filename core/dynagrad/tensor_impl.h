#pragma once
// TensorImpl: sizes, strides, offset, dtype, storage, and (allocated only for
// tensors that take part in autograd) the AutogradMeta.
#include <memory>

#include "dynagrad/int_array.h"
#include "dynagrad/scalar_type.h"
#include "dynagrad/storage.h"

namespace dg {

// A tensor's autograd state is autograd's (dynagrad/autograd_meta.h): the
// core only knows where it hangs. Autograd defines the deleter and
// ensure_autograd_meta(), so no core file needs autograd's headers.
struct AutogradMeta;
struct AutogradMetaDeleter {
  void operator()(AutogradMeta* m) const;
};

// How a view came to be, which decides what autograd does with it.
enum class ViewKind : uint8_t {
  None,       // not a view
  Default,    // made with grad mode on: follows its base's history
  NoGrad,     // made under NoGradGuard: never follows the base's history
  Inference,  // made under InferenceMode
  Detached,   // detach(): shares memory, never any history
};

class TensorImpl : public intrusive_target {
 public:
  TensorImpl(Storage storage, ScalarType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset);
  ~TensorImpl() override;

  IntArrayRef sizes() const { return sizes_; }
  IntArrayRef strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(sizes_.size()); }
  int64_t numel() const { return numel_; }
  ScalarType dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  int64_t storage_offset() const { return offset_; }
  bool is_contiguous() const { return contiguous_; }
  const Storage& storage() const { return storage_; }
  // Address of element 0 (storage start + offset).
  char* data() const {
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(element_size(dtype_));
  }

  uint32_t version() const { return storage_->version(); }
  void bump_version(const char* op = nullptr) { storage_->bump_version(op); }

  // Views: the tensor this one aliases (the root of a chain of views), or null.
  const intrusive_ptr<TensorImpl>& view_base() const { return base_; }
  void set_view_base(intrusive_ptr<TensorImpl> base, ViewKind kind) {
    base_ = std::move(base);
    view_kind_ = base_ ? kind : ViewKind::None;
    view_version_ = version();
  }
  ViewKind view_kind() const { return view_kind_; }
  // The storage version at which a Default view's grad_fn was last made.
  // Any in-place write to the memory since (through the base or any view)
  // makes it stale; autograd then rebuilds it from the base's history.
  uint32_t view_version() const { return view_version_; }
  void set_view_version(uint32_t v) { view_version_ = v; }
  bool view_history_stale() const { return view_kind_ == ViewKind::Default && view_version_ != version(); }

  bool is_inference() const { return inference_; }
  void set_inference(bool v) { inference_ = v; }

  AutogradMeta* autograd_meta() const { return autograd_meta_.get(); }
  AutogradMeta& ensure_autograd_meta();  // defined in autograd/autograd_meta.cpp

  // Replaces sizes/strides in place (used by resize of out= tensors and by
  // generated view bookkeeping before the tensor escapes).
  void set_sizes_and_strides(IntArrayRef sizes, IntArrayRef strides, int64_t offset);
  // Takes src's memory, dtype and geometry, keeping this tensor's identity and
  // autograd state (Tensor::set_data: Module::to converts parameters this way).
  void set_data_from(const TensorImpl& src);

 private:
  void refresh();

  Storage storage_;
  DimVector sizes_;
  DimVector strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 1;
  ScalarType dtype_;
  bool contiguous_ = true;
  bool inference_ = false;
  ViewKind view_kind_ = ViewKind::None;
  uint32_t view_version_ = 0;
  intrusive_ptr<TensorImpl> base_;
  std::unique_ptr<AutogradMeta, AutogradMetaDeleter> autograd_meta_;
};

// Row-major strides for `sizes`.
DimVector contiguous_strides(IntArrayRef sizes);

namespace detail {
// Number of TensorImpls alive in the process (leak checks in tests).
int64_t live_tensor_impls();
}  // namespace detail

}  // namespace dg
