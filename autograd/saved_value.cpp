#include "dynagrad/saved_value.h"

#include <sstream>

#include "dynagrad/saved_variable.h"

namespace dg {

SavedValue SavedValue::unpacked(const SavedVariable& v, const Node* node) {
  if (!v.defined()) return SavedValue();
  return SavedValue(v.unpack(node));
}

const char* SavedValue::type_name() const {
  static constexpr const char* kNames[] = {"None",   "Tensor", "TensorList", "int",    "double",    "bool",
                                           "Scalar", "int[]",  "string",     "Device", "ScalarType"};
  return kNames[v_.index()];
}

void SavedValue::fail_kind(const char* fn) const {
  throw Error(detail::str("SavedValue::", fn, ": the value is a ", type_name()));
}

namespace {
void put_tensor(std::ostream& os, const Tensor& t) {
  if (!t.defined()) {
    os << "undefined";
    return;
  }
  os << t.dtype() << t.sizes();
}
}  // namespace

std::string SavedValue::str() const {
  std::ostringstream os;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          os << "None";
        } else if constexpr (std::is_same_v<T, Tensor>) {
          put_tensor(os, v);
        } else if constexpr (std::is_same_v<T, std::vector<Tensor>>) {
          os << "[";
          for (size_t i = 0; i < v.size(); ++i) {
            if (i) os << ", ";
            put_tensor(os, v[i]);
          }
          os << "]";
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          os << IntArrayRef(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          os << (v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          os << '"' << v << '"';
        } else {
          os << v;
        }
      },
      v_);
  return os.str();
}

}  // namespace dg
