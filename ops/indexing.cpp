// Tensor::index and Tensor::index_put_ (dynagrad/indexing.h): LibTorch's
// indexing, written with the public ops. Basic entries (integers, Slices,
// None, Ellipsis, bools) make views with select/slice/unsqueeze; int64 and
// bool tensors then gather (index_select over the indexed dims merged into
// one) or scatter (index_add into the same merged dims, written back with
// copy_, so autograd sees ordinary ops and in-place rules).
#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg {

// ---- the index types ------------------------------------------------------------------

namespace indexing {

TensorIndex::TensorIndex(const char* s) : type_(TensorIndexType::Ellipsis) {
  DG_CHECK(std::string_view(s) == "...", "TensorIndex: expected \"...\" (Ellipsis) as a string index, got \"", s, "\"");
}
TensorIndex::TensorIndex(const Tensor& t) : type_(TensorIndexType::Tensor), tensor_(new Tensor(t)) {}
TensorIndex::TensorIndex(const TensorIndex& o)
    : type_(o.type_),
      integer_(o.integer_),
      boolean_(o.boolean_),
      slice_(o.slice_),
      tensor_(o.tensor_ ? new Tensor(*o.tensor_) : nullptr) {}
TensorIndex& TensorIndex::operator=(const TensorIndex& o) {
  if (this != &o) {
    TensorIndex copy(o);
    std::swap(type_, copy.type_);
    std::swap(integer_, copy.integer_);
    std::swap(boolean_, copy.boolean_);
    std::swap(slice_, copy.slice_);
    std::swap(tensor_, copy.tensor_);
  }
  return *this;
}
TensorIndex::~TensorIndex() { delete tensor_; }

const Tensor& TensorIndex::tensor() const {
  DG_CHECK(is_tensor(), "TensorIndex::tensor: this index is not a tensor");
  return *tensor_;
}

std::ostream& operator<<(std::ostream& os, const Slice& s) {
  return os << s.start() << ":" << s.stop() << ":" << s.step();
}

std::ostream& operator<<(std::ostream& os, const TensorIndex& i) {
  switch (i.type()) {
    case TensorIndexType::None: return os << "None";
    case TensorIndexType::Ellipsis: return os << "...";
    case TensorIndexType::Integer: return os << i.integer();
    case TensorIndexType::Boolean: return os << (i.boolean() ? "True" : "False");
    case TensorIndexType::Slice: return os << i.slice();
    case TensorIndexType::Tensor: return os << "Tensor(sizes=" << i.tensor().sizes() << ")";
  }
  return os;
}

}  // namespace indexing

namespace {

using indexing::TensorIndex;

// One advanced entry: `span` dims of the view starting at `dim`, indexed by
// `linear` (int64), the row-major position within those dims (a bool mask
// over several dims gives one entry).
struct Advanced {
  int64_t dim;
  int64_t span;
  Tensor linear;  // undefined for a mask until it is needed (masked_fill_ needs only the mask)
  Tensor mask;
  const Tensor& positions() {
    if (!linear.defined()) linear = nonzero(mask.reshape({-1})).view({-1});
    return linear;
  }
};

struct Indexed {
  Tensor view;  // self after the basic entries
  std::vector<Advanced> advanced;
};

int64_t dims_consumed(const TensorIndex& i) {
  if (i.is_integer() || i.is_slice()) return 1;
  if (i.is_tensor()) return i.tensor().dtype() == kBool ? std::max<int64_t>(i.tensor().dim(), 1) : 1;
  return 0;
}

Indexed apply_basic(const char* op, const Tensor& self, const std::vector<TensorIndex>& indices) {
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    consumed += dims_consumed(i);
    ellipses += i.is_ellipsis();
  }
  DG_CHECK(ellipses <= 1, op, ": an index can have only one ellipsis (...), got ", ellipses);
  DG_CHECK(consumed <= self.dim(), op, ": too many indices for a tensor of dimension ", self.dim(), " (got ", consumed,
           ")");
  Indexed out{self, {}};
  Tensor& r = out.view;
  int64_t d = 0;     // the next dim of r an entry applies to
  int64_t sdim = 0;  // the same dim counted in self (for messages)
  for (const TensorIndex& i : indices) {
    switch (i.type()) {
      case indexing::TensorIndexType::Integer: {
        const int64_t size = r.size(d), k = i.integer();
        DG_CHECK(k >= -size && k < size, op, ": index ", k, " is out of bounds for dimension ", sdim, " with size ",
                 size);
        r = r.select(d, k);
        ++sdim;
        break;
      }
      case indexing::TensorIndexType::Slice: {
        const indexing::Slice& s = i.slice();
        DG_CHECK(s.step() > 0, op, ": slice step must be positive, got ", s.step());
        r = r.slice(d, s.start(), s.stop(), s.step());
        ++d;
        ++sdim;
        break;
      }
      case indexing::TensorIndexType::None: r = r.unsqueeze(d++); break;
      case indexing::TensorIndexType::Boolean:
        // x[True] adds a dim of size 1, x[False] one of size 0.
        r = r.unsqueeze(d);
        if (!i.boolean()) r = r.slice(d, 0, 0);
        ++d;
        break;
      case indexing::TensorIndexType::Ellipsis:
        d += self.dim() - consumed;
        sdim += self.dim() - consumed;
        break;
      case indexing::TensorIndexType::Tensor: {
        const Tensor& t = i.tensor();
        DG_CHECK(t.dtype() == kInt64 || t.dtype() == kBool, op,
                 ": tensors used as indices must be int64 or bool tensors, got ", t.dtype());
        DG_CHECK(t.device() == self.device(), op, ": expected index tensors on the indexed tensor's device ",
                 self.device(), ", got one on ", t.device());
        if (t.dtype() == kBool) {
          if (t.dim() == 0) {  // like a Boolean entry
            r = r.unsqueeze(d);
            if (!t.item<bool>()) r = r.slice(d, 0, 0);
            ++d;
            break;
          }
          for (int64_t j = 0; j < t.dim(); ++j)
            DG_CHECK(t.size(j) == r.size(d + j), op, ": the shape of the mask ", t.sizes(), " at index ", j,
                     " does not match the shape of the indexed tensor ", r.sizes(), " at index ", d + j);
          out.advanced.push_back({d, t.dim(), Tensor(), t});
          d += t.dim();
          sdim += t.dim();
        } else {
          out.advanced.push_back(
              {d, 1, composite::wrap_index(op, t, r.size(d), "dimension " + std::to_string(sdim)), Tensor()});
          ++d;
          ++sdim;
        }
        break;
      }
    }
  }
  return out;
}

// Where the advanced dims go: r permuted to [advanced..., rest...] and merged
// into [n, rest...]; the broadcast index shape and the merged positions.
struct Gather {
  std::vector<int64_t> perm;  // r.permute(perm) puts the advanced dims first
  std::vector<int64_t> permuted_sizes;
  std::vector<int64_t> merged_sizes;  // [product of the advanced sizes, rest...]
  std::vector<int64_t> index_shape;   // the advanced indices' broadcast shape
  Tensor flat;                        // merged positions, [numel(index_shape)]
  int64_t front;                      // where the index dims land in the result
};

Gather plan(const Tensor& r, std::vector<Advanced>& adv) {
  Gather g;
  std::vector<bool> used(static_cast<size_t>(r.dim()), false);
  for (const Advanced& a : adv)
    for (int64_t j = 0; j < a.span; ++j) {
      g.perm.push_back(a.dim + j);
      used[a.dim + j] = true;
    }
  int64_t adv_numel = 1;
  for (int64_t p : g.perm) adv_numel *= r.size(p);
  for (int64_t d = 0; d < r.dim(); ++d)
    if (!used[d]) g.perm.push_back(d);
  for (int64_t p : g.perm) g.permuted_sizes.push_back(r.size(p));
  const auto n_adv = static_cast<int64_t>(std::count(used.begin(), used.end(), true));
  g.merged_sizes.push_back(adv_numel);
  g.merged_sizes.insert(g.merged_sizes.end(), g.permuted_sizes.begin() + n_adv, g.permuted_sizes.end());
  // Adjacent advanced entries keep their place; otherwise they go in front.
  bool adjacent = true;
  for (size_t k = 1; k < adv.size(); ++k) adjacent &= adv[k].dim == adv[k - 1].dim + adv[k - 1].span;
  g.front = adjacent ? adv[0].dim : 0;
  // The position within the merged dims: the entries' positions, each scaled
  // by the number of positions of the entries after it.
  std::vector<Tensor> idx;
  for (Advanced& a : adv) idx.push_back(a.positions());
  if (idx.size() == 1) {
    g.index_shape = std::vector<int64_t>(idx[0].sizes().begin(), idx[0].sizes().end());
    g.flat = idx[0].reshape({-1});
    return g;
  }
  const std::vector<Tensor> b = broadcast_tensors(idx);
  g.index_shape = std::vector<int64_t>(b[0].sizes().begin(), b[0].sizes().end());
  Tensor lin = b.back();
  int64_t scale = 1;
  for (int64_t k = static_cast<int64_t>(adv.size()) - 2; k >= 0; --k) {
    for (int64_t j = 0; j < adv[k + 1].span; ++j) scale *= r.size(adv[k + 1].dim + j);
    lin = lin + b[k] * scale;
  }
  g.flat = lin.reshape({-1});
  return g;
}

// Moves the index dims between the front, [index..., rest...], and where the
// result has them (at g.front): to_result, or back from the result's order.
Tensor move_index_dims(const Tensor& t, const Gather& g, bool to_result) {
  if (g.front == 0) return t;
  const int64_t k = static_cast<int64_t>(g.index_shape.size());
  std::vector<int64_t> front(k), placed(k);
  std::iota(front.begin(), front.end(), 0);
  std::iota(placed.begin(), placed.end(), g.front);
  return to_result ? t.movedim(front, placed) : t.movedim(placed, front);
}

// The shape index() returns, in the order of [index..., rest...].
std::vector<int64_t> gathered_shape(const Gather& g) {
  std::vector<int64_t> s = g.index_shape;
  s.insert(s.end(), g.merged_sizes.begin() + 1, g.merged_sizes.end());
  return s;
}

Tensor index_impl(const Tensor& self, const std::vector<TensorIndex>& indices) {
  Indexed ix = apply_basic("index", self, indices);
  if (ix.advanced.empty()) return ix.view;
  const Gather g = plan(ix.view, ix.advanced);
  const Tensor merged = ix.view.permute(g.perm).reshape(g.merged_sizes);
  return move_index_dims(merged.index_select(0, g.flat).view(gathered_shape(g)), g, true);
}

const Tensor& index_put_impl(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& values,
                             bool accumulate) {
  DG_CHECK(values.defined(), "index_put_: expected a defined values tensor");
  Indexed ix = apply_basic("index_put_", self, indices);
  const Tensor& r = ix.view;
  const Tensor v = values.to(self.dtype());
  if (ix.advanced.empty()) {
    if (accumulate) {
      r.add_(v);
    } else {
      r.copy_(v);
    }
    return self;
  }
  // A number (0-dim values) under one bool mask over all of r, the common
  // x.index_put_({x < 0}, 0): masked_fill_, one pass and no gather.
  if (!accumulate && v.dim() == 0 && ix.advanced.size() == 1 && ix.advanced[0].dim == 0 &&
      ix.advanced[0].span == r.dim()) {
    for (const TensorIndex& i : indices)
      if (i.is_tensor() && i.tensor().dtype() == kBool && i.tensor().dim() == r.dim()) {
        r.masked_fill_(i.tensor(), v);
        return self;
      }
  }
  const Gather g = plan(r, ix.advanced);
  const std::vector<int64_t> shape = gathered_shape(g);
  Tensor src;
  {
    const std::vector<int64_t> result_shape = [&] {
      std::vector<int64_t> s = shape;
      if (g.front == 0) return s;
      // The result order: rest dims before front, index dims, the others.
      std::vector<int64_t> o(s.begin() + g.index_shape.size(), s.begin() + g.index_shape.size() + g.front);
      o.insert(o.end(), g.index_shape.begin(), g.index_shape.end());
      o.insert(o.end(), s.begin() + g.index_shape.size() + g.front, s.end());
      return o;
    }();
    bool fits = v.dim() <= static_cast<int64_t>(result_shape.size());
    for (int64_t k = 1; fits && k <= v.dim(); ++k) {
      const int64_t have = v.size(-k), want = result_shape[result_shape.size() - k];
      fits = have == 1 || have == want;
    }
    DG_CHECK(fits, "index_put_: shape mismatch: values of shape ", v.sizes(),
             " cannot be broadcast to the indexing result of shape ", IntArrayRef(result_shape));
    src = move_index_dims(v.expand(result_shape), g, false).reshape({-1}).view([&] {
      std::vector<int64_t> m{static_cast<int64_t>(g.flat.numel())};
      m.insert(m.end(), g.merged_sizes.begin() + 1, g.merged_sizes.end());
      return m;
    }());
  }
  // When the advanced dims lead a contiguous r, the merged tensor is a view
  // of r and is written in place; otherwise a merged copy is updated and
  // copied back.
  bool leading = r.is_contiguous();
  for (size_t k = 0; k < g.perm.size(); ++k) leading = leading && g.perm[k] == static_cast<int64_t>(k);
  const Tensor merged = leading ? r.view(g.merged_sizes) : r.permute(g.perm).reshape(g.merged_sizes);
  // Assignment is index_copy (of a repeated index the CPU keeps the last
  // value, CUDA one of them, as LibTorch); accumulation index_add.
  const auto update = [&](const Tensor& dst, bool in_place) -> Tensor {
    if (accumulate) return in_place ? dst.index_add_(0, g.flat, src) : dst.index_add(0, g.flat, src);
    return in_place ? dst.index_copy_(0, g.flat, src) : dst.index_copy(0, g.flat, src);
  };
  if (leading) {
    update(merged, true);
    return self;
  }
  const Tensor updated = update(merged, false);
  std::vector<int64_t> inverse(g.perm.size());
  for (size_t k = 0; k < g.perm.size(); ++k) inverse[g.perm[k]] = static_cast<int64_t>(k);
  r.copy_(updated.view(g.permuted_sizes).permute(inverse));
  return self;
}

}  // namespace

Tensor Tensor::index(std::initializer_list<indexing::TensorIndex> indices) const {
  return index_impl(*this, std::vector<indexing::TensorIndex>(indices));
}
Tensor Tensor::index(const std::vector<indexing::TensorIndex>& indices) const { return index_impl(*this, indices); }

const Tensor& Tensor::index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& rhs,
                                 bool accumulate) const {
  return index_put_impl(*this, std::vector<indexing::TensorIndex>(indices), rhs, accumulate);
}
const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& rhs,
                                 bool accumulate) const {
  return index_put_impl(*this, indices, rhs, accumulate);
}
const Tensor& Tensor::index_put_(std::initializer_list<indexing::TensorIndex> indices, const Scalar& v) const {
  return index_put_impl(*this, std::vector<indexing::TensorIndex>(indices), scalar_tensor(v, options()), false);
}
const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Scalar& v) const {
  return index_put_impl(*this, indices, scalar_tensor(v, options()), false);
}

}  // namespace dg
