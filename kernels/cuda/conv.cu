// Convolution on CUDA (1-, 2- and 3-D, groups, stride, padding, dilation,
// transposed): the counterpart of kernels/cpu/conv.cpp, built from the same
// three products of one ordinary convolution y = conv(x, w):
//   forward          x, w  -> y    im2col, then W_g x cols per group
//   backward data    gy, w -> gx   W_g^T x gy per group, then col2im
//   backward weights gy, x -> gw   gy x cols^T per group, summed over samples
// A transposed convolution is the backward-data product of the ordinary
// convolution it inverts (and its backward-data is the ordinary forward), so
// these three serve convolution_nobias, convolution_backward_input and
// convolution_backward_weight in both modes, as on the CPU.
//
// Column buffers are [samples, C * K, L] (K kernel taps, L output
// positions): group g's rows of one sample are the block [g * Cg * K, (g + 1)
// * Cg * K). Samples go through in chunks that keep the buffer under
// kColumnBytes. A 1x1 kernel at stride 1 without padding needs no columns:
// the input is its own column matrix.
#include <algorithm>
#include <cstdint>

#include "blas.cuh"
#include "dynagrad/meta.h"
#include "kernel_decls.h"
#include "loops.cuh"

namespace dg::cuda {

namespace {

constexpr int kMaxSpatial = 3;
constexpr int64_t kColumnBytes = int64_t(256) << 20;

// One ordinary convolution: x [N, C, *in] * w [O, C / G, *k] -> y [N, O, *out].
// Fewer than three spatial dims are padded in front with size-1 dims (kernel
// 1, stride 1, no padding), so every loop below is 3-D.
struct ConvGeom {
  int64_t N, C, O, G;
  int64_t in[kMaxSpatial], k[kMaxSpatial], out[kMaxSpatial];
  int64_t s[kMaxSpatial], p[kMaxSpatial], d[kMaxSpatial];

  __host__ __device__ int64_t Cg() const { return C / G; }
  __host__ __device__ int64_t Og() const { return O / G; }
  __host__ __device__ int64_t in_numel() const { return in[0] * in[1] * in[2]; }
  __host__ __device__ int64_t taps() const { return k[0] * k[1] * k[2]; }
  __host__ __device__ int64_t out_numel() const { return out[0] * out[1] * out[2]; }
  // The input is its own column matrix: one tap, reading each output
  // position's own input position.
  bool pointwise() const {
    for (int j = 0; j < kMaxSpatial; ++j)
      if (k[j] != 1 || s[j] != 1 || p[j] != 0 || in[j] != out[j]) return false;
    return true;
  }
};

ConvGeom make_geom(IntArrayRef x, IntArrayRef w, IntArrayRef y, IntArrayRef stride, IntArrayRef padding,
                   IntArrayRef dilation, int64_t groups) {
  const char* op = "convolution";
  const int64_t spatial = static_cast<int64_t>(w.size()) - 2;
  DG_CHECK(spatial >= 1 && spatial <= kMaxSpatial, op, ": expected 1 to ", kMaxSpatial,
           " spatial dimensions, got weight of shape ", w);
  const DimVector s = meta::expand_param(op, "stride", stride, spatial);
  const DimVector p = meta::expand_param(op, "padding", padding, spatial);
  const DimVector d = meta::expand_param(op, "dilation", dilation, spatial);
  ConvGeom g{};
  g.N = x[0], g.C = x[1], g.O = w[0], g.G = groups;
  const int64_t lead = kMaxSpatial - spatial;
  for (int64_t j = 0; j < kMaxSpatial; ++j) {
    const bool real = j >= lead;
    const size_t i = static_cast<size_t>(j - lead);
    g.in[j] = real ? x[2 + i] : 1;
    g.k[j] = real ? w[2 + i] : 1;
    g.out[j] = real ? y[2 + i] : 1;
    g.s[j] = real ? s[i] : 1;
    g.p[j] = real ? p[i] : 0;
    g.d[j] = real ? d[i] : 1;
  }
  return g;
}

#define DG_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// cols[n][c * K + tap][l] = x[n][c][l * stride - pad + tap * dilation], or 0
// in the padding; for `samples` samples from x.
template <typename T>
__global__ void im2col_kernel(ConvGeom g, int64_t samples, const T* x, T* cols) {
  const int64_t L = g.out_numel(), K = g.taps(), IN = g.in_numel();
  DG_GRID_STRIDE(idx, samples * g.C * K * L) {
    int64_t l = idx % L, tap = (idx / L) % K;
    const int64_t plane = idx / (L * K);  // n * C + c
    int64_t off = 0, step = 1;
    bool inside = true;
    for (int j = kMaxSpatial - 1; j >= 0; --j) {
      const int64_t o = l % g.out[j], kj = tap % g.k[j];
      l /= g.out[j], tap /= g.k[j];
      const int64_t i = o * g.s[j] - g.p[j] + kj * g.d[j];
      inside = inside && i >= 0 && i < g.in[j];
      off += i * step;
      step *= g.in[j];
    }
    cols[idx] = inside ? x[plane * IN + off] : T(0);
  }
}

// The adjoint of im2col: x[n][c][i] = the sum of every column entry that
// im2col would read from x[n][c][i]. One thread per input element gathers
// them (deterministic, no atomics): tap t reads i from output position
// (i + pad - t * dilation) / stride when that divides and lies in range.
template <typename T>
__global__ void col2im_kernel(ConvGeom g, int64_t samples, const T* cols, T* x) {
  const int64_t L = g.out_numel(), K = g.taps(), IN = g.in_numel();
  DG_GRID_STRIDE(idx, samples * g.C * IN) {
    const int64_t plane = idx / IN;  // n * C + c
    int64_t pos[kMaxSpatial];
    for (int64_t j = kMaxSpatial - 1, r = idx % IN; j >= 0; --j) {
      pos[j] = r % g.in[j];
      r /= g.in[j];
    }
    const T* pc = cols + plane * K * L;
    T acc = T(0);
    for (int64_t tap = 0; tap < K; ++tap) {
      int64_t l = 0, step = 1, rest = tap;
      bool hit = true;
      for (int j = kMaxSpatial - 1; j >= 0 && hit; --j) {
        const int64_t kj = rest % g.k[j];
        rest /= g.k[j];
        const int64_t t = pos[j] + g.p[j] - kj * g.d[j];
        hit = t >= 0 && t % g.s[j] == 0 && t / g.s[j] < g.out[j];
        l += (t / g.s[j]) * step;
        step *= g.out[j];
      }
      if (hit) acc += pc[tap * L + l];
    }
    x[idx] = acc;
  }
}

template <typename T>
void im2col(const char* op, int device, const ConvGeom& g, int64_t samples, const T* x, T* cols) {
  im2col_kernel<T><<<grid_for(samples * g.C * g.taps() * g.out_numel()), kBlock, 0, stream(device)>>>(g, samples, x,
                                                                                                      cols);
  check_launch(op);
}

template <typename T>
void col2im(const char* op, int device, const ConvGeom& g, int64_t samples, const T* cols, T* x) {
  col2im_kernel<T><<<grid_for(samples * g.C * g.in_numel()), kBlock, 0, stream(device)>>>(g, samples, cols, x);
  check_launch(op);
}

// ---------------------------------------------------------------- dense operands

template <typename T>
struct Identity {
  __device__ T operator()(T v) const { return v; }
};

// `t` itself when contiguous, else a contiguous copy: the products index
// dense [N, C, *spatial] memory.
template <typename T>
Tensor dense(const char* op, const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = make_empty(t.sizes(), t.dtype(), t.device());
  gpu_unary<T>(op, c, t, Identity<T>{});
  return c;
}

// A dense tensor to write into, copied into `out` by finish() when `out`
// is not dense itself.
template <typename T>
struct DenseOut {
  const char* op;
  const Tensor& out;
  Tensor dst;
  DenseOut(const char* o, const Tensor& t)
      : op(o), out(t), dst(t.is_contiguous() ? t : make_empty(t.sizes(), t.dtype(), t.device())) {}
  T* data() const { return dst.template data_ptr<T>(); }
  void zero(int device) const {
    check(cudaMemsetAsync(dst.data_ptr(), 0, dst.nbytes(), stream(device)), op, "cudaMemsetAsync");
  }
  void finish() const {
    if (!dst.is_same(out)) gpu_unary<T>(op, out, dst, Identity<T>{});
  }
};

// Samples per chunk: as many as keep `per_sample` elements each under
// kColumnBytes, at least one.
int64_t chunk_samples(int64_t N, int64_t per_sample, size_t elem) {
  const int64_t bytes = std::max<int64_t>(per_sample * static_cast<int64_t>(elem), 1);
  return std::clamp<int64_t>(kColumnBytes / bytes, 1, std::max<int64_t>(N, 1));
}

// ---------------------------------------------------------------- grouped products

// One operand of a product per (sample, group): the matrix of sample s and
// group g starts at p + s * per_sample + g * per_group; ld between rows.
template <typename P>
struct Mats {
  P* p;
  int64_t ld, per_sample, per_group;
};

// C_sg = op(A_sg) op(B_sg) + beta C_sg for every sample and group, as one
// batched gemm per group (or per sample, whichever axis is longer).
template <typename T>
void grouped_gemm(const char* op, int device, bool ta, bool tb, int64_t m, int64_t n, int64_t k, Mats<const T> a,
                  Mats<const T> b, T beta, Mats<T> c, int64_t samples, int64_t groups) {
  if (samples >= groups) {
    for (int64_t g = 0; g < groups; ++g)
      gemm<T>(op, device, ta, tb, m, n, k, T(1), a.p + g * a.per_group, a.ld, a.per_sample, b.p + g * b.per_group,
              b.ld, b.per_sample, beta, c.p + g * c.per_group, c.ld, c.per_sample, samples);
  } else {
    for (int64_t s = 0; s < samples; ++s)
      gemm<T>(op, device, ta, tb, m, n, k, T(1), a.p + s * a.per_sample, a.ld, a.per_group, b.p + s * b.per_sample,
              b.ld, b.per_group, beta, c.p + s * c.per_sample, c.ld, c.per_group, groups);
  }
}

// The column matrices of a chunk as grouped operands (rows Cg * K, length L).
template <typename P>
Mats<P> cols_mats(P* cols, const ConvGeom& g) {
  const int64_t L = g.out_numel(), CgK = g.Cg() * g.taps();
  return {cols, L, g.C * g.taps() * L, CgK * L};
}

// The columns of samples [n0, n0 + nb): the input itself when pointwise,
// else im2col into `scratch`.
template <typename T>
const T* columns(const char* op, int device, const ConvGeom& g, const T* x, int64_t n0, int64_t nb, T* scratch) {
  const T* xs = x + n0 * g.C * g.in_numel();
  if (g.pointwise()) return xs;
  im2col<T>(op, device, g, nb, xs, scratch);
  return scratch;
}

// A scratch column buffer for `chunk` samples, or none when pointwise.
Tensor column_buffer(const ConvGeom& g, int64_t chunk, ScalarType dtype, Device device) {
  if (g.pointwise()) return Tensor();
  return make_empty({chunk * g.C * g.taps() * g.out_numel()}, dtype, device);
}

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// ---------------------------------------------------------------- the three products

template <typename T>
void conv_forward(const char* op, const Tensor& y, const Tensor& x, const Tensor& w, const ConvGeom& g) {
  DeviceGuard guard(y);
  const int dev = guard.device();
  DenseOut<T> yd(op, y);
  if (g.Cg() == 0) {  // nothing to sum over
    yd.zero(dev);
    yd.finish();
    return;
  }
  const Tensor xd = dense<T>(op, x), wd = dense<T>(op, w);
  const int64_t K = g.taps(), L = g.out_numel(), CgK = g.Cg() * K, Og = g.Og();
  const int64_t chunk = chunk_samples(g.N, g.C * K * L, sizeof(T));
  const Tensor scratch = column_buffer(g, chunk, y.dtype(), y.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    const T* cols = columns<T>(op, dev, g, xd.data_ptr<T>(), n0, nb, data_or_null<T>(scratch));
    // y_sg [Og, L] = W_g [Og, CgK] x cols_sg [CgK, L]
    grouped_gemm<T>(op, dev, false, false, Og, L, CgK, {wd.data_ptr<T>(), CgK, 0, Og * CgK}, cols_mats(cols, g),
                    T(0), {yd.data() + n0 * g.O * L, L, g.O * L, Og * L}, nb, g.G);
  }
  yd.finish();
}

template <typename T>
void conv_backward_data(const char* op, const Tensor& gx, const Tensor& gy, const Tensor& w, const ConvGeom& g) {
  DeviceGuard guard(gx);
  const int dev = guard.device();
  DenseOut<T> gxd(op, gx);
  if (g.Og() == 0) {  // no output channel feeds any input
    gxd.zero(dev);
    gxd.finish();
    return;
  }
  const Tensor gyd = dense<T>(op, gy), wd = dense<T>(op, w);
  const int64_t K = g.taps(), L = g.out_numel(), CgK = g.Cg() * K, Og = g.Og(), IN = g.in_numel();
  const int64_t chunk = chunk_samples(g.N, g.C * K * L, sizeof(T));
  const Tensor scratch = column_buffer(g, chunk, gx.dtype(), gx.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    T* xs = gxd.data() + n0 * g.C * IN;
    T* cols = g.pointwise() ? xs : scratch.data_ptr<T>();
    // cols_sg [CgK, L] = W_g^T (W_g is [Og, CgK]) x gy_sg [Og, L]
    grouped_gemm<T>(op, dev, true, false, CgK, L, Og, {wd.data_ptr<T>(), CgK, 0, Og * CgK},
                    {gyd.data_ptr<T>() + n0 * g.O * L, L, g.O * L, Og * L}, T(0), cols_mats(cols, g), nb, g.G);
    if (!g.pointwise()) col2im<T>(op, dev, g, nb, cols, xs);
  }
  gxd.finish();
}

template <typename T>
void conv_backward_weight(const char* op, const Tensor& gw, const Tensor& gy, const Tensor& x, const ConvGeom& g) {
  DeviceGuard guard(gw);
  const int dev = guard.device();
  DenseOut<T> gwd(op, gw);
  if (g.N == 0) {  // no sample contributes
    gwd.zero(dev);
    gwd.finish();
    return;
  }
  const Tensor gyd = dense<T>(op, gy), xd = dense<T>(op, x);
  const int64_t K = g.taps(), L = g.out_numel(), CgK = g.Cg() * K, Og = g.Og();
  const int64_t chunk = chunk_samples(g.N, g.C * K * L, sizeof(T));
  const Tensor scratch = column_buffer(g, chunk, gw.dtype(), gw.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    const T* cols = columns<T>(op, dev, g, xd.data_ptr<T>(), n0, nb, data_or_null<T>(scratch));
    // gw_g [Og, CgK] (+)= gy_ng [Og, L] x cols_ng^T (cols_ng is [CgK, L]),
    // one sample at a time: every sample adds into the same gw.
    for (int64_t i = 0; i < nb; ++i) {
      const Mats<const T> c = cols_mats(cols + i * g.C * K * L, g);
      grouped_gemm<T>(op, dev, false, true, Og, CgK, L, {gyd.data_ptr<T>() + (n0 + i) * g.O * L, L, 0, Og * L},
                      c, n0 + i == 0 ? T(0) : T(1), {gwd.data(), CgK, 0, Og * CgK}, 1, g.G);
    }
  }
  gwd.finish();
}

}  // namespace

// The ordinary convolution behind each op, in the roles (x, w, y) above.
template <typename T>
void convolution_nobias(const Tensor& out, const Tensor& input, const Tensor& weight, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                        int64_t groups) {
  (void)output_padding;  // already in out's shape
  constexpr const char* op = "convolution";
  if (out.numel() == 0) return;
  if (!transposed) {
    conv_forward<T>(op, out, input, weight,
                    make_geom(input.sizes(), weight.sizes(), out.sizes(), stride, padding, dilation, groups));
  } else {
    conv_backward_data<T>(op, out, input, weight,
                          make_geom(out.sizes(), weight.sizes(), input.sizes(), stride, padding, dilation, groups));
  }
}

template <typename T>
void convolution_backward_input(const Tensor& out, const Tensor& grad_output, const Tensor& weight,
                                IntArrayRef input_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                                bool transposed, IntArrayRef output_padding, int64_t groups) {
  (void)input_size;
  (void)output_padding;
  constexpr const char* op = "convolution_backward_input";
  if (out.numel() == 0) return;
  if (!transposed) {
    conv_backward_data<T>(op, out, grad_output, weight,
                          make_geom(out.sizes(), weight.sizes(), grad_output.sizes(), stride, padding, dilation, groups));
  } else {
    conv_forward<T>(op, out, grad_output, weight,
                    make_geom(grad_output.sizes(), weight.sizes(), out.sizes(), stride, padding, dilation, groups));
  }
}

template <typename T>
void convolution_backward_weight(const Tensor& out, const Tensor& grad_output, const Tensor& input,
                                 IntArrayRef weight_size, IntArrayRef stride, IntArrayRef padding,
                                 IntArrayRef dilation, bool transposed, IntArrayRef output_padding, int64_t groups) {
  (void)weight_size;
  (void)output_padding;
  constexpr const char* op = "convolution_backward_weight";
  if (out.numel() == 0) return;
  if (!transposed) {
    conv_backward_weight<T>(op, out, grad_output, input,
                            make_geom(input.sizes(), out.sizes(), grad_output.sizes(), stride, padding, dilation, groups));
  } else {
    // The transposed op's input plays the ordinary convolution's output.
    conv_backward_weight<T>(op, out, input, grad_output,
                            make_geom(grad_output.sizes(), out.sizes(), input.sizes(), stride, padding, dilation, groups));
  }
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_convolution_nobias
DG_INSTANTIATE_KERNEL_cuda_convolution_backward_input
DG_INSTANTIATE_KERNEL_cuda_convolution_backward_weight
