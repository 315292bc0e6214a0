// The CPU pointwise kernels written by hand: those that pick a different
// loop per argument value (pow with common exponents), use the vectorised
// float32 math in a way no scalar function can (sin, cos and their gradients
// hand huge arguments to libm; softplus selects between two computed forms;
// gelu picks its formula from `approximate`), check their inputs' values
// (an integer fmod by zero), or read an operand in its own dtype (where's
// bool condition). Every other pointwise op declares its scalar function in
// ops.yaml and the generator writes its kernels
// (generated/kernels/pointwise_cpu_*.cpp).
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "common/compare_ops.h"
#include "common/pointwise_math.h"
#include "cpu/loops.h"
#include "cpu/vec_math.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {
// Exponentiation by squaring; exact for integers (wraps on overflow like PyTorch).
template <typename T>
T int_pow(T base, int64_t e) {
  T r = T(1);
  while (e > 0) {
    if (e & 1) r = static_cast<T>(r * base);
    base = static_cast<T>(base * base);
    e >>= 1;
  }
  return r;
}
}  // namespace

template <typename T>
void pow_scalar(const TensorBase& out, const TensorBase& self, const Scalar& exponent) {
  if constexpr (std::is_integral_v<T>) {
    // The meta promotes an integer tensor to float32 for a floating exponent,
    // so here the exponent is integral (or bool).
    const int64_t e = exponent.toLong();
    DG_CHECK(e >= 0, "pow: integers to negative integer powers are not allowed (got exponent ", exponent, ")");
    if (e == 0) return unary_kernel<T>(out, self, [](T) { return T(1); });
    if (e == 1) return unary_kernel<T>(out, self, [](T x) { return x; });
    if (e == 2) return unary_kernel<T>(out, self, [](T x) { return x * x; });
    if (e == 3) return unary_kernel<T>(out, self, [](T x) { return x * x * x; });
    unary_kernel<T>(out, self, [e](T x) { return int_pow(x, e); });
  } else {
    // The common exponents get exact, vectorisable forms instead of std::pow.
    const double e = exponent.toDouble();
    if (e == 0) return unary_kernel<T>(out, self, [](T) { return T(1); });
    if (e == 1) return unary_kernel<T>(out, self, [](T x) { return x; });
    if (e == 2) return unary_kernel<T>(out, self, [](T x) { return x * x; });
    if (e == 3) return unary_kernel<T>(out, self, [](T x) { return x * x * x; });
    if (e == 0.5) return unary_kernel<T>(out, self, [](T x) { return std::sqrt(x); });
    if (e == -1) return unary_kernel<T>(out, self, [](T x) { return T(1) / x; });
    if (e == -2) return unary_kernel<T>(out, self, [](T x) { return T(1) / (x * x); });
    const T te = static_cast<T>(e);
    unary_kernel<T>(out, self, [te](T x) { return std::pow(x, te); });
  }
}

template <typename T>
void sin(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel_guarded<T>(
        out, self, [](T x) { return vec::sin_reduced(x); }, [](T x) { return vec::trig_needs_libm(x); },
        [](T x) { return std::sin(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::sin(x); });
  }
}

template <typename T>
void cos(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel_guarded<T>(
        out, self, [](T x) { return vec::cos_reduced(x); }, [](T x) { return vec::trig_needs_libm(x); },
        [](T x) { return std::cos(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::cos(x); });
  }
}

// float32 uses the vectorised sin/cos of vec_math.h, with libm for the
// arguments outside their range (|x| > 8192, inf, NaN), as sin/cos do.
template <typename T>
void sin_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    binary_kernel_guarded<T>(
        out, grad_output, self, [](T g, T x) { return g * vec::cos_reduced(x); },
        [](T, T x) { return vec::trig_needs_libm(x); }, [](T g, T x) { return g * std::cos(x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return g * std::cos(x); });
  }
}

template <typename T>
void cos_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    binary_kernel_guarded<T>(
        out, grad_output, self, [](T g, T x) { return -g * vec::sin_reduced(x); },
        [](T, T x) { return vec::trig_needs_libm(x); }, [](T g, T x) { return -g * std::sin(x); });
  } else {
    binary_kernel<T>(out, grad_output, self, [](T g, T x) { return -g * std::sin(x); });
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
void where(const TensorBase& out, const TensorBase& condition, const TensorBase& self, const TensorBase& other) {
  cmp::check_where_condition(condition);
  elementwise<T, bool, T, T>(out, cmp::Select{}, condition, self, other);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_pow_scalar;
DG_INSTANTIATE_KERNEL_cpu_sin;
DG_INSTANTIATE_KERNEL_cpu_cos;
DG_INSTANTIATE_KERNEL_cpu_sin_backward;
DG_INSTANTIATE_KERNEL_cpu_cos_backward;
DG_INSTANTIATE_KERNEL_cpu_gelu;
DG_INSTANTIATE_KERNEL_cpu_gelu_backward;
DG_INSTANTIATE_KERNEL_cpu_softplus;
DG_INSTANTIATE_KERNEL_cpu_fmod;
DG_INSTANTIATE_KERNEL_cpu_where;
