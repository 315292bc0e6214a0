// Matrix products built on mm/bmm: matmul with its broadcasting rules,
// addmm and its relatives (addmv, addr, baddbmm, addbmm), linear, dot, outer,
// mv, inner, vdot, tensordot, einsum, chain_matmul/linalg_multi_dot,
// matrix_power, cross.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
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

Tensor mv(const Tensor& self, const Tensor& vec) {
  DG_CHECK(self.dim() == 2 && vec.dim() == 1, "mv: expected a 2-D self and a 1-D vec, got self of shape ", self.sizes(),
           " and vec of shape ", vec.sizes());
  DG_CHECK(self.size(1) == vec.size(0), "mv: self and vec shapes cannot be multiplied (", self.sizes(), " and ",
           vec.sizes(), "): self has ", self.size(1), " columns but vec has ", vec.size(0), " elements");
  meta::check_same_dtype("mv", "self", self, "vec", vec);
  return dg::mm(self, vec.unsqueeze(1)).squeeze(1);
}

namespace {

// beta * self + alpha * product, the tail shared by addmm's relatives: self
// must broadcast to the product's shape, and beta == 0 ignores self (NaN or
// inf in it does not propagate), as in PyTorch.
Tensor add_scaled(const char* op, const Tensor& self, const Tensor& product, const Scalar& beta, const Scalar& alpha) {
  DG_CHECK(meta::broadcasts_to(self.sizes(), product.sizes()), op, ": self of shape ", self.sizes(),
           " cannot be broadcast to the product's shape ", product.sizes());
  DG_CHECK(self.dtype() == product.dtype(), op, ": expected self of the product's dtype ", product.dtype(), ", got ",
           self.dtype());
  const Tensor p = composite::maybe_multiply(product, alpha);
  if (beta == Scalar(0)) return p;
  return composite::maybe_multiply(self, beta) + p;
}

}  // namespace

Tensor addmv(const Tensor& self, const Tensor& mat, const Tensor& vec, const Scalar& beta, const Scalar& alpha) {
  DG_CHECK(mat.dim() == 2 && vec.dim() == 1, "addmv: expected a 2-D mat and a 1-D vec, got mat of shape ", mat.sizes(),
           " and vec of shape ", vec.sizes());
  DG_CHECK(mat.size(1) == vec.size(0), "addmv: mat and vec shapes cannot be multiplied (", mat.sizes(), " and ",
           vec.sizes(), "): mat has ", mat.size(1), " columns but vec has ", vec.size(0), " elements");
  meta::check_same_dtype("addmv", "mat", mat, "vec", vec);
  return add_scaled("addmv", self, dg::mm(mat, vec.unsqueeze(1)).squeeze(1), beta, alpha);
}

Tensor addr(const Tensor& self, const Tensor& vec1, const Tensor& vec2, const Scalar& beta, const Scalar& alpha) {
  DG_CHECK(vec1.dim() == 1 && vec2.dim() == 1, "addr: expected 1-D vec1 and vec2, got vec1 of shape ", vec1.sizes(),
           " and vec2 of shape ", vec2.sizes());
  meta::check_same_dtype("addr", "vec1", vec1, "vec2", vec2);
  return add_scaled("addr", self, vec1.unsqueeze(1) * vec2.unsqueeze(0), beta, alpha);
}

namespace {

void check_batches(const char* op, const Tensor& batch1, const Tensor& batch2) {
  DG_CHECK(batch1.dim() == 3 && batch2.dim() == 3, op, ": expected 3-D batch1 and batch2, got batch1 of shape ",
           batch1.sizes(), " and batch2 of shape ", batch2.sizes());
  DG_CHECK(batch1.size(0) == batch2.size(0) && batch1.size(2) == batch2.size(1), op,
           ": batch1 and batch2 shapes cannot be multiplied batch by batch (", batch1.sizes(), " and ", batch2.sizes(),
           "): expected batch2 of shape [", batch1.size(0), ", ", batch1.size(2), ", *]");
  meta::check_same_dtype(op, "batch1", batch1, "batch2", batch2);
}

}  // namespace

Tensor baddbmm(const Tensor& self, const Tensor& batch1, const Tensor& batch2, const Scalar& beta,
               const Scalar& alpha) {
  check_batches("baddbmm", batch1, batch2);
  return add_scaled("baddbmm", self, dg::bmm(batch1, batch2), beta, alpha);
}

Tensor addbmm(const Tensor& self, const Tensor& batch1, const Tensor& batch2, const Scalar& beta, const Scalar& alpha) {
  check_batches("addbmm", batch1, batch2);
  // The sum over the batch of batch1[b] @ batch2[b] is one mm: the batch joins
  // the contracted dimension.
  const int64_t b = batch1.size(0), m = batch1.size(1), k = batch1.size(2), n = batch2.size(2);
  const Tensor lhs = batch1.permute({1, 0, 2}).reshape({m, b * k});
  return add_scaled("addbmm", self, dg::mm(lhs, batch2.reshape({b * k, n})), beta, alpha);
}

// The in-place forms write the out-of-place result into self, which must
// already have the result's shape (self is not broadcast up, as in LibTorch).
namespace {
const Tensor& write_into(const char* op, const Tensor& self, const Tensor& result) {
  DG_CHECK(result.sizes() == self.sizes(), op, ": expected self of the result's shape ", result.sizes(),
           " (an in-place op cannot broadcast self), got self of shape ", self.sizes());
  self.copy_(result);
  return self;
}
}  // namespace

const Tensor& addmv_(const Tensor& self, const Tensor& mat, const Tensor& vec, const Scalar& beta,
                     const Scalar& alpha) {
  return write_into("addmv_", self, composite::addmv(self, mat, vec, beta, alpha));
}
const Tensor& addr_(const Tensor& self, const Tensor& vec1, const Tensor& vec2, const Scalar& beta,
                    const Scalar& alpha) {
  return write_into("addr_", self, composite::addr(self, vec1, vec2, beta, alpha));
}
const Tensor& baddbmm_(const Tensor& self, const Tensor& batch1, const Tensor& batch2, const Scalar& beta,
                       const Scalar& alpha) {
  return write_into("baddbmm_", self, composite::baddbmm(self, batch1, batch2, beta, alpha));
}
const Tensor& addbmm_(const Tensor& self, const Tensor& batch1, const Tensor& batch2, const Scalar& beta,
                      const Scalar& alpha) {
  return write_into("addbmm_", self, composite::addbmm(self, batch1, batch2, beta, alpha));
}

Tensor inner(const Tensor& self, const Tensor& other) {
  if (self.dim() == 0 || other.dim() == 0) return self * other;
  DG_CHECK(self.size(-1) == other.size(-1), "inner: the last dimensions of self and other must match, got shapes ",
           self.sizes(), " and ", other.sizes());
  return composite::tensordot(self, other, {-1}, {-1});
}

Tensor vdot(const Tensor& self, const Tensor& other) {
  DG_CHECK(self.dim() == 1 && other.dim() == 1, "vdot: expected 1-D tensors, got self of shape ", self.sizes(),
           " and other of shape ", other.sizes());
  DG_CHECK(self.size(0) == other.size(0), "vdot: expected self and other of the same size, got ", self.size(0), " and ",
           other.size(0));
  meta::check_same_dtype("vdot", "self", self, "other", other);
  return (self * other).sum();
}

Tensor tensordot(const Tensor& self, const Tensor& other, IntArrayRef dims_self, IntArrayRef dims_other) {
  DG_CHECK(dims_self.size() == dims_other.size(), "tensordot: dims_self and dims_other must have the same length, got ",
           dims_self.size(), " and ", dims_other.size());
  meta::check_same_dtype("tensordot", "self", self, "other", other);
  Tensor a = self, b = other;
  std::vector<bool> ca(static_cast<size_t>(self.dim()), false), cb(static_cast<size_t>(other.dim()), false);
  std::vector<int64_t> da, db;
  for (size_t i = 0; i < dims_self.size(); ++i) {
    const int64_t x = meta::wrap_dim("tensordot", dims_self[i], self.dim());
    const int64_t y = meta::wrap_dim("tensordot", dims_other[i], other.dim());
    DG_CHECK(!ca[static_cast<size_t>(x)], "tensordot: dim ", x, " appears more than once in dims_self");
    DG_CHECK(!cb[static_cast<size_t>(y)], "tensordot: dim ", y, " appears more than once in dims_other");
    ca[static_cast<size_t>(x)] = cb[static_cast<size_t>(y)] = true;
    const int64_t sx = self.size(x), sy = other.size(y);
    DG_CHECK(sx == sy || sx == 1 || sy == 1, "tensordot: contracted dimensions must match, but self has size ", sx,
             " in dim ", x, " and other has size ", sy, " in dim ", y);
    // A size-1 dimension broadcasts against the other side's, as in PyTorch:
    // sum that side first.
    if (sx != sy && sx == 1) b = b.sum({y}, true);
    if (sx != sy && sy == 1) a = a.sum({x}, true);
    da.push_back(x);
    db.push_back(y);
  }
  // self -> [free..., contracted...] as (M, K), other -> [contracted..., free...]
  // as (K, N), one mm.
  std::vector<int64_t> pa, pb, out_sizes;
  int64_t m = 1, n = 1, k = 1;
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (ca[static_cast<size_t>(d)]) continue;
    pa.push_back(d);
    out_sizes.push_back(a.size(d));
    m *= a.size(d);
  }
  for (const int64_t d : db) {
    pb.push_back(d);
    k *= b.size(d);
  }
  for (int64_t d = 0; d < other.dim(); ++d) {
    if (cb[static_cast<size_t>(d)]) continue;
    pb.push_back(d);
    out_sizes.push_back(b.size(d));
    n *= b.size(d);
  }
  pa.insert(pa.end(), da.begin(), da.end());
  return dg::mm(a.permute(pa).reshape({m, k}), b.permute(pb).reshape({k, n})).view(out_sizes);
}

// ---- einsum -------------------------------------------------------------------

namespace {

// An einsum operand on its way through the contraction: the tensor and, for
// each of its dimensions, the global dimension it is (the ellipsis dims come
// first, then the letters; a global dimension an operand lacks is size 1 to it).
struct Term {
  Tensor t;
  std::vector<int64_t> dims;
};

constexpr int kLetters = 52;  // A-Z then a-z: PyTorch's (ASCII) order of the implicit output

int letter_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

char letter_of(int i) { return static_cast<char>(i < 26 ? 'A' + i : 'a' + (i - 26)); }

// Contracts a and b over the global dims in `sum` (each dimension of the pair
// is a batch dim (in both), contracted (in both, summed), left (a only) or
// right (b only)) as one bmm/mm on [batch, left, contracted] x [batch,
// contracted, right]; dims summed that only one side has are summed first,
// and a size-1 dim broadcast against the other side's is dropped or summed.
Term contract_pair(Term a, Term b, const std::vector<bool>& sum) {
  const auto find = [](const Term& x, int64_t g) {
    const auto it = std::find(x.dims.begin(), x.dims.end(), g);
    return it == x.dims.end() ? int64_t{-1} : static_cast<int64_t>(it - x.dims.begin());
  };
  const auto drop = [](Term& x, int64_t pos, bool summed) {
    x.t = summed ? x.t.sum({pos}) : x.t.squeeze(pos);
    x.dims.erase(x.dims.begin() + pos);
  };
  std::vector<int64_t> all(a.dims);
  for (const int64_t g : b.dims)
    if (find(a, g) < 0) all.push_back(g);
  std::sort(all.begin(), all.end());
  std::vector<int64_t> batch, left, right, contracted;
  for (const int64_t g : all) {
    int64_t ia = find(a, g), ib = find(b, g);
    const int64_t sa = ia < 0 ? 1 : a.t.size(ia), sb = ib < 0 ? 1 : b.t.size(ib);
    // A side whose size is 1 against the other's n: it broadcasts; drop it
    // there (squeeze), or, summed and alone, sum it now.
    if (ia >= 0 && ib >= 0 && sa != sb) {
      if (sa == 1) {
        drop(a, ia, false);
        ia = -1;
      } else {
        drop(b, ib, false);
        ib = -1;
      }
    }
    const bool summed = sum[static_cast<size_t>(g)];
    if (ia >= 0 && ib >= 0) {
      (summed ? contracted : batch).push_back(g);
    } else if (summed) {
      drop(ia >= 0 ? a : b, ia >= 0 ? ia : ib, true);
    } else {
      (ia >= 0 ? left : right).push_back(g);
    }
  }
  const auto sizes_of = [](const Term& x, const std::vector<int64_t>& gs, int64_t& prod) {
    std::vector<int64_t> s;
    prod = 1;
    for (const int64_t g : gs) {
      const int64_t pos = static_cast<int64_t>(std::find(x.dims.begin(), x.dims.end(), g) - x.dims.begin());
      s.push_back(x.t.size(pos));
      prod *= s.back();
    }
    return s;
  };
  // Permutes x to the order `gs` (skipped when it already is) and reshapes it.
  const auto arrange = [](const Term& x, const std::vector<int64_t>& gs, IntArrayRef shape) {
    std::vector<int64_t> perm;
    bool identity = true;
    for (const int64_t g : gs) {
      perm.push_back(static_cast<int64_t>(std::find(x.dims.begin(), x.dims.end(), g) - x.dims.begin()));
      identity = identity && perm.back() == static_cast<int64_t>(perm.size() - 1);
    }
    const Tensor p = identity ? x.t : x.t.permute(perm);
    return p.sizes() == shape ? p : p.reshape(shape);
  };
  int64_t nb = 1, nl = 1, nr = 1, nk = 1;
  std::vector<int64_t> out_sizes = sizes_of(a, batch, nb);
  const std::vector<int64_t> ls = sizes_of(a, left, nl), rs = sizes_of(b, right, nr);
  sizes_of(a, contracted, nk);
  out_sizes.insert(out_sizes.end(), ls.begin(), ls.end());
  out_sizes.insert(out_sizes.end(), rs.begin(), rs.end());
  std::vector<int64_t> ga(batch), gb(batch), gout(batch);
  ga.insert(ga.end(), left.begin(), left.end());
  ga.insert(ga.end(), contracted.begin(), contracted.end());
  gb.insert(gb.end(), contracted.begin(), contracted.end());
  gb.insert(gb.end(), right.begin(), right.end());
  gout.insert(gout.end(), left.begin(), left.end());
  gout.insert(gout.end(), right.begin(), right.end());
  Tensor r;
  if (contracted.empty()) {
    // Nothing to sum: a broadcast product (outer products, elementwise).
    r = arrange(a, ga, {nb, nl, 1}) * arrange(b, gb, {nb, 1, nr});
  } else if (batch.empty()) {
    r = dg::mm(arrange(a, ga, {nl, nk}), arrange(b, gb, {nk, nr}));
  } else {
    r = dg::bmm(arrange(a, ga, {nb, nl, nk}), arrange(b, gb, {nb, nk, nr}));
  }
  if (r.sizes() != IntArrayRef(out_sizes)) r = r.view(out_sizes);
  return Term{r, gout};
}

}  // namespace

Tensor einsum(std::string_view equation, const std::vector<Tensor>& tensors, IntArrayRef path) {
  DG_CHECK(!tensors.empty(), "einsum: expected at least one operand, got none");
  const int64_t nops = static_cast<int64_t>(tensors.size());
  for (int64_t i = 1; i < nops; ++i) {
    DG_CHECK(tensors[i].dtype() == tensors[0].dtype(), "einsum: expected operands of one dtype, got operand 0 of ",
             tensors[0].dtype(), " and operand ", i, " of ", tensors[i].dtype());
    DG_CHECK(tensors[i].device() == tensors[0].device(), "einsum: expected operands on one device, got operand 0 on ",
             tensors[0].device(), " and operand ", i, " on ", tensors[i].device());
  }

  // Parse: each operand's subscripts as letter indices, kEllipsis for "...".
  constexpr int kEllipsis = -1;
  const size_t arrow = equation.find("->");
  const std::string_view lhs = equation.substr(0, arrow);
  std::vector<std::vector<int>> subs(1);
  std::vector<bool> has_ellipsis(1, false);
  const auto parse_char = [&](std::string_view eq, size_t& i, size_t offset, std::vector<int>& out, bool& ellipsis,
                              const char* where) {
    const char c = eq[i];
    if (c == ' ') return;
    if (c == '.') {
      DG_CHECK(eq.substr(i, 3) == "...", "einsum: found '.' in ", where, " that is not part of an ellipsis '...'");
      DG_CHECK(!ellipsis, "einsum: found more than one ellipsis '...' in ", where);
      ellipsis = true;
      out.push_back(kEllipsis);
      i += 2;
      return;
    }
    const int l = letter_index(c);
    DG_CHECK(l >= 0, "einsum: invalid subscript '", std::string(1, c), "' at index ", offset + i, " of the equation \"",
             equation, "\": subscripts must be letters [a-zA-Z] (or '...')");
    out.push_back(l);
  };
  const int64_t nterms = static_cast<int64_t>(std::count(lhs.begin(), lhs.end(), ',')) + 1;
  DG_CHECK(nterms == nops, "einsum: the equation \"", equation, "\" has ", nterms, " operand", nterms == 1 ? "" : "s",
           " but ", nops, " tensor", nops == 1 ? " was" : "s were", " given");
  for (size_t i = 0; i < lhs.size(); ++i) {
    if (lhs[i] == ',') {
      subs.emplace_back();
      has_ellipsis.push_back(false);
      continue;
    }
    const std::string where = "operand " + std::to_string(subs.size() - 1);
    bool e = has_ellipsis.back();
    parse_char(lhs, i, 0, subs.back(), e, where.c_str());
    has_ellipsis.back() = e;
  }

  // Sizes: each letter's (a size 1 broadcasts), and the ellipsis dims aligned
  // from the right, as broadcasting does.
  std::array<int64_t, kLetters> letter_size;
  letter_size.fill(-1);
  std::array<int, kLetters> letter_count{};
  int64_t ell_dims = 0;
  std::vector<int64_t> ell_n(static_cast<size_t>(nops), 0);
  for (int64_t i = 0; i < nops; ++i) {
    const auto& s = subs[static_cast<size_t>(i)];
    const int64_t nl = static_cast<int64_t>(s.size()) - (has_ellipsis[static_cast<size_t>(i)] ? 1 : 0);
    const int64_t nd = tensors[static_cast<size_t>(i)].dim();
    if (has_ellipsis[static_cast<size_t>(i)]) {
      DG_CHECK(nl <= nd, "einsum: operand ", i, " has ", nl, " subscripts (besides '...') but only ", nd, " dimension",
               nd == 1 ? "" : "s", " (shape ", tensors[static_cast<size_t>(i)].sizes(), ")");
      ell_n[static_cast<size_t>(i)] = nd - nl;
      ell_dims = std::max(ell_dims, nd - nl);
    } else {
      DG_CHECK(nl == nd, "einsum: operand ", i, " has ", nl, " subscript", nl == 1 ? "" : "s", " but ", nd,
               " dimension", nd == 1 ? "" : "s", " (shape ", tensors[static_cast<size_t>(i)].sizes(),
               "); use '...' for dimensions not named");
    }
  }
  std::vector<int64_t> ell_size(static_cast<size_t>(ell_dims), 1);
  for (int64_t i = 0; i < nops; ++i) {
    const Tensor& t = tensors[static_cast<size_t>(i)];
    std::array<bool, kLetters> seen{};
    int64_t d = 0;
    for (const int l : subs[static_cast<size_t>(i)]) {
      if (l == kEllipsis) {
        const int64_t n = ell_n[static_cast<size_t>(i)];
        for (int64_t j = 0; j < n; ++j, ++d) {
          int64_t& known = ell_size[static_cast<size_t>(ell_dims - n + j)];
          const int64_t s = t.size(d);
          DG_CHECK(s == known || s == 1 || known == 1, "einsum: dimension ", d, " of operand ", i,
                   " (under '...') has size ", s, ", which does not broadcast with size ", known, " seen there before");
          if (known == 1) known = s;
        }
        continue;
      }
      const int64_t s = t.size(d++);
      int64_t& known = letter_size[static_cast<size_t>(l)];
      if (seen[static_cast<size_t>(l)]) {
        // A letter repeated within one operand takes a diagonal: sizes must be equal.
        DG_CHECK(s == known, "einsum: subscript ", letter_of(l), " is repeated in operand ", i,
                 " with different sizes, ", known, " and ", s);
      } else {
        DG_CHECK(known < 0 || s == known || s == 1 || known == 1, "einsum: subscript ", letter_of(l), " has size ", s,
                 " in operand ", i, ", which does not broadcast with size ", known, " seen before");
        if (known < 0 || known == 1) known = s;
      }
      // Every occurrence counts for the implicit output ("ii" is a trace).
      ++letter_count[static_cast<size_t>(l)];
      seen[static_cast<size_t>(l)] = true;
    }
  }

  // The output: explicit after "->", else the ellipsis dims then the letters
  // seen once, in ASCII order (A-Z before a-z), as PyTorch.
  std::vector<int> out_subs;
  bool out_ellipsis = false;
  if (arrow != std::string_view::npos) {
    const std::string_view rhs = equation.substr(arrow + 2);
    std::array<bool, kLetters> in_out{};
    for (size_t i = 0; i < rhs.size(); ++i) {
      parse_char(rhs, i, arrow + 2, out_subs, out_ellipsis, "the output");
      if (out_subs.empty() || out_subs.back() == kEllipsis) continue;
      const int l = out_subs.back();
      if (rhs[i] == ' ') continue;
      DG_CHECK(letter_count[static_cast<size_t>(l)] > 0, "einsum: output subscript ", letter_of(l),
               " does not appear in any operand's subscripts");
      DG_CHECK(!in_out[static_cast<size_t>(l)], "einsum: output subscript ", letter_of(l),
               " appears more than once in the output");
      in_out[static_cast<size_t>(l)] = true;
    }
  } else {
    if (ell_dims > 0 || std::find(has_ellipsis.begin(), has_ellipsis.end(), true) != has_ellipsis.end()) {
      out_subs.push_back(kEllipsis);
      out_ellipsis = true;
    }
    for (int l = 0; l < kLetters; ++l)
      if (letter_count[static_cast<size_t>(l)] == 1) out_subs.push_back(l);
  }

  // Global dims: [0, ell_dims) the ellipsis, then one per letter used.
  std::array<int64_t, kLetters> gdim;
  gdim.fill(-1);
  int64_t ng = ell_dims;
  for (int l = 0; l < kLetters; ++l)
    if (letter_count[static_cast<size_t>(l)] > 0) gdim[static_cast<size_t>(l)] = ng++;
  std::vector<bool> in_output(static_cast<size_t>(ng), false);
  std::vector<int64_t> out_order, out_sizes;  // the output's global dims, in order
  for (const int l : out_subs) {
    if (l == kEllipsis) {
      for (int64_t j = 0; j < ell_dims; ++j) {
        out_order.push_back(j);
        out_sizes.push_back(ell_size[static_cast<size_t>(j)]);
      }
    } else {
      out_order.push_back(gdim[static_cast<size_t>(l)]);
      out_sizes.push_back(letter_size[static_cast<size_t>(l)]);
    }
  }
  for (const int64_t g : out_order) in_output[static_cast<size_t>(g)] = true;

  // Each operand as a Term: repeated letters become diagonals.
  std::vector<Term> terms;
  for (int64_t i = 0; i < nops; ++i) {
    Term term{tensors[static_cast<size_t>(i)], {}};
    const int64_t n = ell_n[static_cast<size_t>(i)];
    for (const int l : subs[static_cast<size_t>(i)]) {
      if (l == kEllipsis) {
        for (int64_t j = 0; j < n; ++j) term.dims.push_back(ell_dims - n + j);
        continue;
      }
      const int64_t g = gdim[static_cast<size_t>(l)];
      const int64_t cur = static_cast<int64_t>(term.dims.size());
      const auto prev = std::find(term.dims.begin(), term.dims.end(), g);
      if (prev == term.dims.end()) {
        term.dims.push_back(g);
        continue;
      }
      const int64_t k = static_cast<int64_t>(prev - term.dims.begin());
      term.t = term.t.diagonal(0, k, cur).movedim(-1, k);
    }
    terms.push_back(std::move(term));
  }

  // Contract pairwise: left to right, or in the order `path` gives (pairs of
  // positions in the list of operands left; each result goes to its end). A
  // dim is summed as soon as no operand left and not the output has it.
  DG_CHECK(path.empty() || static_cast<int64_t>(path.size()) == 2 * (nops - 1), "einsum: path must list ", nops - 1,
           " pair", nops == 2 ? "" : "s", " of operand positions (", 2 * (nops - 1), " numbers) for ", nops,
           " operands, got ", path.size(), " numbers");
  const auto sum_mask = [&](const std::vector<Term>& rest) {
    std::vector<bool> sum(static_cast<size_t>(ng), true);
    for (int64_t g = 0; g < ng; ++g) sum[static_cast<size_t>(g)] = !in_output[static_cast<size_t>(g)];
    for (const Term& t : rest)
      for (const int64_t g : t.dims) sum[static_cast<size_t>(g)] = false;
    return sum;
  };
  Term result;
  if (nops == 1) {
    result = std::move(terms[0]);
    std::vector<int64_t> summed;
    std::vector<int64_t> kept;
    for (size_t j = 0; j < result.dims.size(); ++j) {
      if (in_output[static_cast<size_t>(result.dims[j])]) {
        kept.push_back(result.dims[j]);
      } else {
        summed.push_back(static_cast<int64_t>(j));
      }
    }
    if (!summed.empty()) result = Term{result.t.sum(summed), kept};
  } else {
    for (int64_t step = 0; step < nops - 1; ++step) {
      int64_t i = 0, j = 1;
      if (!path.empty()) {
        const int64_t left = static_cast<int64_t>(terms.size());
        i = path[static_cast<size_t>(2 * step)];
        j = path[static_cast<size_t>(2 * step + 1)];
        DG_CHECK(i >= 0 && j >= 0 && i < left && j < left && i != j, "einsum: path pair ", step, " is (", i, ", ", j,
                 "), expected two different positions in [0, ", left, ") of the operands left");
      }
      Term a = terms[static_cast<size_t>(i)], b = terms[static_cast<size_t>(j)];
      terms.erase(terms.begin() + std::max(i, j));
      terms.erase(terms.begin() + std::min(i, j));
      Term r = contract_pair(std::move(a), std::move(b), sum_mask(terms));
      terms.push_back(std::move(r));
    }
    result = std::move(terms.back());
  }

  // The result holds the output's dims (some maybe size 1 where every operand
  // broadcast): put them in the output's order.
  std::vector<int64_t> perm;
  for (const int64_t g : out_order) {
    const auto it = std::find(result.dims.begin(), result.dims.end(), g);
    perm.push_back(it == result.dims.end() ? -1 : static_cast<int64_t>(it - result.dims.begin()));
  }
  Tensor r = result.t;
  // An output dim no operand still holds (only possible for size-1 broadcasts
  // dropped along the way) comes back as a size-1 dim.
  if (std::find(perm.begin(), perm.end(), int64_t{-1}) != perm.end()) {
    for (size_t j = 0; j < perm.size(); ++j) {
      if (perm[j] >= 0) continue;
      r = r.unsqueeze(static_cast<int64_t>(result.dims.size()));
      result.dims.push_back(out_order[j]);
      perm[j] = static_cast<int64_t>(result.dims.size() - 1);
    }
  }
  bool identity = true;
  for (size_t j = 0; j < perm.size(); ++j) identity = identity && perm[j] == static_cast<int64_t>(j);
  if (!identity) r = r.permute(perm);
  if (r.sizes() != IntArrayRef(out_sizes)) r = r.expand(out_sizes);
  return r;
}

// ---- chains of products ---------------------------------------------------------

namespace {

// The product of 2-D matrices in the order that costs the fewest
// multiplications (the classic dynamic programme), as linalg.multi_dot.
Tensor multiply_chain(const std::vector<Tensor>& m) {
  const size_t n = m.size();
  if (n == 1) return m[0];
  if (n == 2) return dg::mm(m[0], m[1]);
  std::vector<int64_t> p;  // matrix i is p[i] x p[i+1]
  for (const Tensor& t : m) p.push_back(t.size(0));
  p.push_back(m.back().size(1));
  std::vector<std::vector<double>> cost(n, std::vector<double>(n, 0));
  std::vector<std::vector<size_t>> split(n, std::vector<size_t>(n, 0));
  for (size_t len = 1; len < n; ++len) {
    for (size_t i = 0; i + len < n; ++i) {
      const size_t j = i + len;
      cost[i][j] = std::numeric_limits<double>::infinity();
      for (size_t k = i; k < j; ++k) {
        const double c = cost[i][k] + cost[k + 1][j] +
                         static_cast<double>(p[i]) * static_cast<double>(p[k + 1]) * static_cast<double>(p[j + 1]);
        if (c < cost[i][j]) {
          cost[i][j] = c;
          split[i][j] = k;
        }
      }
    }
  }
  const auto product = [&](const auto& self, size_t i, size_t j) -> Tensor {
    if (i == j) return m[i];
    const size_t k = split[i][j];
    return dg::mm(self(self, i, k), self(self, k + 1, j));
  };
  return product(product, 0, n - 1);
}

}  // namespace

Tensor linalg_multi_dot(const std::vector<Tensor>& tensors) {
  const size_t n = tensors.size();
  DG_CHECK(n >= 2, "linalg_multi_dot: expected at least 2 tensors, got ", n);
  const int64_t first = tensors.front().dim(), last = tensors.back().dim();
  DG_CHECK(first == 1 || first == 2, "linalg_multi_dot: the first tensor must be 1-D or 2-D, got shape ",
           tensors.front().sizes());
  DG_CHECK(last == 1 || last == 2, "linalg_multi_dot: the last tensor must be 1-D or 2-D, got shape ",
           tensors.back().sizes());
  std::vector<Tensor> m(tensors);
  if (first == 1) m.front() = m.front().unsqueeze(0);
  if (last == 1) m.back() = m.back().unsqueeze(1);
  for (size_t i = 0; i < n; ++i) {
    DG_CHECK(m[i].dim() == 2, "linalg_multi_dot: tensor ", i, " must be 2-D, got shape ", tensors[i].sizes());
    DG_CHECK(m[i].dtype() == m[0].dtype(), "linalg_multi_dot: expected tensors of one dtype, got tensor 0 of ",
             m[0].dtype(), " and tensor ", i, " of ", m[i].dtype());
    DG_CHECK(m[i].device() == m[0].device(), "linalg_multi_dot: expected tensors on one device, got tensor 0 on ",
             m[0].device(), " and tensor ", i, " on ", m[i].device());
    DG_CHECK(i == 0 || m[i - 1].size(1) == m[i].size(0), "linalg_multi_dot: tensors ", i - 1, " and ", i,
             " with shapes ", tensors[i - 1].sizes(), " and ", tensors[i].sizes(), " cannot be multiplied");
  }
  Tensor r = multiply_chain(m);
  if (first == 1 && last == 1) return r.view(IntArrayRef());
  if (first == 1) return r.squeeze(0);
  if (last == 1) return r.squeeze(1);
  return r;
}

Tensor chain_matmul(const std::vector<Tensor>& matrices) {
  DG_CHECK(!matrices.empty(), "chain_matmul: expected one or more matrices, got none");
  for (size_t i = 0; i < matrices.size(); ++i)
    DG_CHECK(matrices[i].dim() == 2, "chain_matmul: matrix ", i, " must be 2-D, got shape ", matrices[i].sizes());
  if (matrices.size() == 1) return matrices[0].clone();
  return composite::linalg_multi_dot(matrices);
}

Tensor matrix_power(const Tensor& self, int64_t n) {
  DG_CHECK(self.dim() >= 2, "matrix_power: expected self to have at least 2 dimensions, got shape ", self.sizes());
  DG_CHECK(self.size(-1) == self.size(-2), "matrix_power: expected (batches of) square matrices, got shape ",
           self.sizes());
  if (n < 0) return composite::matrix_power(dg::linalg_inv(self), -n);
  if (n == 0) {
    // The identity, still recording from self (a zero gradient), as PyTorch.
    Tensor r = self.clone();
    r.copy_(dg::eye(self.size(-1), self.options()));
    return r;
  }
  if (n == 1) return self.clone();
  // Binary decomposition of n: square z, multiply in where n has a 1 bit.
  Tensor z, result;
  while (n > 0) {
    const bool bit = n % 2 == 1;
    n /= 2;
    z = z.defined() ? dg::matmul(z, z) : self;
    if (bit) result = result.defined() ? dg::matmul(result, z) : z;
  }
  return result;
}

// ---- cross products -------------------------------------------------------------

// The three components as differences of products of narrowed slices (the
// other dims broadcast through the products), joined along dim.
Tensor linalg_cross(const Tensor& self, const Tensor& other, int64_t dim) {
  DG_CHECK(self.dim() == other.dim(),
           "linalg_cross: expected self and other with the same number of dimensions, got shapes ", self.sizes(),
           " and ", other.sizes());
  const int64_t d = meta::wrap_dim("linalg_cross", dim, self.dim());
  DG_CHECK(self.size(d) == 3 && other.size(d) == 3, "linalg_cross: dimension ", dim,
           " of self and other must have size 3, got ", self.size(d), " and ", other.size(d));
  meta::check_same_dtype("linalg_cross", "self", self, "other", other);
  meta::broadcast_shapes("linalg_cross", self.sizes(), other.sizes());
  const auto at = [d](const Tensor& t, int64_t i) { return t.narrow(d, i, 1); };
  return dg::cat(
      {at(self, 1) * at(other, 2) - at(self, 2) * at(other, 1), at(self, 2) * at(other, 0) - at(self, 0) * at(other, 2),
       at(self, 0) * at(other, 1) - at(self, 1) * at(other, 0)},
      d);
}

// linalg_cross's node (LinalgCrossBackward0) with LibTorch's default dim.
Tensor cross(const Tensor& self, const Tensor& other, std::optional<int64_t> dim) {
  if (dim.has_value()) return dg::linalg_cross(self, other, *dim);
  // LibTorch's deprecated default: self's first dimension of size 3.
  for (int64_t d = 0; d < self.dim(); ++d)
    if (self.size(d) == 3) return dg::linalg_cross(self, other, d);
  DG_CHECK(false, "cross: no dimension of size 3 in self (shape ", self.sizes(), ") and no dim given");
  return {};
}

}  // namespace dg::composite
