// Pointwise math and activation kernels of the pointwise group (issue 4):
// unary math, rounding, activations with their backward helpers, clamping
// and the arithmetic binary ops. Like pointwise.cpp, each kernel only names
// its scalar function; the dispatch layer has broadcast, promoted and
// allocated already.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "kernel_decls.h"
#include "../common/pointwise_math.h"
#include "loops.h"
#include "vec_math.h"

namespace dg::cpu {

namespace {

// The vectorisable exp and expm1 for float32 (pointwise.cpp does the same),
// libm's for float64.
template <typename T>
__attribute__((always_inline)) inline T fast_exp(T x) {
  if constexpr (std::is_same_v<T, float>) return vec::exp(x);
  else return std::exp(x);
}
template <typename T>
__attribute__((always_inline)) inline T fast_expm1(T x) {
  if constexpr (std::is_same_v<T, float>) return vec::expm1(x);
  else return std::expm1(x);
}

// The Math policy of the shared formulas (pointwise_math.h) on the CPU.
struct FastMath {
  template <typename T>
  __attribute__((always_inline)) static T exp(T x) {
    return fast_exp(x);
  }
  template <typename T>
  __attribute__((always_inline)) static T expm1(T x) {
    return fast_expm1(x);
  }
};

using pwmath::Round;
using pwmath::Rounder;

}  // namespace

// ---------------------------------------------------------------- unary math

template <typename T>
void expm1(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::expm1(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::expm1(x); });
  }
}

template <typename T>
void log1p(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::log1p(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::log1p(x); });
  }
}

template <typename T>
void log2(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::log2(x); });
}

template <typename T>
void rsqrt(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return T(1) / std::sqrt(x); });
}

template <typename T>
void tan(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::tan(x); });
}

template <typename T>
void asin(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::asin(x); });
}

template <typename T>
void acos(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::acos(x); });
}

template <typename T>
void atan(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::atan(x); });
}

template <typename T>
void cosh(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::cosh(x); });
}

template <typename T>
void square(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return pwmath::square(x); });
}

template <typename T>
void erf(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::erf(x); });
}

// ---------------------------------------------------------------- rounding

template <typename T>
void floor(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, Rounder<Round::Floor>{});
}

template <typename T>
void ceil(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, Rounder<Round::Ceil>{});
}

template <typename T>
void round(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, Rounder<Round::Nearest>{});
}

template <typename T>
void trunc(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, Rounder<Round::Trunc>{});
}

// ---------------------------------------------------------------- activations

template <typename T>
void leaky_relu(const TensorBase& out, const TensorBase& self, const Scalar& negative_slope) {
  unary_kernel<T>(out, self, pwmath::LeakyRelu<T>{negative_slope.to<T>()});
}

template <typename T>
void leaky_relu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         const Scalar& negative_slope, bool self_is_result) {
  pwmath::check_leaky_relu_backward(negative_slope, self_is_result);
  binary_kernel<T>(out, grad_output, self, pwmath::LeakyReluBackward<T>{negative_slope.to<T>()});
}

template <typename T>
void elu(const TensorBase& out, const TensorBase& self, const Scalar& alpha, const Scalar& scale,
         const Scalar& input_scale) {
  const pwmath::Elu<T, FastMath> e(alpha, scale, input_scale);
  unary_kernel<T>(out, self, [e](T x) { return e(x); });
}

template <typename T>
void elu_backward(const TensorBase& out, const TensorBase& grad_output, const Scalar& alpha, const Scalar& scale,
                  const Scalar& input_scale, bool is_result, const TensorBase& self_or_result) {
  pwmath::check_elu_backward(alpha, is_result);
  const pwmath::Elu<T, FastMath> e(alpha, scale, input_scale);
  if (is_result) {
    binary_kernel<T>(out, grad_output, self_or_result, [e](T g, T y) { return e.backward_from_result(g, y); });
  } else {
    binary_kernel<T>(out, grad_output, self_or_result, [e](T g, T x) { return e.backward(g, x); });
  }
}

template <typename T>
void gelu(const TensorBase& out, const TensorBase& self, std::string_view approximate) {
  if (pwmath::gelu_mode("gelu", approximate) == pwmath::Gelu::Exact) {
    if constexpr (std::is_same_v<T, float>) {
      unary_kernel<T>(out, self, [](T x) { return vec::gelu(x); });
    } else {
      unary_kernel<T>(out, self, [](T x) { return pwmath::gelu_exact(x); });
    }
  } else if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::gelu_tanh(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return pwmath::gelu_tanh(x); });
  }
}

template <typename T>
void gelu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                   std::string_view approximate) {
  if (pwmath::gelu_mode("gelu_backward", approximate) == pwmath::Gelu::Exact) {
    if constexpr (std::is_same_v<T, float>) {
      binary_kernel<T>(out, grad_output, self, [](T g, T x) { return vec::gelu_backward(g, x); });
    } else {
      binary_kernel<T>(out, grad_output, self, [](T g, T x) { return pwmath::gelu_exact_backward(g, x); });
    }
  } else if constexpr (std::is_same_v<T, float>) {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return vec::gelu_tanh_backward(g, x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return g * pwmath::gelu_tanh_derivative(x); });
  }
}

template <typename T>
void silu(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, pwmath::Silu<FastMath>{});
}

template <typename T>
void silu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  binary_kernel<T>(out, grad_output, self, pwmath::SiluBackward<FastMath>{});
}

template <typename T>
void softplus(const TensorBase& out, const TensorBase& self, const Scalar& beta, const Scalar& threshold) {
  if constexpr (std::is_same_v<T, float>) {
    // The formula of pwmath::Softplus with both sides computed and selected,
    // max as a compare: no branch or call left in the loop, so it vectorises.
    const T b = beta.to<T>(), th = threshold.to<T>();
    unary_kernel<T>(out, self, [b, th](T x) {
      const T z = x * b;
      const T soft = ((z > T(0) ? z : T(0)) + vec::log1p(vec::exp(-std::fabs(z)))) / b;
      return z > th ? x : soft;
    });
  } else {
    unary_kernel<T>(out, self, pwmath::Softplus<T>(beta, threshold));
  }
}

template <typename T>
void softplus_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self, const Scalar& beta,
                       const Scalar& threshold) {
  const pwmath::Softplus<T, FastMath> sp(beta, threshold);
  binary_kernel<T>(out, grad_output, self, [sp](T g, T x) { return sp.backward(g, x); });
}

// ---------------------------------------------------------------- clamping

template <typename T>
void clamp(const TensorBase& out, const TensorBase& self, const std::optional<Scalar>& min,
           const std::optional<Scalar>& max) {
  pwmath::check_clamp_bounds<T>(min, max);
  if (min && max) unary_kernel<T>(out, self, pwmath::Clamp<T>{min->to<T>(), max->to<T>()});
  else if (min) unary_kernel<T>(out, self, pwmath::ClampMin<T>{min->to<T>()});
  else unary_kernel<T>(out, self, pwmath::ClampMax<T>{max->to<T>()});
}

template <typename T>
void clamp_min(const TensorBase& out, const TensorBase& self, const Scalar& min) {
  unary_kernel<T>(out, self, pwmath::ClampMin<T>{min.to<T>()});
}

template <typename T>
void clamp_max(const TensorBase& out, const TensorBase& self, const Scalar& max) {
  unary_kernel<T>(out, self, pwmath::ClampMax<T>{max.to<T>()});
}

// ---------------------------------------------------------------- binary

template <typename T>
void atan2(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  binary_kernel<T>(out, self, other, [](T y, T x) { return std::atan2(y, x); });
}

template <typename T>
void maximum(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  binary_kernel<T>(out, self, other, pwmath::Maximum{});
}

template <typename T>
void minimum(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  binary_kernel<T>(out, self, other, pwmath::Minimum{});
}

namespace {

// Whether any element of t (int64) is zero. Runs before anything is
// written, so a bad divisor leaves the output (or self, in place) intact.
bool any_zero(const TensorBase& t) {
  if (t.numel() == 0) return false;
  LoopGeometry<1> g = make_geometry<1>(t, {});
  bool found = false;
  for_each_row(g, 0, g.numel, [&](const std::array<char*, 1>& p, int64_t n) {
    const int64_t s = g.inner_stride(0);
    for (int64_t i = 0; i < n; ++i) found |= *reinterpret_cast<const int64_t*>(p[0] + i * s) == 0;
  });
  return found;
}

}  // namespace

template <typename T>
void fmod(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  if constexpr (std::is_integral_v<T>) {
    DG_CHECK(out.numel() == 0 || !any_zero(other), "fmod: integer division by zero (other has a zero element)");
  }
  binary_kernel<T>(out, self, other, [](T x, T y) { return pwmath::fmod(x, y); });
}

template <typename T>
void fmod_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  const T c = other.to<T>();
  pwmath::check_fmod_divisor(c, other);
  unary_kernel<T>(out, self, pwmath::FmodBy<T>{c});
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_expm1
DG_INSTANTIATE_KERNEL_cpu_log1p
DG_INSTANTIATE_KERNEL_cpu_log2
DG_INSTANTIATE_KERNEL_cpu_rsqrt
DG_INSTANTIATE_KERNEL_cpu_tan
DG_INSTANTIATE_KERNEL_cpu_asin
DG_INSTANTIATE_KERNEL_cpu_acos
DG_INSTANTIATE_KERNEL_cpu_atan
DG_INSTANTIATE_KERNEL_cpu_cosh
DG_INSTANTIATE_KERNEL_cpu_square
DG_INSTANTIATE_KERNEL_cpu_erf
DG_INSTANTIATE_KERNEL_cpu_floor
DG_INSTANTIATE_KERNEL_cpu_ceil
DG_INSTANTIATE_KERNEL_cpu_round
DG_INSTANTIATE_KERNEL_cpu_trunc
DG_INSTANTIATE_KERNEL_cpu_leaky_relu
DG_INSTANTIATE_KERNEL_cpu_leaky_relu_backward
DG_INSTANTIATE_KERNEL_cpu_elu
DG_INSTANTIATE_KERNEL_cpu_elu_backward
DG_INSTANTIATE_KERNEL_cpu_gelu
DG_INSTANTIATE_KERNEL_cpu_gelu_backward
DG_INSTANTIATE_KERNEL_cpu_silu
DG_INSTANTIATE_KERNEL_cpu_silu_backward
DG_INSTANTIATE_KERNEL_cpu_softplus
DG_INSTANTIATE_KERNEL_cpu_softplus_backward
DG_INSTANTIATE_KERNEL_cpu_clamp
DG_INSTANTIATE_KERNEL_cpu_clamp_min
DG_INSTANTIATE_KERNEL_cpu_clamp_max
DG_INSTANTIATE_KERNEL_cpu_atan2
DG_INSTANTIATE_KERNEL_cpu_maximum
DG_INSTANTIATE_KERNEL_cpu_minimum
DG_INSTANTIATE_KERNEL_cpu_fmod
DG_INSTANTIATE_KERNEL_cpu_fmod_scalar
