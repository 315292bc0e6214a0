// max_pool2d_with_indices: the values and the argmax of one pooling, checked
// under its own name first.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "kernels/common/pool_window.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                                                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  DG_CHECK(self.defined(), "max_pool2d_with_indices: self must be a defined tensor");
  pool::pool2d_geometry("max_pool2d_with_indices", self.sizes(), kernel_size, stride, padding, dilation, ceil_mode);
  return {dg::max_pool2d(self, kernel_size, stride, padding, dilation, ceil_mode),
          dg::max_pool2d_indices(self, kernel_size, stride, padding, dilation, ceil_mode)};
}

}  // namespace dg::composite
