#pragma once
// IValue: one value of any of the kinds a custom Function keeps between
// forward and backward (ctx->saved_data["k"] = 3; ...toInt()), as LibTorch's
// c10::IValue is used there: None, Tensor, double, int, bool, string, and
// lists of ints, doubles, bools and tensors. An accessor of the wrong kind
// throws dg::Error naming both kinds.
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg {

class IValue {
 public:
  enum class Tag { None, Tensor, Double, Int, Bool, String, IntList, DoubleList, BoolList, TensorList };

  IValue() = default;
  IValue(Tensor t) : v_(std::move(t)) {}           // NOLINT: implicit, as c10's
  IValue(double d) : v_(d) {}                      // NOLINT
  IValue(float d) : v_(static_cast<double>(d)) {}  // NOLINT
  IValue(bool b) : v_(b) {}                        // NOLINT
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  IValue(I i) : v_(static_cast<int64_t>(i)) {}                             // NOLINT
  IValue(std::string s) : v_(std::move(s)) {}                              // NOLINT
  IValue(const char* s) : v_(std::string(s)) {}                            // NOLINT
  IValue(std::vector<int64_t> v) : v_(std::move(v)) {}                     // NOLINT
  IValue(IntArrayRef v) : v_(std::vector<int64_t>(v.begin(), v.end())) {}  // NOLINT
  IValue(std::vector<double> v) : v_(std::move(v)) {}                      // NOLINT
  IValue(std::vector<bool> v) : v_(std::move(v)) {}                        // NOLINT
  IValue(std::vector<Tensor> v) : v_(std::move(v)) {}                      // NOLINT
  IValue(const Scalar& s)                                                  // NOLINT
      : v_(s.is_boolean()    ? Value(s.toBool())
           : s.is_integral() ? Value(s.toLong())
                             : Value(s.toDouble())) {}

  Tag tag() const { return static_cast<Tag>(v_.index()); }
  // "None", "Tensor", "Double", "Int", ... (c10's tagKind spelling).
  std::string tagKind() const;

  bool isNone() const { return tag() == Tag::None; }
  bool isTensor() const { return tag() == Tag::Tensor; }
  bool isDouble() const { return tag() == Tag::Double; }
  bool isInt() const { return tag() == Tag::Int; }
  bool isBool() const { return tag() == Tag::Bool; }
  bool isString() const { return tag() == Tag::String; }
  bool isIntList() const { return tag() == Tag::IntList; }
  bool isDoubleList() const { return tag() == Tag::DoubleList; }
  bool isBoolList() const { return tag() == Tag::BoolList; }
  bool isTensorList() const { return tag() == Tag::TensorList; }
  bool isScalar() const { return isDouble() || isInt() || isBool(); }

  const Tensor& toTensor() const { return get<Tensor>("Tensor"); }
  double toDouble() const { return get<double>("Double"); }
  int64_t toInt() const { return get<int64_t>("Int"); }
  bool toBool() const { return get<bool>("Bool"); }
  const std::string& toStringRef() const { return get<std::string>("String"); }
  std::string toString() const { return toStringRef(); }
  std::vector<int64_t> toIntVector() const { return get<std::vector<int64_t>>("IntList"); }
  IntArrayRef toIntList() const { return get<std::vector<int64_t>>("IntList"); }
  std::vector<double> toDoubleVector() const { return get<std::vector<double>>("DoubleList"); }
  std::vector<bool> toBoolVector() const { return get<std::vector<bool>>("BoolList"); }
  std::vector<Tensor> toTensorVector() const { return get<std::vector<Tensor>>("TensorList"); }
  // A Double, Int or Bool as a Scalar.
  Scalar toScalar() const;

 private:
  using Value = std::variant<std::monostate, Tensor, double, int64_t, bool, std::string, std::vector<int64_t>,
                             std::vector<double>, std::vector<bool>, std::vector<Tensor>>;
  template <typename T>
  const T& get(const char* kind) const {
    const T* p = std::get_if<T>(&v_);
    DG_CHECK(p, "IValue::to", kind, ": expected ", kind, " but got ", tagKind());
    return *p;
  }
  Value v_;
};

inline std::string IValue::tagKind() const {
  static const char* const kNames[] = {"None",   "Tensor",  "Double",     "Int",      "Bool",
                                       "String", "IntList", "DoubleList", "BoolList", "TensorList"};
  return kNames[v_.index()];
}

inline Scalar IValue::toScalar() const {
  if (isDouble()) return Scalar(toDouble());
  if (isInt()) return Scalar(toInt());
  DG_CHECK(isBool(), "IValue::toScalar: expected Double, Int or Bool but got ", tagKind());
  return Scalar(toBool());
}

}  // namespace dg
