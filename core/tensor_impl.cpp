#include "dynagrad/tensor_impl.h"

#include <atomic>

namespace dg {

namespace {
std::atomic<int64_t> g_live_impls{0};
}

int64_t detail::live_tensor_impls() { return g_live_impls.load(std::memory_order_relaxed); }

TensorImpl::TensorImpl(Storage storage, ScalarType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset)
    : storage_(std::move(storage)), sizes_(sizes), strides_(strides), offset_(offset), dtype_(dtype) {
  DG_CHECK(sizes.size() == strides.size(), "TensorImpl: ", sizes.size(), " sizes but ", strides.size(), " strides");
  refresh();
  g_live_impls.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::~TensorImpl() { g_live_impls.fetch_sub(1, std::memory_order_relaxed); }

void TensorImpl::set_sizes_and_strides(IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  DG_CHECK(sizes.size() == strides.size(), "TensorImpl: ", sizes.size(), " sizes but ", strides.size(), " strides");
  sizes_ = sizes;
  strides_ = strides;
  offset_ = offset;
  refresh();
}

void TensorImpl::set_data_from(const TensorImpl& src) {
  storage_ = src.storage_;
  dtype_ = src.dtype_;
  sizes_ = src.sizes_;
  strides_ = src.strides_;
  offset_ = src.offset_;
  refresh();
}

void TensorImpl::refresh() {
  int64_t n = 1;
  for (int64_t s : sizes_) n *= s;
  numel_ = n;
  // Row-major contiguity; a size-1 dim's stride never matters, nor do any
  // strides of an empty tensor.
  bool contiguous = true;
  if (n != 0) {
    int64_t expected = 1;
    for (size_t d = sizes_.size(); d-- > 0;) {
      if (sizes_[d] == 1) continue;
      if (strides_[d] != expected) {
        contiguous = false;
        break;
      }
      expected *= sizes_[d];
    }
  }
  contiguous_ = contiguous;
}

DimVector contiguous_strides(IntArrayRef sizes) {
  DimVector strides(sizes.size(), 1);
  int64_t acc = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    strides[d] = acc;
    acc *= sizes[d] > 1 ? sizes[d] : 1;
  }
  return strides;
}

}  // namespace dg
