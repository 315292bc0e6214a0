// Shape rules of clone and copy_.
#include "ops/meta.h"

namespace dg::meta {

TensorMeta same_shape(const char* op, const Tensor& self) {
  (void)op;
  return TensorMeta{DimVector(self.sizes()), self.dtype(), self.device()};
}

void check_copy(const char* op, const Tensor& self, const Tensor& src) {
  // src may live on another device: the kernel of self's device brings it over.
  IntArrayRef a = self.sizes(), b = src.sizes();
  bool ok = b.size() <= a.size();
  for (size_t i = 0; ok && i < b.size(); ++i) {
    const int64_t db = b[b.size() - 1 - i], da = a[a.size() - 1 - i];
    ok = db == da || db == 1;
  }
  DG_CHECK(ok, op, ": src of shape ", b, " cannot be broadcast to self of shape ", a);
}

}  // namespace dg::meta
