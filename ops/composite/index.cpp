// The gradients of the indexing kernels that are formulas of other ops, and
// the data-dependent selections (nonzero, masked_select, take).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

// ---- shape and indexing -----------------------------------------------------------

Tensor scatter_src_backward(const Tensor& grad, int64_t dim, const Tensor& index, IntArrayRef src_sizes) {
  const Tensor g = grad.gather(dim, index);
  if (g.sizes() == src_sizes) return g;
  // src may be larger than index: its other elements were not used.
  Tensor r = zeros(src_sizes, g.options());
  Tensor view = r;
  for (int64_t k = 0; k < index.dim(); ++k) view = view.narrow(k, 0, index.size(k));
  view.copy_(g);
  return r;
}

// ---- data-dependent selection ------------------------------------------------------

Tensor nonzero(const Tensor& self) {
  NoGradGuard no_grad;
  // The positions are found on the host: the output's size depends on the values.
  const Tensor mask = detail::to_host((self.dtype() == kBool ? self : self.ne(0)).contiguous());
  const bool* p = mask.data_ptr<bool>();
  const int64_t n = mask.numel(), nd = self.dim();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += p[i];
  Tensor out = empty({count, nd}, TensorOptions().dtype(kInt64));
  int64_t* o = out.data_ptr<int64_t>();
  if (nd == 1) {  // the common flat mask: positions only
    for (int64_t i = 0; i < n; ++i)
      if (p[i]) *o++ = i;
  } else if (nd > 1) {
    std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
    for (int64_t i = 0; i < n; ++i) {
      if (p[i]) o = std::copy(idx.begin(), idx.end(), o);
      for (int64_t d = nd - 1; d >= 0; --d) {  // the next row-major multi-index
        if (++idx[d] < self.size(d)) break;
        idx[d] = 0;
      }
    }
  }
  return self.device().is_cpu() ? out : detail::copy_to_device(out, self.device());
}

Tensor masked_select(const Tensor& self, const Tensor& mask) {
  DG_CHECK(mask.dtype() == kBool, "masked_select: expected mask of dtype bool, got ", mask.dtype());
  const std::vector<Tensor> both = dg::broadcast_tensors({self, mask});
  const Tensor flat = both[0].reshape({-1});
  return flat.index_select(0, composite::nonzero(both[1].reshape({-1})).view({-1}));
}

Tensor take(const Tensor& self, const Tensor& index) {
  DG_CHECK(index.dtype() == kInt64, "take: expected index of dtype int64, got ", index.dtype());
  const int64_t n = self.numel();
  const Tensor flat = composite::wrap_index("take", index.reshape({-1}), n, "the flattened input");
  return self.reshape({-1}).index_select(0, flat).view(index.sizes());
}

}  // namespace dg::composite
