// Shape rules of the random ops (ops.yaml's random fills).
#include "ops/meta.h"

namespace dg::meta {

// bernoulli_(p): p, read and not written, broadcasts to self's shape and is on self's device.
void bernoulli_tensor(const char* op, const Tensor& self, const Tensor& p, std::optional<Generator> /*generator*/) {
  check_same_device(op, {&self, &p});
  DG_CHECK(broadcasts_to(p.sizes(), self.sizes()), op, ": expected p of a shape that broadcasts to self's shape ",
           self.sizes(), ", got ", p.sizes());
}

}  // namespace dg::meta
