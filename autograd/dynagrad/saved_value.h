#pragma once
// SavedValue: one value a backward node saved for its formulas, as user code
// reads it back (PyTorch's `grad_fn._saved_<name>`): a tensor (unpacked, so
// version checks apply), a list of tensors, a number, an int list, a Scalar,
// a string, a device or nothing (an optional that was empty). Node::
// saved_values() lists them by the names derivatives.yaml gives them
// ("self", "other", "result", "self_sizes", "dim", ...).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg {

class Node;
class SavedVariable;

class SavedValue {
 public:
  SavedValue() = default;  // None
  SavedValue(Tensor t) : v_(std::move(t)) {}
  SavedValue(std::vector<Tensor> ts) : v_(std::move(ts)) {}
  SavedValue(int64_t i) : v_(i) {}
  SavedValue(double d) : v_(d) {}
  SavedValue(bool b) : v_(b) {}
  SavedValue(const Scalar& s) : v_(s) {}
  SavedValue(std::vector<int64_t> l) : v_(std::move(l)) {}
  SavedValue(std::string s) : v_(std::move(s)) {}
  SavedValue(Device d) : v_(d) {}
  SavedValue(ScalarType t) : v_(t) {}
  template <typename T>
  SavedValue(const std::optional<T>& o) {
    if (o) *this = SavedValue(*o);
  }

  // A saved tensor unpacked for `node` (None if nothing was saved). Throws
  // what SavedVariable::unpack throws: after the node's saved tensors were
  // freed, or when an in-place op changed the tensor since it was saved.
  static SavedValue unpacked(const SavedVariable& v, const Node* node);

  bool isNone() const { return v_.index() == 0; }
  bool isTensor() const { return std::holds_alternative<Tensor>(v_); }
  bool isTensorList() const { return std::holds_alternative<std::vector<Tensor>>(v_); }
  bool isInt() const { return std::holds_alternative<int64_t>(v_); }
  bool isDouble() const { return std::holds_alternative<double>(v_); }
  bool isBool() const { return std::holds_alternative<bool>(v_); }
  bool isScalar() const { return std::holds_alternative<Scalar>(v_); }
  bool isIntList() const { return std::holds_alternative<std::vector<int64_t>>(v_); }
  bool isString() const { return std::holds_alternative<std::string>(v_); }
  bool isDevice() const { return std::holds_alternative<Device>(v_); }
  bool isScalarType() const { return std::holds_alternative<ScalarType>(v_); }

  // Each throws dg::Error naming the kind held when it is another kind.
  const Tensor& toTensor() const { return get<Tensor>("toTensor"); }
  const std::vector<Tensor>& toTensorList() const { return get<std::vector<Tensor>>("toTensorList"); }
  int64_t toInt() const { return get<int64_t>("toInt"); }
  double toDouble() const { return get<double>("toDouble"); }
  bool toBool() const { return get<bool>("toBool"); }
  const Scalar& toScalar() const { return get<Scalar>("toScalar"); }
  const std::vector<int64_t>& toIntList() const { return get<std::vector<int64_t>>("toIntList"); }
  const std::string& toStringRef() const { return get<std::string>("toStringRef"); }
  Device toDevice() const { return get<Device>("toDevice"); }
  ScalarType toScalarType() const { return get<ScalarType>("toScalarType"); }

  // "None", "Tensor", "int", ...: what toX() errors and graph export print.
  const char* type_name() const;
  // One line for people: a tensor as its dtype and shape ("float32[2, 3]"),
  // numbers and lists by value.
  std::string str() const;

 private:
  template <typename T>
  const T& get(const char* fn) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    fail_kind(fn);
  }
  [[noreturn]] void fail_kind(const char* fn) const;

  std::variant<std::monostate, Tensor, std::vector<Tensor>, int64_t, double, bool, Scalar, std::vector<int64_t>,
               std::string, Device, ScalarType>
      v_;
};

// What Node::saved_values() returns: (name, value) in the order saved.
using saved_value_list = std::vector<std::pair<std::string, SavedValue>>;

}  // namespace dg
