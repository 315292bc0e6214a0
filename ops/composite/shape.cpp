// Reshaping built from views and copies: reshape, t, contiguous, narrow,
// flatten, unbind/split/chunk (views), cat, stack, repeat, roll, pad, and the
// gradients of the view ops.
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

namespace {

std::vector<Tensor> split_with(const char* op, const Tensor& self, int64_t split_size, int64_t dim,
                               int64_t min_pieces) {
  const int64_t d = meta::wrap_dim(op, dim, self.dim());
  const int64_t n = self.size(d);
  const int64_t pieces = split_size == 0 ? min_pieces : std::max((n + split_size - 1) / split_size, min_pieces);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(pieces));
  for (int64_t i = 0; i < pieces; ++i) {
    const int64_t start = std::min(i * split_size, n);
    out.push_back(self.narrow(d, start, std::min(split_size, n - start)));
  }
  return out;
}

Tensor roll_one(const Tensor& x, int64_t shift, int64_t d) {
  const int64_t n = x.size(d);
  if (n == 0) return x.clone();
  const int64_t s = ((shift % n) + n) % n;
  if (s == 0) return x.clone();
  return composite::cat({x.narrow(d, n - s, s), x.narrow(d, 0, n - s)}, d);
}

}  // namespace

Tensor reshape(const Tensor& self, IntArrayRef shape) {
  const DimVector sizes = meta::infer_size("reshape", shape, self.numel());
  if (meta::view_strides(self.sizes(), self.strides(), sizes)) return self.view(sizes);
  return self.clone().view(sizes);
}

Tensor t(const Tensor& self) {
  DG_CHECK(self.dim() <= 2, "t: expected a tensor with at most 2 dimensions, got a tensor of shape ", self.sizes(),
           " (", self.dim(), " dimensions); use transpose(dim0, dim1)");
  if (self.dim() < 2) return self.view(self.sizes());
  return self.transpose(0, 1);
}

Tensor contiguous(const Tensor& self) { return self.is_contiguous() ? self : self.clone(); }

// ---- views built from other views, and the gradients of views ----------------

Tensor permute_backward(const Tensor& grad, IntArrayRef dims) {
  const DimVector perm = meta::permutation("permute_backward", dims, grad.dim());
  DimVector inverse(perm.size(), 0);
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  return grad.permute(inverse);
}

// The gradient of a view is zeros of the input's shape with the gradient
// written through the same view: an in-place copy into a view, which autograd
// differentiates again (the base's history is rewritten), so double backward
// needs no op of its own.
Tensor slice_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t dim, std::optional<int64_t> start,
                      std::optional<int64_t> end, int64_t step) {
  Tensor g = zeros(input_sizes, grad_output.options());
  g.slice(dim, start, end, step).copy_(grad_output);
  return g;
}

Tensor diagonal_backward(const Tensor& grad_output, IntArrayRef input_sizes, int64_t offset, int64_t dim1,
                         int64_t dim2) {
  Tensor g = zeros(input_sizes, grad_output.options());
  g.diagonal(offset, dim1, dim2).copy_(grad_output);
  return g;
}

Tensor narrow(const Tensor& self, int64_t dim, int64_t start, int64_t length) {
  DG_CHECK(self.dim() > 0, "narrow: cannot narrow a 0-dim tensor");
  const int64_t d = meta::wrap_dim("narrow", dim, self.dim());
  const int64_t n = self.size(d);
  DG_CHECK(start >= -n && start <= n, "narrow: start ", start, " is out of range for dimension ", d, " of size ", n,
           " (expected ", -n, "..", n, ")");
  if (start < 0) start += n;
  DG_CHECK(length >= 0, "narrow: expected a non-negative length, got ", length);
  DG_CHECK(start <= n - length, "narrow: start (", start, ") + length (", length, ") exceeds the size ", n,
           " of dimension ", d);
  return self.slice(d, start, start + length, 1);
}

Tensor flatten(const Tensor& self, int64_t start_dim, int64_t end_dim) {
  const int64_t nd = self.dim();
  const int64_t s = meta::wrap_dim("flatten", start_dim, nd);
  const int64_t e = meta::wrap_dim("flatten", end_dim, nd);
  DG_CHECK(s <= e, "flatten: expected start_dim <= end_dim, got start_dim ", start_dim, " (dimension ", s,
           ") after end_dim ", end_dim, " (dimension ", e, ")");
  if (nd == 0) return self.reshape({1});
  if (s == e) return self;
  DimVector shape;
  for (int64_t d = 0; d < s; ++d) shape.push_back(self.size(d));
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= self.size(d);
  shape.push_back(merged);
  for (int64_t d = e + 1; d < nd; ++d) shape.push_back(self.size(d));
  return self.reshape(shape);
}

std::vector<Tensor> unbind(const Tensor& self, int64_t dim) {
  DG_CHECK(self.dim() > 0, "unbind: cannot unbind a 0-dim tensor");
  const int64_t d = meta::wrap_dim("unbind", dim, self.dim());
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(self.size(d)));
  for (int64_t i = 0; i < self.size(d); ++i) out.push_back(self.select(d, i));
  return out;
}

std::vector<Tensor> split(const Tensor& self, int64_t split_size, int64_t dim) {
  DG_CHECK(self.dim() > 0, "split: cannot split a 0-dim tensor");
  DG_CHECK(split_size >= 0, "split: expected a non-negative split_size, got ", split_size);
  const int64_t d = meta::wrap_dim("split", dim, self.dim());
  DG_CHECK(split_size > 0 || self.size(d) == 0, "split: split_size can be 0 only when dimension ", d,
           " is empty, but it has size ", self.size(d));
  return split_with("split", self, split_size, d, 1);
}

std::vector<Tensor> chunk(const Tensor& self, int64_t chunks, int64_t dim) {
  DG_CHECK(self.dim() > 0, "chunk: cannot chunk a 0-dim tensor");
  DG_CHECK(chunks > 0, "chunk: expected a positive number of chunks, got ", chunks);
  const int64_t d = meta::wrap_dim("chunk", dim, self.dim());
  const int64_t n = self.size(d);
  // An empty dim still gives `chunks` (empty) pieces, as in PyTorch.
  if (n == 0) return split_with("chunk", self, 0, d, chunks);
  return split_with("chunk", self, (n + chunks - 1) / chunks, d, 1);
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  DG_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // As in PyTorch, 1-D empty tensors are skipped whatever the others' shapes.
  std::vector<size_t> parts;
  ScalarType dtype = tensors[0].dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    DG_CHECK(t.defined(), "cat: tensor ", i, " in the list is undefined");
    DG_CHECK(t.device() == tensors[0].device(), "cat: expected all tensors on one device, got tensor 0 on ",
             tensors[0].device(), " and tensor ", i, " on ", t.device());
    dtype = promote_types(dtype, t.dtype());
    if (!(t.dim() == 1 && t.size(0) == 0)) parts.push_back(i);
  }
  const TensorOptions options = TensorOptions().dtype(dtype).device(tensors[0].device());
  if (parts.empty()) return empty({0}, options);
  const Tensor& ref = tensors[parts[0]];
  DG_CHECK(ref.dim() > 0, "cat: zero-dimensional tensor (at position ", parts[0], ") cannot be concatenated");
  const int64_t d = meta::wrap_dim("cat", dim, ref.dim());
  DimVector shape(ref.sizes());
  shape[d] = 0;
  for (size_t i : parts) {
    const Tensor& t = tensors[i];
    DG_CHECK(t.dim() == ref.dim(), "cat: expected every tensor to have ", ref.dim(), " dimensions (as tensor ",
             parts[0], " of shape ", ref.sizes(), "), got tensor ", i, " of shape ", t.sizes());
    for (int64_t k = 0; k < t.dim(); ++k) {
      DG_CHECK(k == d || t.size(k) == ref.size(k), "cat: sizes of tensors must match except in dimension ", d,
               ": expected size ", ref.size(k), " in dimension ", k, " but got size ", t.size(k), " for tensor ", i,
               " of shape ", t.sizes());
    }
    shape[d] += t.size(d);
  }
  // Each piece is copied into its slice of the result: copy_ into a view is
  // differentiable (the result's history becomes CopySlices of each piece).
  Tensor out = empty(shape, options);
  int64_t offset = 0;
  for (size_t i : parts) {
    const int64_t n = tensors[i].size(d);
    if (n > 0) out.narrow(d, offset, n).copy_(tensors[i]);
    offset += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  DG_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  const int64_t d = meta::wrap_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    DG_CHECK(tensors[i].defined(), "stack: tensor ", i, " in the list is undefined");
    DG_CHECK(tensors[i].sizes() == tensors[0].sizes(), "stack: expected each tensor to be of equal size, but got ",
             tensors[0].sizes(), " at entry 0 and ", tensors[i].sizes(), " at entry ", i);
    pieces.push_back(tensors[i].unsqueeze(d));
  }
  return composite::cat(pieces, d);
}

Tensor repeat(const Tensor& self, IntArrayRef repeats) {
  const int64_t nr = static_cast<int64_t>(repeats.size());
  DG_CHECK(nr >= self.dim(), "repeat: the number of repeats (", nr,
           ") can not be smaller than the number of dimensions of self (", self.dim(), "); self of shape ",
           self.sizes(), ", repeats ", repeats);
  for (int64_t r : repeats) DG_CHECK(r >= 0, "repeat: expected non-negative repeats, got ", repeats);
  // View self as [1, s0, 1, s1, ...], expand the 1s to the repeats, then copy
  // into [r0 * s0, r1 * s1, ...]. The copy is always made (repeat never aliases).
  const int64_t lead = nr - self.dim();
  DimVector interleaved, expanded, out;
  for (int64_t i = 0; i < nr; ++i) {
    const int64_t s = i < lead ? 1 : self.size(i - lead);
    interleaved.push_back(1);
    interleaved.push_back(s);
    expanded.push_back(repeats[i]);
    expanded.push_back(s);
    out.push_back(repeats[i] * s);
  }
  return self.reshape(interleaved).expand(expanded).clone().view(out);
}

Tensor roll(const Tensor& self, IntArrayRef shifts, IntArrayRef dims) {
  if (dims.empty()) {
    DG_CHECK(shifts.size() == 1,
             "roll: expected one shift when dims is empty (rolling the flattened tensor), got shifts ", shifts);
    return roll_one(self.reshape({-1}), shifts[0], 0).view(self.sizes());
  }
  DG_CHECK(shifts.size() == dims.size(), "roll: expected shifts and dims of the same length, got shifts ", shifts,
           " and dims ", dims);
  DG_CHECK(self.dim() > 0, "roll: cannot roll a 0-dim tensor along dims ", dims);
  Tensor x = self;
  for (size_t i = 0; i < dims.size(); ++i) x = roll_one(x, shifts[i], meta::wrap_dim("roll", dims[i], self.dim()));
  return x;
}

Tensor pad(const Tensor& self, IntArrayRef pad, std::string_view mode, std::optional<double> value) {
  DG_CHECK(mode == "constant", "pad: mode '", std::string(mode),
           "' is not supported (only \"constant\" is; reflect, replicate and circular are not implemented)");
  const int64_t np = static_cast<int64_t>(pad.size());
  DG_CHECK(np % 2 == 0, "pad: expected an even number of padding values ((left, right) pairs), got pad ", pad);
  DG_CHECK(np / 2 <= self.dim(), "pad: pad ", pad, " pads ", np / 2, " dimensions but self of shape ", self.sizes(),
           " has only ", self.dim());
  DimVector shape(self.sizes());
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = self.dim() - 1 - i;
    shape[d] = self.size(d) + pad[2 * i] + pad[2 * i + 1];
    DG_CHECK(shape[d] >= 0, "pad: padding (", pad[2 * i], ", ", pad[2 * i + 1], ") of dimension ", d, " of size ",
             self.size(d), " gives a negative size ", shape[d]);
  }
  Tensor out = full(shape, Scalar(value.value_or(0.0)), self.options());
  // Negative padding crops: narrow the source; positive padding offsets the
  // destination. copy_ into the view makes the result differentiable.
  Tensor src = self, dst = out;
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = self.dim() - 1 - i;
    const int64_t l = pad[2 * i], r = pad[2 * i + 1];
    const int64_t crop_l = std::max<int64_t>(-l, 0), crop_r = std::max<int64_t>(-r, 0);
    const int64_t len = self.size(d) - crop_l - crop_r;
    if (len <= 0) return out;
    src = src.narrow(d, crop_l, len);
    dst = dst.narrow(d, std::max<int64_t>(l, 0), len);
  }
  if (src.numel() > 0) dst.copy_(src);
  return out;
}

}  // namespace dg::composite

// ---- LibTorch's shape helpers ----------------------------------------------------

namespace dg::composite {

Tensor expand_as(const Tensor& self, const Tensor& other) { return self.expand(other.sizes()); }
Tensor broadcast_to(const Tensor& self, IntArrayRef size) { return self.expand(size); }

std::vector<Tensor> broadcast_tensors(const std::vector<Tensor>& tensors) {
  std::vector<int64_t> shape;
  for (const Tensor& t : tensors) shape = meta::broadcast_shapes("broadcast_tensors", shape, t.sizes()).vec();
  std::vector<Tensor> out;
  out.reserve(tensors.size());
  for (const Tensor& t : tensors) out.push_back(t.expand(shape));
  return out;
}

Tensor view_as(const Tensor& self, const Tensor& other) { return self.view(other.sizes()); }
Tensor reshape_as(const Tensor& self, const Tensor& other) { return self.reshape(other.sizes()); }
Tensor type_as(const Tensor& self, const Tensor& other) { return self.to(other.dtype()); }

Tensor movedim(const Tensor& self, IntArrayRef source, IntArrayRef destination) {
  const int64_t nd = self.dim();
  DG_CHECK(source.size() == destination.size(), "movedim: expected source and destination of the same length, got ",
           source.size(), " source dims and ", destination.size(), " destination dims");
  std::vector<int64_t> order(static_cast<size_t>(nd), -1);
  std::vector<bool> moved(static_cast<size_t>(nd), false);
  for (size_t i = 0; i < source.size(); ++i) {
    const int64_t s = meta::wrap_dim("movedim", source[i], nd), d = meta::wrap_dim("movedim", destination[i], nd);
    DG_CHECK(!moved[s], "movedim: repeated dim in source ", source);
    DG_CHECK(order[d] == -1, "movedim: repeated dim in destination ", destination);
    moved[s] = true;
    order[d] = s;
  }
  // The dims that do not move fill the free places in their own order.
  int64_t next = 0;
  for (auto& o : order) {
    if (o != -1) continue;
    while (moved[next]) ++next;
    o = next++;
  }
  return self.permute(order);
}

Tensor movedim_int(const Tensor& self, int64_t source, int64_t destination) {
  return composite::movedim(self, {source}, {destination});
}

Tensor swapaxes(const Tensor& self, int64_t axis0, int64_t axis1) { return self.transpose(axis0, axis1); }

Tensor unflatten(const Tensor& self, int64_t dim, IntArrayRef sizes) {
  const int64_t d = meta::wrap_dim("unflatten", dim, self.dim());
  DG_CHECK(!sizes.empty(), "unflatten: expected non-empty sizes, got []");
  const std::vector<int64_t> inner = meta::infer_size("unflatten", sizes, self.size(d)).vec();
  std::vector<int64_t> shape(self.sizes().begin(), self.sizes().begin() + d);
  shape.insert(shape.end(), inner.begin(), inner.end());
  shape.insert(shape.end(), self.sizes().begin() + d + 1, self.sizes().end());
  return self.view(shape);
}

Tensor atleast_1d(const Tensor& self) { return self.dim() >= 1 ? self : self.reshape({1}); }
Tensor atleast_2d(const Tensor& self) {
  if (self.dim() >= 2) return self;
  return self.dim() == 1 ? self.unsqueeze(0) : self.reshape({1, 1});
}
Tensor atleast_3d(const Tensor& self) {
  switch (self.dim()) {
    case 0: return self.reshape({1, 1, 1});
    case 1: return self.unsqueeze(0).unsqueeze(-1);
    case 2: return self.unsqueeze(-1);
    default: return self;
  }
}

Tensor diag_embed(const Tensor& self, int64_t offset, int64_t dim1, int64_t dim2) {
  const int64_t nd = self.dim() + 1;
  const int64_t d1 = meta::wrap_dim("diag_embed", dim1, nd), d2 = meta::wrap_dim("diag_embed", dim2, nd);
  DG_CHECK(d1 != d2, "diag_embed: expected two different dims, got dim1 ", dim1, " and dim2 ", dim2);
  DG_CHECK(self.dim() >= 1, "diag_embed: expected a tensor of at least 1 dim, got a 0-dim tensor");
  const int64_t n = self.size(-1) + std::abs(offset);
  // The output's shape: self's batch dims with n at d1 and d2.
  std::vector<int64_t> shape;
  int64_t b = 0;
  for (int64_t i = 0; i < nd; ++i) shape.push_back(i == d1 || i == d2 ? n : self.size(b++));
  Tensor out = zeros(shape, self.options());
  // diagonal() puts the diagonal last, which is where self keeps its values.
  out.diagonal(offset, d1, d2).copy_(self);
  return out;
}

Tensor diag(const Tensor& self, int64_t diagonal) {
  DG_CHECK(self.dim() == 1 || self.dim() == 2, "diag: expected a 1-D or 2-D tensor, got shape ", self.sizes());
  if (self.dim() == 1) return composite::diag_embed(self, diagonal, 0, 1);
  return self.diagonal(diagonal).clone();
}

Tensor trace(const Tensor& self) {
  DG_CHECK(self.dim() == 2, "trace: expected a matrix (2-D tensor), got shape ", self.sizes());
  return self.diagonal().sum();
}

Tensor kron(const Tensor& self, const Tensor& other) {
  const int64_t nd = std::max(self.dim(), other.dim());
  std::vector<int64_t> sa(static_cast<size_t>(nd - self.dim()), 1), sb(static_cast<size_t>(nd - other.dim()), 1);
  sa.insert(sa.end(), self.sizes().begin(), self.sizes().end());
  sb.insert(sb.end(), other.sizes().begin(), other.sizes().end());
  // a as [a0, 1, a1, 1, ...] times b as [1, b0, 1, b1, ...], then merged pairs.
  std::vector<int64_t> ia, ib, out;
  for (int64_t i = 0; i < nd; ++i) {
    ia.insert(ia.end(), {sa[i], 1});
    ib.insert(ib.end(), {1, sb[i]});
    out.push_back(sa[i] * sb[i]);
  }
  return (self.reshape(ia) * other.reshape(ib)).reshape(out);
}

Tensor block_diag(const std::vector<Tensor>& tensors) {
  int64_t rows = 0, cols = 0;
  std::vector<Tensor> blocks;
  for (const Tensor& t : tensors) {
    DG_CHECK(t.dim() <= 2, "block_diag: expected tensors of at most 2 dims, got one of shape ", t.sizes());
    blocks.push_back(t.dim() == 2 ? t : t.reshape({1, t.dim() == 0 ? 1 : t.size(0)}));
    rows += blocks.back().size(0);
    cols += blocks.back().size(1);
  }
  ScalarType dtype = tensors.empty() ? kFloat32 : tensors[0].dtype();
  for (const Tensor& t : tensors) dtype = promote_types(dtype, t.dtype());
  Tensor out =
      zeros({rows, cols}, TensorOptions().dtype(dtype).device(tensors.empty() ? Device(kCPU) : tensors[0].device()));
  int64_t r = 0, c = 0;
  for (const Tensor& b : blocks) {
    out.narrow(0, r, b.size(0)).narrow(1, c, b.size(1)).copy_(b);
    r += b.size(0);
    c += b.size(1);
  }
  return out;
}

std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, std::string_view indexing) {
  DG_CHECK(indexing == "ij" || indexing == "xy", "meshgrid: indexing must be \"ij\" or \"xy\", got \"",
           std::string(indexing), "\"");
  DG_CHECK(!tensors.empty(), "meshgrid: expected at least one tensor");
  const bool xy = indexing == "xy" && tensors.size() >= 2;
  std::vector<int64_t> shape;
  for (const Tensor& t : tensors) {
    DG_CHECK(t.dim() <= 1, "meshgrid: expected 0-D or 1-D tensors, got one of shape ", t.sizes());
    shape.push_back(t.numel());
  }
  if (xy) std::swap(shape[0], shape[1]);
  std::vector<Tensor> out;
  const int64_t n = static_cast<int64_t>(tensors.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t at = xy && i < 2 ? 1 - i : i;  // the dim tensor i varies along
    std::vector<int64_t> view(static_cast<size_t>(n), 1);
    view[at] = tensors[i].numel();
    out.push_back(tensors[i].reshape(view).expand(shape));
  }
  return out;
}

Tensor constant_pad_nd(const Tensor& self, IntArrayRef pad, const Scalar& value) {
  return dg::pad(self, pad, "constant", value.toDouble());
}

}  // namespace dg::composite
