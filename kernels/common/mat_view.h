#pragma once
// The matrices of mm/bmm as a BLAS sees them, shared by the CPU (oneDNN) and
// CUDA (cuBLAS) matmul kernels.
#include <cstdint>

#include "dynagrad/tensor_base.h"

namespace dg::matrix {

// One batch of matrices: element strides of (batch, rows, cols).
struct MatView {
  int64_t batch, rows, cols;
  int64_t sb, sr, sc;
};

inline MatView mat_view(const TensorBase& t) {
  if (t.dim() == 2) return {1, t.size(0), t.size(1), 0, t.stride(0), t.stride(1)};
  return {t.size(0), t.size(1), t.size(2), t.stride(0), t.stride(1), t.stride(2)};
}

// Rewrites the strides of size-1 dims (which are arbitrary in a tensor) so a
// BLAS-like consumer sees a plain row- or column-major layout. Returns false
// when the matrix is neither (then the caller packs it).
inline bool blas_layout(MatView& m) {
  const int64_t R = m.rows, C = m.cols;
  if ((C == 1 || m.sc == 1) && (R == 1 || m.sr >= C)) {
    m.sc = 1;
    if (R == 1) m.sr = C;
  } else if ((R == 1 || m.sr == 1) && (C == 1 || m.sc >= R)) {
    m.sr = 1;
    if (C == 1) m.sc = R;
  } else {
    return false;
  }
  if (m.batch == 1) {
    m.sb = R * C;
  } else if (m.sb != 0) {
    const int64_t span = (R - 1) * m.sr + (C - 1) * m.sc + 1;
    if (m.sb < span) return false;
  }
  return true;
}

}  // namespace dg::matrix
