#pragma once
// The one elementwise engine of the CUDA kernels, the counterpart of
// kernels/cpu/loops.h. Given `out` and N inputs it builds the same loop
// geometry (broadcast, size-1 dims dropped, contiguous dims merged) and
// launches one thread per element on out's device stream:
//   - when every operand is contiguous or a single broadcast value after
//     merging, a flat kernel indexes o[i] = f(a[i], b[i]) directly;
//   - otherwise each thread turns its linear index into byte offsets through
//     loop::OffsetCalc (shared with the host tests).
// Kernels pass their scalar function as a device lambda:
//   gpu_unary<T>("neg", out, self, [] __device__ (T x) { return -x; });
// Every launch is checked, and a failure is a dg::Error naming the op.
#include <array>
#include <cstdint>

#include "common/offset_calc.h"
#include "cuda/cuda_common.cuh"

namespace dg::cuda {

template <typename T, size_t N>
struct DevArray {
  T v[N > 0 ? N : 1];
};

// One elementwise loop's operands and function; the kernels below are
// templates over it alone (a __global__ template takes one parameter pack at
// most, and only last).
template <typename Out, typename F, typename... In>
struct PointwiseBody {
  static constexpr int NT = int(sizeof...(In)) + 1;
  F f;
  DevArray<char*, sizeof...(In) + 1> data;  // out, then the inputs
  DevArray<int64_t, sizeof...(In)> step;    // flat: 1 contiguous, 0 broadcast
  loop::OffsetCalc<NT> calc;                // strided

  template <size_t... I>
  __device__ void flat(int64_t i, std::index_sequence<I...>) const {
    reinterpret_cast<Out*>(data.v[0])[i] =
        static_cast<Out>(f(reinterpret_cast<const In*>(data.v[I + 1])[i * step.v[I]]...));
  }
  template <size_t... I>
  __device__ void strided(int64_t i, std::index_sequence<I...>) const {
    int64_t off[NT];
    calc.offsets(i, off);
    *reinterpret_cast<Out*>(data.v[0] + off[0]) =
        static_cast<Out>(f(*reinterpret_cast<const In*>(data.v[I + 1] + off[I + 1])...));
  }
};

template <typename Body>
__global__ void flat_kernel(int64_t n, Body body) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    body.flat(i, std::make_index_sequence<Body::NT - 1>{});
}

template <typename Body>
__global__ void strided_kernel(int64_t n, Body body) {
  const int64_t stride = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    body.strided(i, std::make_index_sequence<Body::NT - 1>{});
}

// out[i] = f(in_1[i], ..., in_N[i]) over out's shape, each input of element
// type In_k broadcast to it; all tensors on out's device (the dispatch layer
// checked it). Aliasing as on the CPU: out may be an input with the same
// geometry (in-place), nothing partially overlapping.
template <typename Out, typename... In, typename F, typename... Ts>
void gpu_elementwise(const char* op, const TensorBase& out, const F& f, const Ts&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Ts), "one element type per input");
  constexpr size_t NT = sizeof...(Ts) + 1;
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out);
  cudaStream_t s = stream(guard.device());
  const loop::LoopGeometry<NT> g = loop::make_geometry<NT>(out, {&inputs...});
  // Flat when out is contiguous over the merged dims and every input either
  // follows it element for element or is one value.
  bool flat = g.ndim() <= 1 && (g.ndim() == 0 || g.strides[0][0] == int64_t(sizeof(Out)));
  DevArray<int64_t, sizeof...(In)> step{};
  {
    constexpr size_t sizes[sizeof...(In) + 1] = {sizeof(In)...};  // + 1: a nullary loop has none
    for (size_t k = 1; flat && k < NT; ++k) {
      const int64_t st = g.ndim() == 0 ? 0 : g.strides[k][0];
      flat = st == 0 || st == int64_t(sizes[k - 1]);
      step.v[k - 1] = st == 0 ? 0 : 1;
    }
  }
  PointwiseBody<Out, F, In...> body{f, {}, step, {}};
  for (size_t k = 0; k < NT; ++k) body.data.v[k] = g.data[k];
  if (flat) {
    flat_kernel<<<grid_for(n), kBlock, 0, s>>>(n, body);
  } else {
    body.calc = loop::make_offset_calc(g, op);
    strided_kernel<<<grid_for(n), kBlock, 0, s>>>(n, body);
  }
  check_launch(op);
}

// The entry of the generated pointwise kernels (ops.yaml `scalar:`): every
// input read as T, the output written as Out (bool for comparisons); f
// computes in opmath_t<T>.
template <typename T, typename>
using as_t = T;
template <typename T, typename Out = T, typename F, typename... Ts>
void pointwise(const char* op, const TensorBase& out, const F& f, const Ts&... inputs) {
  gpu_elementwise<Out, as_t<T, Ts>...>(op, out, f, inputs...);
}

// The forms hand-written kernels use: every tensor of element type T.
template <typename T, typename F>
void gpu_nullary(const char* op, const TensorBase& out, const F& f) {
  gpu_elementwise<T>(op, out, f);
}
template <typename T, typename F>
void gpu_unary(const char* op, const TensorBase& out, const TensorBase& a, const F& f) {
  gpu_elementwise<T, T>(op, out, f, a);
}
template <typename T, typename F>
void gpu_binary(const char* op, const TensorBase& out, const TensorBase& a, const TensorBase& b, const F& f) {
  gpu_elementwise<T, T, T>(op, out, f, a, b);
}
template <typename T, typename F>
void gpu_ternary(const char* op, const TensorBase& out, const TensorBase& a, const TensorBase& b, const TensorBase& c,
                 const F& f) {
  gpu_elementwise<T, T, T, T>(op, out, f, a, b, c);
}

}  // namespace dg::cuda
