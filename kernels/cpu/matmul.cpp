// mm and bmm. float32 goes to oneDNN's matmul primitive, whose memory
// descriptors carry the operands' strides, so a transposed input costs no
// copy. oneDNN has no f64 matmul on the CPU; float64 uses a register-tiled
// loop kernel over packed operands.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <immintrin.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "common/mat_view.h"
#include "cpu/loops.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

using matrix::blas_layout;
using matrix::mat_view;
using matrix::MatView;

// A contiguous copy of t (same dtype): for layouts oneDNN or the f64 kernel
// cannot read directly (expanded rows, arbitrary 2-D strides).
TensorBase contiguous_copy(const TensorBase& t) {
  TensorBase c = make_empty(t.sizes(), t.dtype(), t.device());
  visit_dtype(t.dtype(), [&]<typename S>() { unary_kernel<S>(c, t, [](S x) { return x; }); });
  return c;
}

// ---------------------------------------------------------------- oneDNN f32

struct DnnlKey {
  std::array<int64_t, 13> v;
  bool operator==(const DnnlKey& o) const { return v == o.v; }
};
struct DnnlKeyHash {
  size_t operator()(const DnnlKey& k) const {
    size_t h = 1469598103934665603ull;
    for (int64_t x : k.v) h = (h ^ static_cast<size_t>(x)) * 1099511628211ull;
    return h;
  }
};

class DnnlContext {
 public:
  static DnnlContext& get() {
    static DnnlContext ctx;
    return ctx;
  }
  const dnnl::engine& engine() const { return engine_; }

  // Primitives are immutable after creation and safe to execute from several
  // threads at once, so the cache hands out copies (shared handles).
  struct Entry {
    dnnl::matmul prim;
    dnnl::memory::desc a, b, c;
  };

  Entry primitive(const MatView& a, const MatView& b, int64_t batch, int64_t M, int64_t N, int64_t K) {
    DnnlKey key{{batch, M, N, K, a.batch, a.sb, a.sr, a.sc, b.batch, b.sb, b.sr, b.sc, 0}};
    std::lock_guard<std::mutex> lk(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    using dt = dnnl::memory::data_type;
    // A batch stride of 0 is oneDNN's batch broadcast: a batch dim of 1.
    auto md = [](const MatView& m, int64_t rows, int64_t cols) {
      const int64_t nb = m.sb == 0 ? 1 : m.batch;
      return dnnl::memory::desc({nb, rows, cols}, dt::f32, {m.sb == 0 ? rows * cols : m.sb, m.sr, m.sc});
    };
    dnnl::memory::desc dst({batch, M, N}, dt::f32, {M * N, N, 1});
    Entry e{{}, md(a, M, K), md(b, K, N), dst};
    e.prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(e.a, e.b, e.c), engine_));
    if (cache_.size() >= kMaxEntries) cache_.clear();  // shapes churn rarely; keep it bounded
    cache_.emplace(key, e);
    return e;
  }

 private:
  static constexpr size_t kMaxEntries = 512;
  DnnlContext() : engine_(dnnl::engine::kind::cpu, 0) {}
  dnnl::engine engine_;
  std::mutex mutex_;
  std::unordered_map<DnnlKey, Entry, DnnlKeyHash> cache_;
};

void dnnl_matmul(float* out, const float* a_ptr, MatView a, const float* b_ptr, MatView b, int64_t batch) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  DnnlContext& ctx = DnnlContext::get();
  const DnnlContext::Entry e = ctx.primitive(a, b, batch, M, N, K);
  // The stream is per thread: streams, unlike primitives, are not meant to
  // be shared between threads.
  thread_local dnnl::stream stream(ctx.engine());
  dnnl::memory am(e.a, ctx.engine(), const_cast<float*>(a_ptr));
  dnnl::memory bm(e.b, ctx.engine(), const_cast<float*>(b_ptr));
  dnnl::memory cm(e.c, ctx.engine(), out);
  e.prim.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
}

// ---------------------------------------------------------------- loop kernel

// Packs one matrix of a batch into a dense row-major buffer.
template <typename T>
void pack(T* dst, const T* src, const MatView& m, int64_t bi) {
  const T* base = src + (m.batch == 1 ? 0 : bi * m.sb);
  for (int64_t r = 0; r < m.rows; ++r) {
    const T* row = base + r * m.sr;
    T* d = dst + r * m.cols;
    if (m.sc == 1) {
      std::memcpy(d, row, static_cast<size_t>(m.cols) * sizeof(T));
    } else {
      for (int64_t c = 0; c < m.cols; ++c) d[c] = row[c * m.sc];
    }
  }
}

// C (M x N) += A (M x K) * B (K x N), all dense row-major. Blocks keep a
// panel of B in L2; the 4 x 8 tile of C lives in registers across the k loop.
template <typename T>
void gemm_dense(T* C, const T* A, const T* B, int64_t M, int64_t N, int64_t K) {
  constexpr int64_t MR = 4, NR = 8, KB = 256, NB = 512;
  for (int64_t j0 = 0; j0 < N; j0 += NB) {
    const int64_t j1 = std::min(N, j0 + NB);
    for (int64_t k0 = 0; k0 < K; k0 += KB) {
      const int64_t k1 = std::min(K, k0 + KB);
      int64_t i = 0;
      for (; i + MR <= M; i += MR) {
        int64_t j = j0;
        for (; j + NR <= j1; j += NR) {
          T acc[MR][NR];
          for (int64_t r = 0; r < MR; ++r)
            for (int64_t c = 0; c < NR; ++c) acc[r][c] = C[(i + r) * N + j + c];
          for (int64_t k = k0; k < k1; ++k) {
            const T* b = B + k * N + j;
            for (int64_t r = 0; r < MR; ++r) {
              const T a = A[(i + r) * K + k];
              for (int64_t c = 0; c < NR; ++c) acc[r][c] += a * b[c];
            }
          }
          for (int64_t r = 0; r < MR; ++r)
            for (int64_t c = 0; c < NR; ++c) C[(i + r) * N + j + c] = acc[r][c];
        }
        for (; j < j1; ++j) {  // right edge
          for (int64_t r = 0; r < MR; ++r) {
            T s = C[(i + r) * N + j];
            for (int64_t k = k0; k < k1; ++k) s += A[(i + r) * K + k] * B[k * N + j];
            C[(i + r) * N + j] = s;
          }
        }
      }
      for (; i < M; ++i) {  // bottom edge: one row at a time, i-k-j order
        T* c = C + i * N;
        for (int64_t k = k0; k < k1; ++k) {
          const T a = A[i * K + k];
          const T* b = B + k * N;
#pragma GCC ivdep
          for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
        }
      }
    }
  }
}

// ---------------------------------------------------------------- small f32

// Small float32 products (an RNN step, a linear layer on a handful of rows)
// are dominated by call overhead in a BLAS; this register-tiled kernel runs
// on the calling thread. It reads A through its strides (one broadcast
// element at a time, so any layout works) and B from a dense row-major
// panel (packed when B is not already one). Compiled for AVX2+FMA and
// chosen at run time; machines without them take loop_matmul below.
__attribute__((target("avx2,fma"))) void small_sgemm_avx2(float* C, const float* A, int64_t ars, int64_t acs,
                                                          const float* B, int64_t M, int64_t N, int64_t K) {
  int64_t j = 0;
  for (; j + 16 <= N; j += 16) {
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) {
      __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(),
             c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
      const float* a = A + i * ars;
      for (int64_t k = 0; k < K; ++k) {
        const __m256 b0 = _mm256_loadu_ps(B + k * N + j), b1 = _mm256_loadu_ps(B + k * N + j + 8);
        const float* ak = a + k * acs;
        __m256 x = _mm256_broadcast_ss(ak);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(ak + ars);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(ak + 2 * ars);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(ak + 3 * ars);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
      }
      float* c = C + i * N + j;
      _mm256_storeu_ps(c, c00);
      _mm256_storeu_ps(c + 8, c01);
      _mm256_storeu_ps(c + N, c10);
      _mm256_storeu_ps(c + N + 8, c11);
      _mm256_storeu_ps(c + 2 * N, c20);
      _mm256_storeu_ps(c + 2 * N + 8, c21);
      _mm256_storeu_ps(c + 3 * N, c30);
      _mm256_storeu_ps(c + 3 * N + 8, c31);
    }
    for (; i < M; ++i) {  // bottom rows, one at a time
      __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; ++k) {
        const __m256 x = _mm256_broadcast_ss(A + i * ars + k * acs);
        c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(B + k * N + j), c0);
        c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(B + k * N + j + 8), c1);
      }
      _mm256_storeu_ps(C + i * N + j, c0);
      _mm256_storeu_ps(C + i * N + j + 8, c1);
    }
  }
  for (; j + 8 <= N; j += 8) {  // an 8-wide column strip
    for (int64_t i = 0; i < M; ++i) {
      __m256 c0 = _mm256_setzero_ps();
      for (int64_t k = 0; k < K; ++k)
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(A + i * ars + k * acs), _mm256_loadu_ps(B + k * N + j), c0);
      _mm256_storeu_ps(C + i * N + j, c0);
    }
  }
  for (; j < N; ++j) {  // right edge columns
    for (int64_t i = 0; i < M; ++i) {
      float s = 0;
      for (int64_t k = 0; k < K; ++k) s = std::fma(A[i * ars + k * acs], B[k * N + j], s);
      C[i * N + j] = s;
    }
  }
}

bool cpu_has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void small_sgemm(float* out, const float* a_ptr, const MatView& a, const float* b_ptr, const MatView& b,
                 int64_t batch) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  const bool b_dense = b.sc == 1 && b.sr == N;
  thread_local std::vector<float> panel;
  if (!b_dense) panel.resize(static_cast<size_t>(K * N));
  for (int64_t bi = 0; bi < batch; ++bi) {
    const float* A = a_ptr + (a.batch == 1 ? 0 : bi * a.sb);
    const float* B = b_ptr + (b.batch == 1 ? 0 : bi * b.sb);
    if (!b_dense) {
      if (bi == 0 || b.batch > 1) pack(panel.data(), b_ptr, b, bi);  // a shared B is packed once
      B = panel.data();
    }
    small_sgemm_avx2(out + bi * M * N, A, a.sr, a.sc, B, M, N, K);
  }
}

template <typename T>
void loop_matmul(T* out, const T* a_ptr, const MatView& a, const T* b_ptr, const MatView& b, int64_t batch) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  const bool a_dense = a.sc == 1 && a.sr == K;
  const bool b_dense = b.sc == 1 && b.sr == N;
  parallel_for(batch, M * N * K, [&](int64_t b0, int64_t b1) {
    std::vector<T> pa(a_dense ? 0 : static_cast<size_t>(M * K)), pb(b_dense ? 0 : static_cast<size_t>(K * N));
    for (int64_t bi = b0; bi < b1; ++bi) {
      const T* A = a_ptr + (a.batch == 1 ? 0 : bi * a.sb);
      const T* B = b_ptr + (b.batch == 1 ? 0 : bi * b.sb);
      if (!a_dense) {
        pack(pa.data(), a_ptr, a, bi);
        A = pa.data();
      }
      if (!b_dense) {
        pack(pb.data(), b_ptr, b, bi);
        B = pb.data();
      }
      T* C = out + bi * M * N;
      std::fill(C, C + M * N, T(0));
      gemm_dense(C, A, B, M, N, K);
    }
  });
}

// Below this many multiply-adds a float32 product runs in small_sgemm on the
// calling thread: a oneDNN call costs a primitive lookup, memory objects and
// an OpenMP fork/join, several microseconds, more than the arithmetic of an
// 8x32 @ 32x32 RNN step. Measured on 2 EPYC cores (square n: small kernel vs
// oneDNN): n=32 0.8 vs 2.0 us, n=64 5.0 vs 6.2 us, n=128 39 vs 38 us.
constexpr int64_t kSmallMatmulMacs = int64_t(64) * 64 * 64;

template <typename T>
void matmul_impl(const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  MatView a = mat_view(self), b = mat_view(mat2);
  const int64_t batch = self.dim() == 3 ? self.size(0) : 1;
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  if (out.numel() == 0) return;
  TensorBase dst = out.is_contiguous() ? out : make_empty(out.sizes(), out.dtype(), out.device());
  if (K == 0) {
    std::memset(dst.data_ptr(), 0, dst.nbytes());
  } else {
    // Layouts neither kernel reads directly are packed once up front.
    TensorBase sa = self, sb = mat2;
    if (!blas_layout(a)) {
      sa = contiguous_copy(self);
      a = mat_view(sa);
      blas_layout(a);
    }
    if (!blas_layout(b)) {
      sb = contiguous_copy(mat2);
      b = mat_view(sb);
      blas_layout(b);
    }
    if (a.batch > 1 && a.sb == 0 && b.batch > 1 && b.sb == 0) {
      // Both operands broadcast over the batch: one product, copied out.
      a.batch = b.batch = 1;
      TensorBase one = make_empty({M, N}, out.dtype(), out.device());
      if constexpr (std::is_same_v<T, float>) {
        dnnl_matmul(one.data_ptr<T>(), sa.data_ptr<T>(), a, sb.data_ptr<T>(), b, 1);
      } else {
        loop_matmul<T>(one.data_ptr<T>(), sa.data_ptr<T>(), a, sb.data_ptr<T>(), b, 1);
      }
      for (int64_t i = 0; i < batch; ++i) std::memcpy(dst.data_ptr<T>() + i * M * N, one.data_ptr<T>(), one.nbytes());
    } else if (std::is_same_v<T, float> && (batch * M * N * K > kSmallMatmulMacs || !cpu_has_avx2_fma())) {
      // (oneDNN reads a batch stride of 0 as a broadcast itself.)
      dnnl_matmul(reinterpret_cast<float*>(dst.data_ptr<T>()), reinterpret_cast<const float*>(sa.data_ptr<T>()), a,
                  reinterpret_cast<const float*>(sb.data_ptr<T>()), b, batch);
    } else {
      // The loop kernels read an operand shared by the whole batch as batch 1.
      if (a.sb == 0) a.batch = 1;
      if (b.sb == 0) b.batch = 1;
      if constexpr (std::is_same_v<T, float>) {
        small_sgemm(dst.data_ptr<T>(), sa.data_ptr<T>(), a, sb.data_ptr<T>(), b, batch);
      } else {
        loop_matmul<T>(dst.data_ptr<T>(), sa.data_ptr<T>(), a, sb.data_ptr<T>(), b, batch);
      }
    }
  }
  if (!dst.is_same(out)) unary_kernel<T>(out, dst, [](T x) { return x; });
}

}  // namespace

template <typename T>
void mm(const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  matmul_impl<T>(out, self, mat2);
}

template <typename T>
void bmm(const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  matmul_impl<T>(out, self, mat2);
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_mm;
DG_INSTANTIATE_KERNEL_cpu_bmm;
