// Convolution front ends (conv1d, conv2d, conv_transpose*, convolution),
// built on the kernel ops. They check the arguments under their own name
// first, so errors say "conv2d: ..." rather than naming the kernel op
// underneath.
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

// `spatial` spatial dims; the input may lack the batch dim (as in PyTorch).
Tensor conv_impl(const char* op, int64_t spatial, const Tensor& input, const Tensor& weight,
                 const std::optional<Tensor>& bias, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                 bool transposed, IntArrayRef output_padding, int64_t groups, bool allow_unbatched) {
  DG_CHECK(input.defined() && weight.defined(), op, ": input and weight must be defined tensors");
  DG_CHECK(weight.dim() == spatial + 2, op, ": expected weight of ", spatial + 2, " dimensions, got ", weight.sizes());
  const bool batched = input.dim() == spatial + 2;
  DG_CHECK(batched || (allow_unbatched && input.dim() == spatial + 1), op, ": expected input of ", spatial + 1,
           " (unbatched) or ", spatial + 2, " (batched) dimensions, got ", input.sizes());
  meta::check_same_device(op, {&input, &weight});
  DG_CHECK(input.dtype() == weight.dtype(), op, ": expected input and weight to have the same dtype, got ",
           input.dtype(), " and ", weight.dtype());
  const Tensor x = batched ? input : input.unsqueeze(0);
  const DimVector out = meta::conv_output_sizes(op, spatial, x.sizes(), weight.sizes(), stride, padding, dilation,
                                                transposed, output_padding, groups);
  const bool has_bias = bias.has_value() && bias->defined();
  if (has_bias) {
    meta::check_same_device(op, {&input, &*bias});
    DG_CHECK(bias->dim() == 1 && bias->size(0) == out[1], op, ": expected bias of shape [", out[1],
             "] (one per output channel), got ", bias->sizes());
    DG_CHECK(bias->dtype() == input.dtype(), op, ": expected bias of dtype ", input.dtype(), ", got ", bias->dtype());
  }
  Tensor y = dg::convolution_nobias(x, weight, stride, padding, dilation, transposed, output_padding, groups);
  if (has_bias) {
    DimVector shape(static_cast<size_t>(spatial + 2), 1);
    shape[1] = out[1];
    y = y + bias->view(shape);
  }
  return batched ? y : y.squeeze(0);
}

}  // namespace

Tensor convolution(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, IntArrayRef stride,
                   IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                   int64_t groups) {
  DG_CHECK(weight.defined(), "convolution: weight must be a defined tensor");
  DG_CHECK(weight.dim() == 3 || weight.dim() == 4,
           "convolution: expected weight of 3 (1-D) or 4 (2-D) dimensions, got ", weight.sizes());
  return conv_impl("convolution", weight.dim() - 2, input, weight, bias, stride, padding, dilation, transposed,
                   output_padding, groups, false);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, IntArrayRef stride,
              IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_impl("conv1d", 1, input, weight, bias, stride, padding, dilation, false, {0}, groups, true);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, IntArrayRef stride,
              IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  return conv_impl("conv2d", 2, input, weight, bias, stride, padding, dilation, false, {0}, groups, true);
}

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                        IntArrayRef stride, IntArrayRef padding, IntArrayRef output_padding, int64_t groups,
                        IntArrayRef dilation) {
  return conv_impl("conv_transpose1d", 1, input, weight, bias, stride, padding, dilation, true, output_padding, groups,
                   true);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                        IntArrayRef stride, IntArrayRef padding, IntArrayRef output_padding, int64_t groups,
                        IntArrayRef dilation) {
  return conv_impl("conv_transpose2d", 2, input, weight, bias, stride, padding, dilation, true, output_padding, groups,
                   true);
}

}  // namespace dg::composite
