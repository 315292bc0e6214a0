// The gradients of the indexing kernels that are formulas of other ops.
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

}  // namespace dg::composite
