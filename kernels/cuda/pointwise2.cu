// CUDA pointwise math and activation kernels: unary math, rounding,
// activations with their backward helpers, clamping and the arithmetic
// binary ops. The counterparts of kernels/cpu/pointwise2.cpp (and of
// log_sigmoid in kernels/cpu/nn.cpp), with the same scalar functions
// (kernels/common/pointwise_math.h); where the CPU computes float32 through
// vec_math.h's fast forms, the GPU uses CUDA's own float functions of the
// formula the CPU's float64 path uses.
//
// Math calls are written `::exp(x)`: inside dg::cuda an unqualified `exp`
// would find the kernel templates of the same names. CUDA overloads the
// global functions for float and double, so float stays float.
//
// Each kernel computes in C = opmath_t<T>: T itself, except float for the
// 16-bit floats (Half, BFloat16), which the loops convert to float on the
// call and round back to T on the store, as PyTorch's kernels do.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "../common/pointwise_math.h"
#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

using pwmath::Round;
using pwmath::Rounder;

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

// f applied to its arguments converted to the compute type C. pwmath's
// functors that take their type from their arguments (Rounder, Maximum,
// Silu, ...) would otherwise be called with T itself, which for Half and
// BFloat16 is a storage type: they compute in float this way.
template <typename C, typename F>
struct InOpmath {
  F f;
  template <typename... A>
  __device__ C operator()(A... a) const {
    return f(static_cast<C>(a)...);
  }
};
// f itself where T is its own compute type.
template <typename T, typename F>
auto in_opmath(const F& f) {
  if constexpr (std::is_same_v<opmath_t<T>, T>) return f;
  else return InOpmath<opmath_t<T>, F>{f};
}

}  // namespace

// ---------------------------------------------------------------- unary math

template <typename T>
void expm1(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("expm1", out, self, [] __device__(C x) { return ::expm1(x); });
}

template <typename T>
void log1p(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("log1p", out, self, [] __device__(C x) { return ::log1p(x); });
}

template <typename T>
void log2(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("log2", out, self, [] __device__(C x) { return ::log2(x); });
}

template <typename T>
void rsqrt(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("rsqrt", out, self, [] __device__(C x) { return C(1) / ::sqrt(x); });
}

template <typename T>
void tan(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("tan", out, self, [] __device__(C x) { return ::tan(x); });
}

template <typename T>
void asin(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("asin", out, self, [] __device__(C x) { return ::asin(x); });
}

template <typename T>
void acos(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("acos", out, self, [] __device__(C x) { return ::acos(x); });
}

template <typename T>
void atan(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("atan", out, self, [] __device__(C x) { return ::atan(x); });
}

template <typename T>
void cosh(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("cosh", out, self, [] __device__(C x) { return ::cosh(x); });
}

template <typename T>
void square(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("square", out, self, [] __device__(C x) { return pwmath::square(x); });
}

template <typename T>
void erf(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("erf", out, self, [] __device__(C x) { return ::erf(x); });
}

// ---------------------------------------------------------------- rounding

template <typename T>
void floor(const TensorBase& out, const TensorBase& self) {
  gpu_unary<T>("floor", out, self, in_opmath<T>(Rounder<Round::Floor>{}));
}

template <typename T>
void ceil(const TensorBase& out, const TensorBase& self) {
  gpu_unary<T>("ceil", out, self, in_opmath<T>(Rounder<Round::Ceil>{}));
}

template <typename T>
void round(const TensorBase& out, const TensorBase& self) {
  gpu_unary<T>("round", out, self, in_opmath<T>(Rounder<Round::Nearest>{}));
}

template <typename T>
void trunc(const TensorBase& out, const TensorBase& self) {
  gpu_unary<T>("trunc", out, self, in_opmath<T>(Rounder<Round::Trunc>{}));
}

// ---------------------------------------------------------------- activations

template <typename T>
void leaky_relu(const TensorBase& out, const TensorBase& self, const Scalar& negative_slope) {
  using C = opmath_t<T>;
  gpu_unary<T>("leaky_relu", out, self, pwmath::LeakyRelu<C>{negative_slope.to<C>()});
}

template <typename T>
void leaky_relu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self,
                         const Scalar& negative_slope, bool self_is_result) {
  using C = opmath_t<T>;
  pwmath::check_leaky_relu_backward(negative_slope, self_is_result);
  gpu_binary<T>("leaky_relu_backward", out, grad_output, self,
                pwmath::LeakyReluBackward<C>{negative_slope.to<C>()});
}

template <typename T>
void elu(const TensorBase& out, const TensorBase& self, const Scalar& alpha, const Scalar& scale,
         const Scalar& input_scale) {
  using C = opmath_t<T>;
  gpu_unary<T>("elu", out, self, pwmath::Elu<C>(alpha, scale, input_scale));
}

template <typename T>
void elu_backward(const TensorBase& out, const TensorBase& grad_output, const Scalar& alpha, const Scalar& scale,
                  const Scalar& input_scale, bool is_result, const TensorBase& self_or_result) {
  using C = opmath_t<T>;
  pwmath::check_elu_backward(alpha, is_result);
  const pwmath::Elu<C> e(alpha, scale, input_scale);
  if (is_result) {
    gpu_binary<T>("elu_backward", out, grad_output, self_or_result,
                  [e] __device__(C g, C y) { return e.backward_from_result(g, y); });
  } else {
    gpu_binary<T>("elu_backward", out, grad_output, self_or_result,
                  [e] __device__(C g, C x) { return e.backward(g, x); });
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
void silu(const TensorBase& out, const TensorBase& self) {
  gpu_unary<T>("silu", out, self, in_opmath<T>(pwmath::Silu<>{}));
}

template <typename T>
void silu_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self) {
  gpu_binary<T>("silu_backward", out, grad_output, self, in_opmath<T>(pwmath::SiluBackward<>{}));
}

template <typename T>
void softplus(const TensorBase& out, const TensorBase& self, const Scalar& beta, const Scalar& threshold) {
  using C = opmath_t<T>;
  gpu_unary<T>("softplus", out, self, pwmath::Softplus<C>(beta, threshold));
}

template <typename T>
void softplus_backward(const TensorBase& out, const TensorBase& grad_output, const TensorBase& self, const Scalar& beta,
                       const Scalar& threshold) {
  using C = opmath_t<T>;
  const pwmath::Softplus<C> sp(beta, threshold);
  gpu_binary<T>("softplus_backward", out, grad_output, self,
                [sp] __device__(C g, C x) { return sp.backward(g, x); });
}

template <typename T>
void log_sigmoid(const TensorBase& out, const TensorBase& self) {
  using C = opmath_t<T>;
  gpu_unary<T>("log_sigmoid", out, self, [] __device__(C x) { return pwmath::log_sigmoid(x); });
}

// ---------------------------------------------------------------- clamping

template <typename T>
void clamp(const TensorBase& out, const TensorBase& self, const std::optional<Scalar>& min,
           const std::optional<Scalar>& max) {
  using C = opmath_t<T>;
  pwmath::check_clamp_bounds<C>(min, max);
  if (min && max) gpu_unary<T>("clamp", out, self, pwmath::Clamp<C>{min->to<C>(), max->to<C>()});
  else if (min) gpu_unary<T>("clamp", out, self, pwmath::ClampMin<C>{min->to<C>()});
  else gpu_unary<T>("clamp", out, self, pwmath::ClampMax<C>{max->to<C>()});
}

template <typename T>
void clamp_min(const TensorBase& out, const TensorBase& self, const Scalar& min) {
  using C = opmath_t<T>;
  gpu_unary<T>("clamp_min", out, self, pwmath::ClampMin<C>{min.to<C>()});
}

template <typename T>
void clamp_max(const TensorBase& out, const TensorBase& self, const Scalar& max) {
  using C = opmath_t<T>;
  gpu_unary<T>("clamp_max", out, self, pwmath::ClampMax<C>{max.to<C>()});
}

// ---------------------------------------------------------------- binary

template <typename T>
void atan2(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  using C = opmath_t<T>;
  gpu_binary<T>("atan2", out, self, other, [] __device__(C y, C x) { return ::atan2(y, x); });
}

template <typename T>
void maximum(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  gpu_binary<T>("maximum", out, self, other, in_opmath<T>(pwmath::Maximum{}));
}

template <typename T>
void minimum(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  gpu_binary<T>("minimum", out, self, other, in_opmath<T>(pwmath::Minimum{}));
}

template <typename T>
void fmod(const TensorBase& out, const TensorBase& self, const TensorBase& other) {
  using C = opmath_t<T>;
  // An integer zero divisor gives 0 here: refusing it as the CPU does would
  // need its values on the host.
  gpu_binary<T>("fmod", out, self, other, [] __device__(C x, C y) { return pwmath::fmod(x, y); });
}

template <typename T>
void fmod_scalar(const TensorBase& out, const TensorBase& self, const Scalar& other) {
  using C = opmath_t<T>;
  const C c = pwmath::operand_scalar<T>(other);
  pwmath::check_fmod_divisor(c, other);
  gpu_unary<T>("fmod", out, self, pwmath::FmodBy<C>{c});
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_expm1
DG_INSTANTIATE_KERNEL_cuda_log1p
DG_INSTANTIATE_KERNEL_cuda_log2
DG_INSTANTIATE_KERNEL_cuda_rsqrt
DG_INSTANTIATE_KERNEL_cuda_tan
DG_INSTANTIATE_KERNEL_cuda_asin
DG_INSTANTIATE_KERNEL_cuda_acos
DG_INSTANTIATE_KERNEL_cuda_atan
DG_INSTANTIATE_KERNEL_cuda_cosh
DG_INSTANTIATE_KERNEL_cuda_square
DG_INSTANTIATE_KERNEL_cuda_erf
DG_INSTANTIATE_KERNEL_cuda_floor
DG_INSTANTIATE_KERNEL_cuda_ceil
DG_INSTANTIATE_KERNEL_cuda_round
DG_INSTANTIATE_KERNEL_cuda_trunc
DG_INSTANTIATE_KERNEL_cuda_leaky_relu
DG_INSTANTIATE_KERNEL_cuda_leaky_relu_backward
DG_INSTANTIATE_KERNEL_cuda_elu
DG_INSTANTIATE_KERNEL_cuda_elu_backward
DG_INSTANTIATE_KERNEL_cuda_gelu
DG_INSTANTIATE_KERNEL_cuda_gelu_backward
DG_INSTANTIATE_KERNEL_cuda_silu
DG_INSTANTIATE_KERNEL_cuda_silu_backward
DG_INSTANTIATE_KERNEL_cuda_softplus
DG_INSTANTIATE_KERNEL_cuda_softplus_backward
DG_INSTANTIATE_KERNEL_cuda_log_sigmoid
DG_INSTANTIATE_KERNEL_cuda_clamp
DG_INSTANTIATE_KERNEL_cuda_clamp_min
DG_INSTANTIATE_KERNEL_cuda_clamp_max
DG_INSTANTIATE_KERNEL_cuda_atan2
DG_INSTANTIATE_KERNEL_cuda_maximum
DG_INSTANTIATE_KERNEL_cuda_minimum
DG_INSTANTIATE_KERNEL_cuda_fmod
DG_INSTANTIATE_KERNEL_cuda_fmod_scalar
