#pragma once
#include <cstdint>
#include <ostream>

#include "dynagrad/error.h"
#include "dynagrad/half.h"

namespace dg {

// Order matters: it is the column order of the generated dispatch tables.
enum class ScalarType : int8_t { Float32 = 0, Float64 = 1, Int64 = 2, Bool = 3, Float16 = 4, BFloat16 = 5 };
constexpr int kNumScalarTypes = 6;

constexpr ScalarType kFloat32 = ScalarType::Float32;
constexpr ScalarType kFloat = ScalarType::Float32;
constexpr ScalarType kFloat64 = ScalarType::Float64;
constexpr ScalarType kDouble = ScalarType::Float64;
constexpr ScalarType kInt64 = ScalarType::Int64;
constexpr ScalarType kLong = ScalarType::Int64;
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
  }
  return 0;
}
constexpr bool is_floating_point(ScalarType t) {
  return t == ScalarType::Float32 || t == ScalarType::Float64 || t == ScalarType::Float16 || t == ScalarType::BFloat16;
}

// Type promotion as PyTorch does it for our dtypes: bool < int64 <
// float16, bfloat16 < float32 < float64; float16 with bfloat16 is float32
// (neither holds the other's values).
constexpr ScalarType promote_types(ScalarType a, ScalarType b) {
  auto rank = [](ScalarType t) {
    switch (t) {
      case ScalarType::Bool: return 0;
      case ScalarType::Int64: return 1;
      case ScalarType::Float16: return 2;
      case ScalarType::BFloat16: return 2;
      case ScalarType::Float32: return 3;
      case ScalarType::Float64: return 4;
    }
    return 0;
  };
  if (a != b && rank(a) == 2 && rank(b) == 2) return ScalarType::Float32;
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
  }
  throw Error("visit_dtype: unknown dtype");
}

}  // namespace dg
