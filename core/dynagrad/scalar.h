#pragma once
// A number passed to an op (`x * 2`, `add(x, y, /*alpha=*/0.5)`): a double, an
// int64 or a bool, remembering which, so type promotion can follow PyTorch.
#include <cstdint>
#include <ostream>
#include <type_traits>

#include "dynagrad/scalar_type.h"

namespace dg {

class Scalar {
 public:
  Scalar() : Scalar(int64_t(0)) {}
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : tag_(Tag::Double) {
    v_.d = static_cast<double>(v);
  }  // NOLINT
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : tag_(Tag::Int) {
    v_.i = static_cast<int64_t>(v);
  }                                               // NOLINT
  Scalar(bool v) : tag_(Tag::Bool) { v_.i = v; }  // NOLINT

  bool is_floating_point() const { return tag_ == Tag::Double; }
  bool is_integral() const { return tag_ == Tag::Int; }
  bool is_boolean() const { return tag_ == Tag::Bool; }
  // The dtype PyTorch gives a tensor made from this number.
  ScalarType type() const { return tag_ == Tag::Double ? kFloat64 : tag_ == Tag::Int ? kInt64 : kBool; }

  template <typename T>
  T to() const {
    return tag_ == Tag::Double ? static_cast<T>(v_.d) : static_cast<T>(v_.i);
  }
  double toDouble() const { return to<double>(); }
  int64_t toLong() const { return to<int64_t>(); }
  float toFloat() const { return to<float>(); }
  int toInt() const { return to<int>(); }
  bool toBool() const { return to<bool>(); }

  Scalar operator-() const { return is_floating_point() ? Scalar(-v_.d) : Scalar(-v_.i); }
  friend bool operator==(const Scalar& a, const Scalar& b) { return a.toDouble() == b.toDouble(); }

 private:
  enum class Tag : int8_t { Double, Int, Bool } tag_;
  union {
    double d;
    int64_t i;
  } v_;
};

inline std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_floating_point()) return os << s.toDouble();
  if (s.is_boolean()) return os << (s.toBool() ? "True" : "False");
  return os << s.toLong();
}

}  // namespace dg
