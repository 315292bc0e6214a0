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

#include "common/conv_geometry.h"
#include "cuda/blas.cuh"
#include "cuda/cuda_common.cuh"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using conv::kMaxSpatial;
using ConvGeom = conv::Geom;
constexpr int64_t kColumnBytes = int64_t(256) << 20;

// The input is its own column matrix: one tap, reading each output
// position's own input position.
bool pointwise(const ConvGeom& g) {
  for (int j = 0; j < kMaxSpatial; ++j)
    if (g.k[j] != 1 || g.s[j] != 1 || g.p[j] != 0 || g.in[j] != g.out[j]) return false;
  return true;
}

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
  im2col_kernel<T>
      <<<grid_for(samples * g.C * g.taps() * g.out_numel()), kBlock, 0, stream(device)>>>(g, samples, x, cols);
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
TensorBase dense(const char* op, const TensorBase& t) {
  if (t.is_contiguous()) return t;
  TensorBase c = make_empty(t.sizes(), t.dtype(), t.device());
  gpu_unary<T>(op, c, t, Identity<T>{});
  return c;
}

// A dense tensor to write into, copied into `out` by finish() when `out`
// is not dense itself.
template <typename T>
struct DenseOut {
  const char* op;
  const TensorBase& out;
  TensorBase dst;
  DenseOut(const char* o, const TensorBase& t)
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
      gemm<T>(op, device, ta, tb, m, n, k, T(1), a.p + g * a.per_group, a.ld, a.per_sample, b.p + g * b.per_group, b.ld,
              b.per_sample, beta, c.p + g * c.per_group, c.ld, c.per_sample, samples);
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
  if (pointwise(g)) return xs;
  im2col<T>(op, device, g, nb, xs, scratch);
  return scratch;
}

// A scratch column buffer for `chunk` samples, or none when pointwise.
TensorBase column_buffer(const ConvGeom& g, int64_t chunk, ScalarType dtype, Device device) {
  if (pointwise(g)) return TensorBase();
  return make_empty({chunk * g.C * g.taps() * g.out_numel()}, dtype, device);
}

template <typename T>
T* data_or_null(const TensorBase& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// ---------------------------------------------------------------- the three products

// A chunk of samples [n0, n0 + nb) of one product: its dense operands (a and
// b in conv::Plan's roles), its dense output and the column scratch.
template <typename T>
struct Chunk {
  int dev;
  const T* a;
  const T* b;
  T* out;
  T* scratch;
  int64_t n0, nb;
};

// Runs `body` on every chunk of the plan's samples, writing `out` through a
// dense copy; zeros when `empty_sum` (the product sums over nothing).
template <typename T, typename Body>
void for_each_chunk(const char* op, const TensorBase& out, const conv::Plan& p, bool empty_sum, const Body& body) {
  DeviceGuard guard(out);
  DenseOut<T> od(op, out);
  if (empty_sum) {
    od.zero(guard.device());
    od.finish();
    return;
  }
  const TensorBase ad = dense<T>(op, p.a), bd = dense<T>(op, p.b);
  const ConvGeom& g = p.g;
  const int64_t chunk = chunk_samples(g.N, g.C * g.taps() * g.out_numel(), sizeof(T));
  const TensorBase scratch = column_buffer(g, chunk, out.dtype(), out.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    body(Chunk<T>{guard.device(), ad.data_ptr<T>(), bd.data_ptr<T>(), od.data(), data_or_null<T>(scratch), n0,
                  std::min(chunk, g.N - n0)});
  }
  od.finish();
}

// y = conv(x, w), x and w being the plan's a and b.
template <typename T>
void conv_forward(const char* op, const TensorBase& y, const conv::Plan& p) {
  const ConvGeom& g = p.g;
  const int64_t L = g.out_numel(), CgK = g.Cg() * g.taps(), Og = g.Og();
  for_each_chunk<T>(op, y, p, g.Cg() == 0, [&](const Chunk<T>& c) {
    const T* cols = columns<T>(op, c.dev, g, c.a, c.n0, c.nb, c.scratch);
    // y_sg [Og, L] = W_g [Og, CgK] x cols_sg [CgK, L]
    grouped_gemm<T>(op, c.dev, false, false, Og, L, CgK, {c.b, CgK, 0, Og * CgK}, cols_mats(cols, g), T(0),
                    {c.out + c.n0 * g.O * L, L, g.O * L, Og * L}, c.nb, g.G);
  });
}

// gx from gy and w, the plan's a and b; nothing feeds gx without output
// channels.
template <typename T>
void conv_backward_data(const char* op, const TensorBase& gx, const conv::Plan& p) {
  const ConvGeom& g = p.g;
  const int64_t L = g.out_numel(), CgK = g.Cg() * g.taps(), Og = g.Og(), IN = g.in_numel();
  for_each_chunk<T>(op, gx, p, Og == 0, [&](const Chunk<T>& c) {
    T* xs = c.out + c.n0 * g.C * IN;
    T* cols = pointwise(g) ? xs : c.scratch;
    // cols_sg [CgK, L] = W_g^T (W_g is [Og, CgK]) x gy_sg [Og, L]
    grouped_gemm<T>(op, c.dev, true, false, CgK, L, Og, {c.b, CgK, 0, Og * CgK},
                    {c.a + c.n0 * g.O * L, L, g.O * L, Og * L}, T(0), cols_mats(cols, g), c.nb, g.G);
    if (!pointwise(g)) col2im<T>(op, c.dev, g, c.nb, cols, xs);
  });
}

// gw from gy and x, the plan's a and b; zeros without samples or without
// output positions (L == 0: a transposed convolution of an empty input can
// have a non-empty weight gradient, and a k == 0 gemm is not relied on).
template <typename T>
void conv_backward_weight(const char* op, const TensorBase& gw, const conv::Plan& p) {
  const ConvGeom& g = p.g;
  const int64_t K = g.taps(), L = g.out_numel(), CgK = g.Cg() * K, Og = g.Og();
  for_each_chunk<T>(op, gw, p, g.N == 0 || L == 0, [&](const Chunk<T>& c) {
    const T* cols = columns<T>(op, c.dev, g, c.b, c.n0, c.nb, c.scratch);
    // gw_g [Og, CgK] (+)= gy_ng [Og, L] x cols_ng^T (cols_ng is [CgK, L]),
    // one sample at a time: every sample adds into the same gw.
    for (int64_t i = 0; i < c.nb; ++i) {
      const int64_t n = c.n0 + i;
      grouped_gemm<T>(op, c.dev, false, true, Og, CgK, L, {c.a + n * g.O * L, L, 0, Og * L},
                      cols_mats(cols + i * g.C * K * L, g), n == 0 ? T(0) : T(1), {c.out, CgK, 0, Og * CgK}, 1, g.G);
    }
  });
}

// Runs the product an op's plan names (kernels/common/conv_geometry.h).
template <typename T>
void run(const char* op, const TensorBase& out, const conv::Plan& p) {
  if (out.numel() == 0) return;
  switch (p.product) {
    case conv::Product::kForward: return conv_forward<T>(op, out, p);
    case conv::Product::kBackwardData: return conv_backward_data<T>(op, out, p);
    case conv::Product::kBackwardWeight: return conv_backward_weight<T>(op, out, p);
  }
}

}  // namespace

// output_padding is already in the shapes, and so are input_size and
// weight_size (out's).
template <typename T>
void convolution_nobias(const TensorBase& out, const TensorBase& input, const TensorBase& weight, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/,
                        int64_t groups) {
  run<T>("convolution", out, conv::plan_convolution(out, input, weight, stride, padding, dilation, transposed, groups));
}

template <typename T>
void convolution_backward_input(const TensorBase& out, const TensorBase& grad_output, const TensorBase& weight,
                                IntArrayRef /*input_size*/, IntArrayRef stride, IntArrayRef padding,
                                IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/, int64_t groups) {
  run<T>("convolution_backward_input", out,
         conv::plan_backward_input(out, grad_output, weight, stride, padding, dilation, transposed, groups));
}

template <typename T>
void convolution_backward_weight(const TensorBase& out, const TensorBase& grad_output, const TensorBase& input,
                                 IntArrayRef /*weight_size*/, IntArrayRef stride, IntArrayRef padding,
                                 IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/,
                                 int64_t groups) {
  run<T>("convolution_backward_weight", out,
         conv::plan_backward_weight(out, grad_output, input, stride, padding, dilation, transposed, groups));
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_convolution_nobias;
DG_INSTANTIATE_KERNEL_cuda_convolution_backward_input;
DG_INSTANTIATE_KERNEL_cuda_convolution_backward_weight;
