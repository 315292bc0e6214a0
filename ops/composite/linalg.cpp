// Matrix products built on mm/bmm: matmul with its broadcasting rules,
// addmm, linear, dot, outer.
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

Tensor matmul(const Tensor& self, const Tensor& other) {
  meta::check_same_device("matmul", {&self, &other});
  const int64_t d1 = self.dim(), d2 = other.dim();
  DG_CHECK(d1 >= 1 && d2 >= 1, "matmul: both arguments need to be at least 1-D, got self of shape ", self.sizes(),
           " and other of shape ", other.sizes());
  DG_CHECK(self.dtype() == other.dtype(), "matmul: expected self and other to have the same dtype, got ", self.dtype(),
           " and ", other.dtype());
  const int64_t k1 = self.size(-1);
  const int64_t k2 = d2 == 1 ? other.size(0) : other.size(-2);
  DG_CHECK(k1 == k2, "matmul: self and other shapes cannot be multiplied (", self.sizes(), " and ", other.sizes(),
           "): self's last dimension has size ", k1, " but other's ", d2 == 1 ? "only" : "second-to-last",
           " dimension has size ", k2);

  if (d1 == 1 && d2 == 1) return (self * other).sum();
  if (d1 == 2 && d2 == 2) return dg::mm(self, other);
  if (d1 == 1 && d2 == 2) return dg::mm(self.unsqueeze(0), other).squeeze(0);
  if (d1 == 2 && d2 == 1) return dg::mm(self, other.unsqueeze(1)).squeeze(1);

  if (d1 >= 3 && d2 <= 2) {
    // A stack of matrices times one matrix (or vector) is one big mm: fold
    // the batch dims into the rows.
    const Tensor rhs = d2 == 1 ? other.unsqueeze(1) : other;
    DimVector out_sizes(self.sizes());
    // Rows counted explicitly: with k1 == 0 a -1 could not be inferred.
    const int64_t rows = multiply_integers(IntArrayRef(self.sizes().data(), static_cast<size_t>(d1 - 1)));
    const Tensor r = dg::mm(self.reshape({rows, k1}), rhs);
    if (d2 == 1) {
      out_sizes.erase(out_sizes.size() - 1);
    } else {
      out_sizes.back() = rhs.size(1);
    }
    return r.view(out_sizes);
  }

  // General batched case: broadcast the batch dims, flatten them to one, bmm.
  const Tensor a = d1 == 1 ? self.unsqueeze(0) : self;
  const Tensor b = d2 == 1 ? other.unsqueeze(1) : other;
  const int64_t m = a.size(-2), n = b.size(-1);
  IntArrayRef ba(a.sizes().data(), a.sizes().size() - 2), bb(b.sizes().data(), b.sizes().size() - 2);
  const DimVector batch = meta::broadcast_shapes("matmul", ba, bb);
  const int64_t nbatch = multiply_integers(batch);
  DimVector sa(batch), sb(batch), so(batch);
  sa.push_back(m);
  sa.push_back(k1);
  sb.push_back(k1);
  sb.push_back(n);
  so.push_back(m);
  so.push_back(n);
  const Tensor ea = a.sizes() == sa.ref() ? a : a.expand(sa);
  const Tensor eb = b.sizes() == sb.ref() ? b : b.expand(sb);
  Tensor r = dg::bmm(ea.reshape({nbatch, m, k1}), eb.reshape({nbatch, k1, n})).view(so);
  if (d1 == 1) r = r.squeeze(-2);
  if (d2 == 1) r = r.squeeze(-1);
  return r;
}

// ---- linear algebra -------------------------------------------------------------

Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha) {
  DG_CHECK(mat1.dim() == 2 && mat2.dim() == 2, "addmm: expected mat1 and mat2 to be 2-D, got mat1 of shape ",
           mat1.sizes(), " and mat2 of shape ", mat2.sizes());
  DG_CHECK(mat1.size(1) == mat2.size(0), "addmm: mat1 and mat2 shapes cannot be multiplied (", mat1.sizes(), " and ",
           mat2.sizes(), "): mat1 has ", mat1.size(1), " columns but mat2 has ", mat2.size(0), " rows");
  DG_CHECK(self.dtype() == mat1.dtype() && mat1.dtype() == mat2.dtype(),
           "addmm: expected self, mat1 and mat2 to have the same dtype, got ", self.dtype(), ", ", mat1.dtype(),
           " and ", mat2.dtype());
  const DimVector out{mat1.size(0), mat2.size(1)};
  bool fits = self.dim() <= 2;
  for (int64_t k = 1; fits && k <= self.dim(); ++k) fits = self.size(-k) == 1 || self.size(-k) == out[2 - k];
  DG_CHECK(fits, "addmm: self of shape ", self.sizes(), " cannot be broadcast to the product's shape ", out.ref());
  const Tensor p = composite::maybe_multiply(dg::mm(mat1, mat2), alpha);
  // beta == 0 ignores self entirely (NaN or inf in it does not propagate), as in PyTorch.
  if (beta == Scalar(0)) return p;
  return composite::maybe_multiply(self, beta) + p;
}

Tensor linear(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias) {
  DG_CHECK(weight.dim() == 1 || weight.dim() == 2, "linear: expected weight to be 1-D or 2-D, got weight of shape ",
           weight.sizes());
  DG_CHECK(input.dim() >= 1, "linear: expected input to have at least 1 dimension, got a 0-dim tensor");
  DG_CHECK(input.size(-1) == weight.size(-1), "linear: input's last dimension (", input.size(-1),
           ") does not match weight's in_features (", weight.size(-1), "); input of shape ", input.sizes(),
           ", weight of shape ", weight.sizes());
  const bool has_bias = bias.has_value() && bias->defined();
  if (input.dim() == 2 && weight.dim() == 2 && has_bias) return composite::addmm(*bias, input, weight.t(), 1, 1);
  const Tensor out = dg::matmul(input, weight.t());
  return has_bias ? out + *bias : out;
}

Tensor dot(const Tensor& self, const Tensor& tensor) {
  DG_CHECK(self.dim() == 1 && tensor.dim() == 1, "dot: expected 1-D tensors, got self of shape ", self.sizes(),
           " and tensor of shape ", tensor.sizes());
  DG_CHECK(self.size(0) == tensor.size(0), "dot: expected self and tensor of the same size, got ", self.size(0),
           " and ", tensor.size(0));
  DG_CHECK(self.dtype() == tensor.dtype(), "dot: expected self and tensor of the same dtype, got ", self.dtype(),
           " and ", tensor.dtype());
  return (self * tensor).sum();
}

Tensor outer(const Tensor& self, const Tensor& vec2) {
  DG_CHECK(self.dim() == 1 && vec2.dim() == 1, "outer: expected 1-D tensors, got self of shape ", self.sizes(),
           " and vec2 of shape ", vec2.sizes());
  return self.unsqueeze(1) * vec2.unsqueeze(0);
}

}  // namespace dg::composite
