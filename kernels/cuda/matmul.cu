// mm and bmm on cuBLAS. Operands reach cuBLAS in their own layout when it is
// row- or column-major (a transposed weight costs no copy); anything else is
// copied contiguous first, as on the CPU.
#include "common/mat_view.h"
#include "cuda/blas.cuh"
#include "cuda/loops.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

template <typename T>
struct Identity {
  __device__ T operator()(T x) const { return x; }
};

// A BLAS view of t: row-major with leading dimension ld, or (trans) the
// row-major view of its transpose. `keep` holds a contiguous copy when t's
// layout is neither.
struct Operand {
  const void* data;
  bool trans;
  int64_t ld, stride;
  TensorBase keep;
};

// (The copies here are kernels, not TensorBase ops: a kernel runs below autograd
// and must not record history, as on the CPU.)
template <typename T>
Operand operand(const char* op, const TensorBase& t) {
  matrix::MatView v = matrix::mat_view(t);
  TensorBase src = t;
  if (!matrix::blas_layout(v)) {
    src = make_empty(t.sizes(), t.dtype(), t.device());
    gpu_unary<T>(op, src, t, Identity<T>{});
    v = matrix::mat_view(src);
    matrix::blas_layout(v);
  }
  const bool trans = v.sc != 1;  // column-major: the row-major view of t^T
  return {src.data_ptr(), trans, trans ? v.sc : v.sr, v.sb, src};
}

template <typename T>
void matmul_impl(const char* op, const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  const matrix::MatView o0 = matrix::mat_view(out);
  const int64_t m = o0.rows, n = o0.cols, k = self.size(self.dim() - 1);
  if (out.numel() == 0) return;
  // cuBLAS writes C row-major (unit column stride) with rows ldc apart.
  const bool direct = (n == 1 || o0.sc == 1) && (m == 1 || o0.sr >= n) && (o0.batch == 1 || o0.sb >= m * n);
  const TensorBase c = direct ? out : make_empty(out.sizes(), out.dtype(), out.device());
  matrix::MatView ov = matrix::mat_view(c);
  matrix::blas_layout(ov);
  if (k == 0) {
    zero_<T>(c);  // an empty sum; cuBLAS would leave beta * C
  } else {
    const Operand a = operand<T>(op, self), b = operand<T>(op, mat2);
    gemm<T>(op, out.device().index, a.trans, b.trans, m, n, k, T(1), static_cast<const T*>(a.data), a.ld, a.stride,
            static_cast<const T*>(b.data), b.ld, b.stride, T(0), static_cast<T*>(c.data_ptr()), ov.sr, ov.sb, ov.batch);
  }
  if (!direct) gpu_unary<T>(op, out, c, Identity<T>{});
}

}  // namespace

template <typename T>
void mm(const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  matmul_impl<T>("mm", out, self, mat2);
}

template <typename T>
void bmm(const TensorBase& out, const TensorBase& self, const TensorBase& mat2) {
  matmul_impl<T>("bmm", out, self, mat2);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_mm;
DG_INSTANTIATE_KERNEL_cuda_bmm;
