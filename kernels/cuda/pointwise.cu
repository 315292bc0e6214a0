// The CUDA pointwise kernels written by hand: pow with the exact forms of
// the common exponents (one loop per exponent, as on the CPU), gelu with its
// formula picked from `approximate` (the tanh form in double), and where,
// which reads its condition as bool. Every other pointwise op declares its
// scalar function in ops.yaml and the generator writes its kernels
// (generated/kernels/pointwise_cuda_*.cu).
//
// Math calls are written `::exp(x)`: inside dg::cuda an unqualified `exp`
// would find the kernel templates of the same names. CUDA overloads the
// global functions for float and double, so float stays float. Each kernel
// computes in C = opmath_t<T> (float for the 16-bit floats).
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "common/compare_ops.h"
#include "common/pointwise_math.h"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

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

// The tanh form of gelu in double for every dtype (see pwmath::gelu_tanh).
template <typename C>
struct GeluTanh {
  __device__ C operator()(C x) const { return static_cast<C>(pwmath::gelu_tanh(static_cast<double>(x))); }
};
template <typename C>
struct GeluTanhBackward {
  __device__ C operator()(C g, C x) const {
    return g * static_cast<C>(pwmath::gelu_tanh_derivative(static_cast<double>(x)));
  }
};

}  // namespace

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

template <typename T>
void gelu(const TensorBase& out, const TensorBase& self, std::string_view approximate) {
  using C = opmath_t<T>;
  if (pwmath::gelu_mode("gelu", approximate) == pwmath::Gelu::Exact) {
    gpu_unary<T>("gelu", out, self, [] __device__(C x) { return pwmath::gelu_exact(x); });
  } else {
    gpu_unary<T>("gelu", out, self, GeluTanh<C>{});
  }
}

template <typename T>
void gelu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                   std::string_view approximate) {
  using C = opmath_t<T>;
  if (pwmath::gelu_mode("gelu_backward", approximate) == pwmath::Gelu::Exact) {
    gpu_binary<T>("gelu_backward", out, grad_output, self,
                  [] __device__(C g, C x) { return pwmath::gelu_exact_backward(g, x); });
  } else {
    gpu_binary<T>("gelu_backward", out, grad_output, self, GeluTanhBackward<C>{});
  }
}

template <typename T>
void where(const TensorBase& out, const TensorBase& condition, const TensorBase& self, const TensorBase& other) {
  cmp::check_where_condition(condition);
  gpu_elementwise<T, bool, T, T>("where", out, cmp::Select{}, condition, self, other);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_pow_scalar;
DG_INSTANTIATE_KERNEL_cuda_gelu;
DG_INSTANTIATE_KERNEL_cuda_gelu_backward;
DG_INSTANTIATE_KERNEL_cuda_where;
