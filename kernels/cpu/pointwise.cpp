// Pointwise kernels. The dispatch layer has already broadcast-checked the
// shapes, promoted and cast the inputs to T and allocated `out`; each kernel
// only names its scalar function.

// (CMakeLists.txt builds kernels with -fno-trapping-math: the loops select
// between values with comparisons — clamps in vec::exp, relu,
// threshold_backward — which GCC only turns into vector blends without it.)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernel_decls.h"
#include "loops.h"
#include "vec_math.h"

namespace dg::cpu {

// loops.h's choice of instruction set (declared there).
namespace simd {
std::atomic<int> g_level{-1};

namespace {
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}
}  // namespace

int cpu_level() {
  __builtin_cpu_init();  // may run before the constructors that would call it
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return 2;
  return __builtin_cpu_supports("avx2") ? 1 : 0;
}

int detect_level() {
  int v = cpu_level();
  if (env_set("DG_DISABLE_AVX512")) v = std::min(v, 1);
  if (env_set("DG_DISABLE_AVX2")) v = 0;
  g_level.store(v, std::memory_order_relaxed);
  return v;
}

int set_max_level(int max_level) {
  const int was = level();
  g_level.store(std::min(max_level, cpu_level()), std::memory_order_relaxed);
  return was;
}
}  // namespace simd

template <typename T>
void add(const TensorBase& out, const TensorBase& self, const TensorBase& other, const Scalar& alpha) {
  const T a = alpha.to<T>();
  if (a == T(1)) {
    binary_kernel<T>(out, self, other, [](T x, T y) { return x + y; });
  } else {
    binary_kernel<T>(out, self, other, [a](T x, T y) { return x + a * y; });
  }
}

template <typename T>
void add_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other, const Scalar& alpha) {
  const T c = static_cast<T>(other.to<T>() * alpha.to<T>());
  unary_kernel<T>(out, self, [c](T x) { return x + c; });
}

template <typename T>
void sub(const TensorBase& out, const TensorBase& self, const TensorBase& other, const Scalar& alpha) {
  const T a = alpha.to<T>();
  if (a == T(1)) {
    binary_kernel<T>(out, self, other, [](T x, T y) { return x - y; });
  } else {
    binary_kernel<T>(out, self, other, [a](T x, T y) { return x - a * y; });
  }
}

template <typename T>
void sub_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other, const Scalar& alpha) {
  const T c = static_cast<T>(other.to<T>() * alpha.to<T>());
  unary_kernel<T>(out, self, [c](T x) { return x - c; });
}

template <typename T>
void mul(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  binary_kernel<T>(out, self, other, [](T x, T y) { return x * y; });
}

template <typename T>
void mul_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  const T c = other.to<T>();
  unary_kernel<T>(out, self, [c](T x) { return x * c; });
}

template <typename T>
void div(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  binary_kernel<T>(out, self, other, [](T x, T y) { return x / y; });
}

template <typename T>
void div_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  // Divide rather than multiply by the reciprocal: x / 3 must equal x / 3
  // computed elementwise against a tensor of threes, bit for bit.
  const T c = other.to<T>();
  unary_kernel<T>(out, self, [c](T x) { return x / c; });
}

template <typename T>
void pow(const TensorBase& out, const TensorBase& self, const TensorBase& exponent) {
  binary_kernel<T>(out, self, exponent, [](T x, T y) { return std::pow(x, y); });
}

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
    DG_CHECK(e >= 0, "pow: integers to negative integer powers are not allowed (got exponent ", exponent,
             ")");
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
void neg(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return static_cast<T>(-x); });
}

template <typename T>
void exp(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::exp(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::exp(x); });
  }
}

template <typename T>
void log(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::log(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::log(x); });
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

template <typename T>
void tanh(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::tanh(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return std::tanh(x); });
  }
}

template <typename T>
void sigmoid(const TensorBase& out, const TensorBase& self) {
  // float64: exp(-x) overflows to inf for very negative x, giving 1 / inf =
  // 0, the right limit, so no branch is needed.
  if constexpr (std::is_same_v<T, float>) {
    unary_kernel<T>(out, self, [](T x) { return vec::sigmoid(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return T(1) / (T(1) + std::exp(-x)); });
  }
}

template <typename T>
void relu(const TensorBase& out, const TensorBase& self) {
  // `x < 0 ? 0 : x` keeps NaN as NaN, like PyTorch.
  unary_kernel<T>(out, self, [](T x) { return x < T(0) ? T(0) : x; });
}

template <typename T>
void sqrt(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return std::sqrt(x); });
}

template <typename T>
void abs(const TensorBase& out, const TensorBase& self) {
  if constexpr (std::is_floating_point_v<T>) {
    unary_kernel<T>(out, self, [](T x) { return std::fabs(x); });
  } else {
    unary_kernel<T>(out, self, [](T x) { return x < T(0) ? static_cast<T>(-x) : x; });
  }
}

template <typename T>
void sign(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return static_cast<T>((T(0) < x) - (x < T(0))); });
}

template <typename T>
void reciprocal(const TensorBase& out, const TensorBase& self) {
  unary_kernel<T>(out, self, [](T x) { return T(1) / x; });
}

template <typename T>
void tanh_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output) {
  binary_kernel<T>(out, grad_output, output, [](T g, T y) { return g * (T(1) - y * y); });
}

template <typename T>
void sigmoid_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output) {
  binary_kernel<T>(out, grad_output, output, [](T g, T y) { return g * y * (T(1) - y); });
}

template <typename T>
void threshold_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                        const Scalar& threshold) {
  const T th = threshold.to<T>();
  binary_kernel<T>(out, grad_output, self, [th](T g, T x) { return x > th ? g : T(0); });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_add
DG_INSTANTIATE_KERNEL_cpu_add_scalar
DG_INSTANTIATE_KERNEL_cpu_sub
DG_INSTANTIATE_KERNEL_cpu_sub_scalar
DG_INSTANTIATE_KERNEL_cpu_mul
DG_INSTANTIATE_KERNEL_cpu_mul_scalar
DG_INSTANTIATE_KERNEL_cpu_div
DG_INSTANTIATE_KERNEL_cpu_div_scalar
DG_INSTANTIATE_KERNEL_cpu_pow
DG_INSTANTIATE_KERNEL_cpu_pow_scalar
DG_INSTANTIATE_KERNEL_cpu_neg
DG_INSTANTIATE_KERNEL_cpu_exp
DG_INSTANTIATE_KERNEL_cpu_log
DG_INSTANTIATE_KERNEL_cpu_sin
DG_INSTANTIATE_KERNEL_cpu_cos
DG_INSTANTIATE_KERNEL_cpu_tanh
DG_INSTANTIATE_KERNEL_cpu_sigmoid
DG_INSTANTIATE_KERNEL_cpu_relu
DG_INSTANTIATE_KERNEL_cpu_sqrt
DG_INSTANTIATE_KERNEL_cpu_abs
DG_INSTANTIATE_KERNEL_cpu_sign
DG_INSTANTIATE_KERNEL_cpu_reciprocal
DG_INSTANTIATE_KERNEL_cpu_tanh_backward
DG_INSTANTIATE_KERNEL_cpu_sigmoid_backward
DG_INSTANTIATE_KERNEL_cpu_threshold_backward
