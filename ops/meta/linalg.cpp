// Shape rules of matrix products.
#include "ops/meta.h"

namespace dg::meta {

TensorMeta mm(const char* op, const Tensor& self, const Tensor& mat2) {
  check_same_device(op, {&self, &mat2});
  DG_CHECK(self.dim() == 2 && mat2.dim() == 2, op, ": expected self and mat2 to be 2-D, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(1) == mat2.size(0), op, ": self and mat2 shapes cannot be multiplied (", self.sizes(), " and ",
           mat2.sizes(), "): self has ", self.size(1), " columns but mat2 has ", mat2.size(0), " rows");
  DG_CHECK(self.dtype() == mat2.dtype(), op, ": expected self and mat2 to have the same dtype, got ", self.dtype(),
           " and ", mat2.dtype());
  return TensorMeta{DimVector{self.size(0), mat2.size(1)}, self.dtype(), self.device()};
}

TensorMeta bmm(const char* op, const Tensor& self, const Tensor& mat2) {
  check_same_device(op, {&self, &mat2});
  DG_CHECK(self.dim() == 3 && mat2.dim() == 3, op, ": expected self and mat2 to be 3-D, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(0) == mat2.size(0), op, ": expected self and mat2 to have the same batch size, got self of shape ",
           self.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(self.size(2) == mat2.size(1), op, ": self and mat2 shapes cannot be multiplied (", self.sizes(), " and ",
           mat2.sizes(), "): self has ", self.size(2), " columns but mat2 has ", mat2.size(1), " rows");
  DG_CHECK(self.dtype() == mat2.dtype(), op, ": expected self and mat2 to have the same dtype, got ", self.dtype(),
           " and ", mat2.dtype());
  return TensorMeta{DimVector{self.size(0), self.size(1), mat2.size(2)}, self.dtype(), self.device()};
}

}  // namespace dg::meta
