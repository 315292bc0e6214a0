#pragma once
// LibTorch's tensor indexing, `x.index({Slice(1, None), None, Ellipsis, 0,
// mask})` and `x.index_put_({...}, value)`, with the names of
// torch::indexing: Python's `x[1:, None, ..., 0, mask]` written in C++.
// Integers select (and drop a dim), Slices and None/true keep views,
// Ellipsis stands for the dims not named; int64 and bool tensors index
// "advanced" (a copy): their dims broadcast together and land where the
// first tensor index was when the tensor indices are adjacent, in front
// otherwise. Included by dynagrad/tensor.h; the methods are defined in
// ops/indexing.cpp.
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>

namespace dg {
class Tensor;

namespace indexing {

constexpr int64_t INDEX_MAX = std::numeric_limits<int64_t>::max();
constexpr int64_t INDEX_MIN = std::numeric_limits<int64_t>::min();

struct EllipsisIndexType {
  EllipsisIndexType() = default;
};
inline constexpr EllipsisIndexType Ellipsis{};
// `None`: a new dim of size 1 in an index; an absent bound in a Slice.
inline constexpr std::nullopt_t None = std::nullopt;

// start:stop:step; absent bounds cover the whole dim; step > 0.
class Slice {
 public:
  Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
        std::optional<int64_t> step = std::nullopt)
      : start_(start.value_or(0)), stop_(stop.value_or(INDEX_MAX)), step_(step.value_or(1)) {}
  int64_t start() const { return start_; }
  int64_t stop() const { return stop_; }
  int64_t step() const { return step_; }

 private:
  int64_t start_, stop_, step_;
};
std::ostream& operator<<(std::ostream& os, const Slice& s);

enum class TensorIndexType { None, Ellipsis, Integer, Boolean, Slice, Tensor };

// One entry of an index: built implicitly from None, Ellipsis, "...", an
// integer, a bool, a Slice or a Tensor.
class TensorIndex {
 public:
  TensorIndex(std::nullopt_t) : type_(TensorIndexType::None) {}             // NOLINT
  TensorIndex(EllipsisIndexType) : type_(TensorIndexType::Ellipsis) {}      // NOLINT
  TensorIndex(const char* s);                                               // NOLINT: "..." only
  TensorIndex(int64_t i) : type_(TensorIndexType::Integer), integer_(i) {}  // NOLINT
  TensorIndex(int i) : TensorIndex(static_cast<int64_t>(i)) {}              // NOLINT
  TensorIndex(bool b) : type_(TensorIndexType::Boolean), boolean_(b) {}     // NOLINT
  TensorIndex(Slice s) : type_(TensorIndexType::Slice), slice_(s) {}        // NOLINT
  TensorIndex(const Tensor& t);                                             // NOLINT
  TensorIndex(const TensorIndex& other);
  TensorIndex& operator=(const TensorIndex& other);
  ~TensorIndex();

  TensorIndexType type() const { return type_; }
  bool is_none() const { return type_ == TensorIndexType::None; }
  bool is_ellipsis() const { return type_ == TensorIndexType::Ellipsis; }
  bool is_integer() const { return type_ == TensorIndexType::Integer; }
  bool is_boolean() const { return type_ == TensorIndexType::Boolean; }
  bool is_slice() const { return type_ == TensorIndexType::Slice; }
  bool is_tensor() const { return type_ == TensorIndexType::Tensor; }
  int64_t integer() const { return integer_; }
  bool boolean() const { return boolean_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const;

 private:
  TensorIndexType type_;
  int64_t integer_ = 0;
  bool boolean_ = false;
  Slice slice_;
  Tensor* tensor_ = nullptr;  // owned; Tensor is incomplete here
};
std::ostream& operator<<(std::ostream& os, const TensorIndex& i);

}  // namespace indexing
}  // namespace dg
