// CUDA pointwise kernels: arithmetic, pow, the basic unary math and the
// backward helpers of tanh, sigmoid, relu, sin and cos. The counterparts of
// kernels/cpu/pointwise.cpp, sinh.cpp and trig_backward.cpp, with the same
// scalar functions. The dispatch layer has broadcast-checked the shapes,
// promoted and cast the inputs to T and allocated `out`; each kernel only
// names its scalar function for the loops of loops.cuh.
//
// Math calls are written `::exp(x)`: inside dg::cuda an unqualified `exp`
// would find the kernel templates of the same names. CUDA overloads the
// global functions for float and double, so float stays float.
//
// Each kernel computes in C = opmath_t<T>: T itself, except float for the
// 16-bit floats (Half, BFloat16), which the loops convert to float on the
// call and round back to T on the store, as PyTorch's kernels do.
#include <cstdint>
#include <type_traits>

#include "../common/pointwise_math.h"
#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

// Exponentiation by squaring; exact for integers. The products are taken in
// uint64 so that overflow wraps (like PyTorch, and like the CPU kernel in
// practice) instead of being undefined.
template <typename T>
__device__ T int_pow(T base, int64_t e) {
  uint64_t r = 1, b = static_cast<uint64_t>(base);
  while (e > 0) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<T>(r);
}

}  // namespace

// ---------------------------------------------------------------- arithmetic

template <typename T>
void add(const TensorBase& out, const TensorBase& self, const TensorBase& other, const Scalar& alpha) {
  using C = opmath_t<T>;
  const C a = alpha.to<C>();
  if (a == C(1)) {
    gpu_binary<T>("add", out, self, other, [] __device__(C x, C y) { return static_cast<C>(x + y); });
  } else {
    gpu_binary<T>("add", out, self, other, [a] __device__(C x, C y) { return static_cast<C>(x + a * y); });
  }
}

template <typename T>
void add_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other, const Scalar& alpha) {
  using C = opmath_t<T>;
  const C c = pwmath::operand_scalar<T>(other) * alpha.to<C>();
  gpu_unary<T>("add", out, self, [c] __device__(C x) { return static_cast<C>(x + c); });
}

template <typename T>
void sub(const TensorBase& out, const TensorBase& self, const TensorBase& other, const Scalar& alpha) {
  using C = opmath_t<T>;
  const C a = alpha.to<C>();
  if (a == C(1)) {
    gpu_binary<T>("sub", out, self, other, [] __device__(C x, C y) { return static_cast<C>(x - y); });
  } else {
    gpu_binary<T>("sub", out, self, other, [a] __device__(C x, C y) { return static_cast<C>(x - a * y); });
  }
}

template <typename T>
void sub_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other, const Scalar& alpha) {
  using C = opmath_t<T>;
  const C c = pwmath::operand_scalar<T>(other) * alpha.to<C>();
  gpu_unary<T>("sub", out, self, [c] __device__(C x) { return static_cast<C>(x - c); });
}

template <typename T>
void mul(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  using C = opmath_t<T>;
  gpu_binary<T>("mul", out, self, other, [] __device__(C x, C y) { return static_cast<C>(x * y); });
}

template <typename T>
void mul_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  using C = opmath_t<T>;
  const C c = pwmath::operand_scalar<T>(other);
  gpu_unary<T>("mul", out, self, [c] __device__(C x) { return static_cast<C>(x * c); });
}

template <typename T>
void div(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  using C = opmath_t<T>;
  gpu_binary<T>("div", out, self, other, [] __device__(C x, C y) { return x / y; });
}

template <typename T>
void div_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  using C = opmath_t<T>;
  // Divide rather than multiply by the reciprocal: bit for bit the same as
  // dividing by a tensor of c.
  const C c = pwmath::operand_scalar<T>(other);
  gpu_unary<T>("div", out, self, [c] __device__(C x) { return x / c; });
}

// ---------------------------------------------------------------- pow

template <typename T>
void pow(const TensorBase& out, const TensorBase& self, const TensorBase& exponent) {
  using C = opmath_t<T>;
  gpu_binary<T>("pow", out, self, exponent, [] __device__(C x, C y) { return ::pow(x, y); });
}

template <typename T>
void pow_scalar(const TensorBase& out, const TensorBase& self, const Scalar& exponent) {
  using C = opmath_t<T>;
  if constexpr (std::is_integral_v<C>) {
    // The meta promotes an integer tensor to float32 for a floating exponent,
    // so here the exponent is integral (or bool).
    const int64_t e = exponent.toLong();
    DG_CHECK(e >= 0, "pow: integers to negative integer powers are not allowed (got exponent ", exponent, ")");
    gpu_unary<T>("pow", out, self, [e] __device__(C x) { return int_pow(x, e); });
  } else {
    // The exponents the CPU kernel computes exactly get the same exact forms.
    const double e = exponent.toDouble();
    if (e == 0) return gpu_unary<T>("pow", out, self, [] __device__(C) { return C(1); });
    if (e == 1) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return x; });
    if (e == 2) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return x * x; });
    if (e == 3) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return x * x * x; });
    if (e == 0.5) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return ::sqrt(x); });
    if (e == -1) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return C(1) / x; });
    if (e == -2) return gpu_unary<T>("pow", out, self, [] __device__(C x) { return C(1) / (x * x); });
    const C te = static_cast<C>(e);
    gpu_unary<T>("pow", out, self, [te] __device__(C x) { return ::pow(x, te); });
  }
}

// ---------------------------------------------------------------- unary

template <typename T>
void neg(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("neg", out, self, [] __device__(C x) { return static_cast<C>(-x); });
}

template <typename T>
void exp(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("exp", out, self, [] __device__(C x) { return ::exp(x); });
}

template <typename T>
void log(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("log", out, self, [] __device__(C x) { return ::log(x); });
}

template <typename T>
void sin(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("sin", out, self, [] __device__(C x) { return ::sin(x); });
}

template <typename T>
void cos(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("cos", out, self, [] __device__(C x) { return ::cos(x); });
}

template <typename T>
void sinh(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("sinh", out, self, [] __device__(C x) { return ::sinh(x); });
}

template <typename T>
void tanh(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("tanh", out, self, [] __device__(C x) { return ::tanh(x); });
}

template <typename T>
void sigmoid(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  // For very negative x, exp(-x) overflows to inf and 1 / inf = 0, the right
  // limit, so no branch is needed.
  gpu_unary<T>("sigmoid", out, self, [] __device__(C x) { return C(1) / (C(1) + ::exp(-x)); });
}

template <typename T>
void relu(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  // `x < 0 ? 0 : x` keeps NaN as NaN, like PyTorch.
  gpu_unary<T>("relu", out, self, [] __device__(C x) { return x < C(0) ? C(0) : x; });
}

template <typename T>
void sqrt(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("sqrt", out, self, [] __device__(C x) { return ::sqrt(x); });
}

template <typename T>
void abs(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  if constexpr (std::is_floating_point_v<C>) {
    gpu_unary<T>("abs", out, self, [] __device__(C x) { return ::fabs(x); });
  } else {
    gpu_unary<T>("abs", out, self, [] __device__(C x) { return x < C(0) ? static_cast<C>(-x) : x; });
  }
}

template <typename T>
void sign(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  // sign(0) = 0 and sign(NaN) = 0: both comparisons are false.
  gpu_unary<T>("sign", out, self, [] __device__(C x) { return static_cast<C>((C(0) < x) - (x < C(0))); });
}

template <typename T>
void reciprocal(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("reciprocal", out, self, [] __device__(C x) { return C(1) / x; });
}

// ---------------------------------------------------------------- backward helpers

template <typename T>
void tanh_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output) {
  using C = opmath_t<T>;
  gpu_binary<T>("tanh_backward", out, grad_output, output,
                [] __device__(C g, C y) { return g * (C(1) - y * y); });
}

template <typename T>
void sigmoid_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& output) {
  using C = opmath_t<T>;
  gpu_binary<T>("sigmoid_backward", out, grad_output, output,
                [] __device__(C g, C y) { return g * y * (C(1) - y); });
}

template <typename T>
void threshold_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                        const Scalar& threshold) {
  using C = opmath_t<T>;
  const C th = pwmath::operand_scalar<T>(threshold);
  gpu_binary<T>("threshold_backward", out, grad_output, self,
                [th] __device__(C g, C x) { return x > th ? g : C(0); });
}

// grad * cos(x) and -grad * sin(x) fused in one pass each.
template <typename T>
void sin_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_binary<T>("sin_backward", out, grad_output, self, [] __device__(C g, C x) { return g * ::cos(x); });
}

template <typename T>
void cos_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_binary<T>("cos_backward", out, grad_output, self, [] __device__(C g, C x) { return -g * ::sin(x); });
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_add
DG_INSTANTIATE_KERNEL_cuda_add_scalar
DG_INSTANTIATE_KERNEL_cuda_sub
DG_INSTANTIATE_KERNEL_cuda_sub_scalar
DG_INSTANTIATE_KERNEL_cuda_mul
DG_INSTANTIATE_KERNEL_cuda_mul_scalar
DG_INSTANTIATE_KERNEL_cuda_div
DG_INSTANTIATE_KERNEL_cuda_div_scalar
DG_INSTANTIATE_KERNEL_cuda_pow
DG_INSTANTIATE_KERNEL_cuda_pow_scalar
DG_INSTANTIATE_KERNEL_cuda_neg
DG_INSTANTIATE_KERNEL_cuda_exp
DG_INSTANTIATE_KERNEL_cuda_log
DG_INSTANTIATE_KERNEL_cuda_sin
DG_INSTANTIATE_KERNEL_cuda_cos
DG_INSTANTIATE_KERNEL_cuda_sinh
DG_INSTANTIATE_KERNEL_cuda_tanh
DG_INSTANTIATE_KERNEL_cuda_sigmoid
DG_INSTANTIATE_KERNEL_cuda_relu
DG_INSTANTIATE_KERNEL_cuda_sqrt
DG_INSTANTIATE_KERNEL_cuda_abs
DG_INSTANTIATE_KERNEL_cuda_sign
DG_INSTANTIATE_KERNEL_cuda_reciprocal
DG_INSTANTIATE_KERNEL_cuda_tanh_backward
DG_INSTANTIATE_KERNEL_cuda_sigmoid_backward
DG_INSTANTIATE_KERNEL_cuda_threshold_backward
DG_INSTANTIATE_KERNEL_cuda_sin_backward
DG_INSTANTIATE_KERNEL_cuda_cos_backward
