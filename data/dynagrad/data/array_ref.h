#pragma once
// dg::ArrayRef<T>: a non-owning view of contiguous T values, constructible
// from a vector, a braced list, one value or a pointer and a length, as
// c10::ArrayRef. The data API takes it where LibTorch does (a batch of
// indices, `ArrayRef<size_t>`; Normalize's per-channel `ArrayRef<double>`),
// so a dataset ported from LibTorch overrides `get_batch(dg::ArrayRef<size_t>)`
// with the same signature. (Sizes and strides keep their own IntArrayRef.)
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace dg {

template <typename T>
class ArrayRef {
 public:
  using value_type = T;
  using iterator = const T*;
  using const_iterator = const T*;

  constexpr ArrayRef() = default;
  constexpr ArrayRef(const T* data, size_t size) : data_(data), size_(size) {}
  ArrayRef(const T& single) : data_(&single), size_(1) {}                  // NOLINT: one value
  ArrayRef(const std::vector<T>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
  // A braced list lives until the end of the full expression, as long as an
  // argument needs.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
  constexpr ArrayRef(std::initializer_list<T> il) : data_(il.begin()), size_(il.size()) {}  // NOLINT
#pragma GCC diagnostic pop

  constexpr const T* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr const T* begin() const { return data_; }
  constexpr const T* end() const { return data_ + size_; }
  constexpr const T& operator[](size_t i) const { return data_[i]; }
  const T& front() const { return data_[0]; }
  const T& back() const { return data_[size_ - 1]; }
  std::vector<T> vec() const { return std::vector<T>(begin(), end()); }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace dg
