// The shape rule of every category: pointwise op: broadcast shape, promoted
// dtype, one device.
#include <optional>

#include "ops/meta.h"

namespace dg::meta {

namespace {

// PyTorch's result-type rule: tensors with dimensions decide the dtype; a
// 0-dim tensor, then a scalar argument, changes it only when it is of a
// higher category (bool < integer < floating), so a 0-dim float64 tensor
// times a float32 tensor is float32, and an int32 tensor plus 2 stays int32.
using MaybeType = std::optional<ScalarType>;

MaybeType promote_defined(MaybeType a, ScalarType b) { return a ? promote_types(*a, b) : b; }

MaybeType combine_categories(MaybeType higher, MaybeType lower) {
  if (!higher) return lower;
  if (!lower || is_floating_point(*higher)) return higher;
  if (*higher == kBool || is_floating_point(*lower)) return promote_types(*higher, *lower);
  return higher;
}

}  // namespace

// ---- pointwise ----------------------------------------------------------------

TensorMeta pointwise(const char* op, std::initializer_list<NamedTensor> tensors,
                     std::initializer_list<const Scalar*> scalars, bool int_to_float) {
  TensorMeta m;
  bool first = true;
  size_t i = 0;
  const NamedTensor* first_arg = nullptr;
  MaybeType dim_result, zero_dim_result, scalar_result;
  const Tensor* first_tensor = nullptr;
  for (const NamedTensor& arg : tensors) {
    const Tensor* t = arg.tensor;
    if (!first) {
      DG_CHECK(t->device() == first_tensor->device(), op, ": expected all tensors to be on the same device, got ",
               first_arg->name, " on ", first_tensor->device(), " and ", arg.name, " on ", t->device());
    }
    if (arg.promote) {
      MaybeType& r = t->dim() > 0 ? dim_result : zero_dim_result;
      r = promote_defined(r, t->dtype());
    }
    if (first) {
      m.sizes = DimVector(t->sizes());
      m.device = t->device();
      first_tensor = t;
      first_arg = &arg;
      first = false;
    } else {
      // Broadcast by hand (not broadcast_shapes) to name both arguments.
      IntArrayRef a = m.sizes, b = t->sizes();
      const size_t n = std::max(a.size(), b.size());
      DimVector out(n, 1);
      for (size_t k = 0; k < n; ++k) {
        const int64_t da = k < n - a.size() ? 1 : a[k - (n - a.size())];
        const int64_t db = k < n - b.size() ? 1 : b[k - (n - b.size())];
        if (!(da == db || da == 1 || db == 1)) {
          if (i == 1) {
            detail::fail(detail::str(op, ": the shapes of ", first_arg->name, " ", first_tensor->sizes(), " and ",
                                     arg.name, " ", b, " cannot be broadcast together"));
          }
          detail::fail(detail::str(op, ": the shape ", b, " of ", arg.name, " cannot be broadcast with the shape ", a,
                                   " of the other arguments"));
        }
        out[k] = da == 1 ? db : da;
      }
      m.sizes = std::move(out);
    }
    ++i;
  }
  for (const Scalar* s : scalars) {
    // A floating scalar counts as the default dtype, an integer one as int64.
    scalar_result = promote_defined(scalar_result, s->is_floating_point() ? get_default_dtype() : s->type());
  }
  const MaybeType result = combine_categories(dim_result, combine_categories(zero_dim_result, scalar_result));
  if (result) m.dtype = *result;
  if (int_to_float && !is_floating_point(m.dtype)) m.dtype = kFloat32;
  return m;
}

}  // namespace dg::meta
