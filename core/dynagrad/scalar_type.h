#pragma once
#include <cstdint>
#include <ostream>

#include "dynagrad/error.h"
#include "dynagrad/half.h"

namespace dg {

// Order matters: it is the column order of the generated dispatch tables.
enum class ScalarType : int8_t {
  Float32 = 0,
  Float64 = 1,
  Int64 = 2,
  Bool = 3,
  Float16 = 4,
  BFloat16 = 5,
  Int32 = 6,
  Int16 = 7,
  Int8 = 8,
  UInt8 = 9
};
constexpr int kNumScalarTypes = 10;

constexpr ScalarType kFloat32 = ScalarType::Float32;
constexpr ScalarType kFloat = ScalarType::Float32;
constexpr ScalarType kFloat64 = ScalarType::Float64;
constexpr ScalarType kDouble = ScalarType::Float64;
constexpr ScalarType kInt64 = ScalarType::Int64;
constexpr ScalarType kLong = ScalarType::Int64;
constexpr ScalarType kInt32 = ScalarType::Int32;
constexpr ScalarType kInt = ScalarType::Int32;
constexpr ScalarType kInt16 = ScalarType::Int16;
constexpr ScalarType kShort = ScalarType::Int16;
constexpr ScalarType kInt8 = ScalarType::Int8;
constexpr ScalarType kChar = ScalarType::Int8;
constexpr ScalarType kUInt8 = ScalarType::UInt8;
constexpr ScalarType kByte = ScalarType::UInt8;
constexpr ScalarType kBool = ScalarType::Bool;
constexpr ScalarType kFloat16 = ScalarType::Float16;
constexpr ScalarType kHalf = ScalarType::Float16;
constexpr ScalarType kBFloat16 = ScalarType::BFloat16;

constexpr const char* scalar_type_name(ScalarType t) {
  switch (t) {
    case ScalarType::Float32: return "float32";
    case ScalarType::Float64: return "float64";
    case ScalarType::Int64: return "int64";
    case ScalarType::Bool: return "bool";
    case ScalarType::Float16: return "float16";
    case ScalarType::BFloat16: return "bfloat16";
    case ScalarType::Int32: return "int32";
    case ScalarType::Int16: return "int16";
    case ScalarType::Int8: return "int8";
    case ScalarType::UInt8: return "uint8";
  }
  return "unknown";
}

// The dtype a name of scalar_type_name stands for; throws for other names.
inline ScalarType scalar_type_from_name(const char* name) {
  for (int i = 0; i < kNumScalarTypes; ++i) {
    const auto t = static_cast<ScalarType>(i);
    const char* n = scalar_type_name(t);
    size_t k = 0;
    while (n[k] && n[k] == name[k]) ++k;
    if (n[k] == 0 && name[k] == 0) return t;
  }
  throw Error(std::string("unknown dtype name '") + name + "'");
}
inline std::ostream& operator<<(std::ostream& os, ScalarType t) { return os << scalar_type_name(t); }

constexpr size_t element_size(ScalarType t) {
  switch (t) {
    case ScalarType::Float32: return 4;
    case ScalarType::Float64: return 8;
    case ScalarType::Int64: return 8;
    case ScalarType::Bool: return 1;
    case ScalarType::Float16: return 2;
    case ScalarType::BFloat16: return 2;
    case ScalarType::Int32: return 4;
    case ScalarType::Int16: return 2;
    case ScalarType::Int8: return 1;
    case ScalarType::UInt8: return 1;
  }
  return 0;
}
constexpr bool is_floating_point(ScalarType t) {
  return t == ScalarType::Float32 || t == ScalarType::Float64 || t == ScalarType::Float16 || t == ScalarType::BFloat16;
}

// Integer dtypes, bool excluded (is_integral(t, true) includes it), as c10's.
constexpr bool is_integral(ScalarType t, bool include_bool = false) {
  return t == ScalarType::Int64 || t == ScalarType::Int32 || t == ScalarType::Int16 || t == ScalarType::Int8 ||
         t == ScalarType::UInt8 || (include_bool && t == ScalarType::Bool);
}
// The integer dtypes narrower than int64: ops without a kernel of their own
// for them run on their int64 kernel (see ops/dispatch_support.h, widen).
constexpr bool is_narrow_integral(ScalarType t) { return is_integral(t) && t != ScalarType::Int64; }

// Type promotion as PyTorch does it for our dtypes: bool < uint8, int8 <
// int16 < int32 < int64 < float16, bfloat16 < float32 < float64; uint8 with
// int8 is int16 and float16 with bfloat16 is float32 (neither holds the
// other's values).
constexpr ScalarType promote_types(ScalarType a, ScalarType b) {
  auto rank = [](ScalarType t) {
    switch (t) {
      case ScalarType::Bool: return 0;
      case ScalarType::UInt8: return 1;
      case ScalarType::Int8: return 1;
      case ScalarType::Int16: return 2;
      case ScalarType::Int32: return 3;
      case ScalarType::Int64: return 4;
      case ScalarType::Float16: return 5;
      case ScalarType::BFloat16: return 5;
      case ScalarType::Float32: return 6;
      case ScalarType::Float64: return 7;
    }
    return 0;
  };
  if (a != b && rank(a) == 1 && rank(b) == 1) return ScalarType::Int16;
  if (a != b && rank(a) == 5 && rank(b) == 5) return ScalarType::Float32;
  return rank(a) >= rank(b) ? a : b;
}

template <typename T>
struct CppTypeToScalarType;
// One specialisation per dtype; the macro keeps them one line each.
#define DG_CPP_TYPE_TO_SCALAR_TYPE(T, v)   \
  template <>                              \
  struct CppTypeToScalarType<T> {          \
    static constexpr ScalarType value = v; \
  };
DG_CPP_TYPE_TO_SCALAR_TYPE(float, kFloat32)
DG_CPP_TYPE_TO_SCALAR_TYPE(double, kFloat64)
DG_CPP_TYPE_TO_SCALAR_TYPE(int64_t, kInt64)
DG_CPP_TYPE_TO_SCALAR_TYPE(bool, kBool)
DG_CPP_TYPE_TO_SCALAR_TYPE(Half, kFloat16)
DG_CPP_TYPE_TO_SCALAR_TYPE(BFloat16, kBFloat16)
DG_CPP_TYPE_TO_SCALAR_TYPE(int32_t, kInt32)
DG_CPP_TYPE_TO_SCALAR_TYPE(int16_t, kInt16)
DG_CPP_TYPE_TO_SCALAR_TYPE(int8_t, kInt8)
DG_CPP_TYPE_TO_SCALAR_TYPE(uint8_t, kUInt8)
#undef DG_CPP_TYPE_TO_SCALAR_TYPE
template <typename T>
constexpr ScalarType scalar_type_of = CppTypeToScalarType<T>::value;

// Calls f.template operator()<T>() with the C++ type of `t` (cold paths: printing, casts).
template <typename F>
decltype(auto) visit_dtype(ScalarType t, F&& f) {
  switch (t) {
    case ScalarType::Float32: return f.template operator()<float>();
    case ScalarType::Float64: return f.template operator()<double>();
    case ScalarType::Int64: return f.template operator()<int64_t>();
    case ScalarType::Bool: return f.template operator()<bool>();
    case ScalarType::Float16: return f.template operator()<Half>();
    case ScalarType::BFloat16: return f.template operator()<BFloat16>();
    case ScalarType::Int32: return f.template operator()<int32_t>();
    case ScalarType::Int16: return f.template operator()<int16_t>();
    case ScalarType::Int8: return f.template operator()<int8_t>();
    case ScalarType::UInt8: return f.template operator()<uint8_t>();
  }
  throw Error("visit_dtype: unknown dtype");
}

}  // namespace dg
