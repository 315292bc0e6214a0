// Shape rules of clone and copy_.
#include "ops/meta.h"

namespace dg::meta {

TensorMeta same_shape(const char* op, const Tensor& self) {
  (void)op;
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

void check_copy(const char* op, const Tensor& self, const Tensor& src) {
  // src may live on another device: the kernel of self's device brings it over.
  DG_CHECK(broadcasts_to(src.sizes(), self.sizes()), op, ": src of shape ", src.sizes(),
           " cannot be broadcast to self of shape ", self.sizes());
}

}  // namespace dg::meta
