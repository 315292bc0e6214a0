// Shape rules of convolution. Every check runs before anything is
// allocated, so a bad call leaves all tensors untouched; messages start with
// the op name and give what was expected and what was given.
#include <algorithm>

#include "kernels/common/spatial_params.h"
#include "ops/meta.h"

namespace dg::meta {

// ---- convolution ---------------------------------------------------------------

DimVector conv_output_sizes(const char* op, int64_t spatial, IntArrayRef input, IntArrayRef weight, IntArrayRef stride,
                            IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                            int64_t groups) {
  const int64_t nd = spatial + 2;
  DG_CHECK(spatial == 1 || spatial == 2, op, ": only 1 and 2 spatial dimensions are supported, got weight of shape ",
           weight);
  DG_CHECK(static_cast<int64_t>(weight.size()) == nd, op, ": expected weight of ", nd, " dimensions, got ", weight);
  DG_CHECK(static_cast<int64_t>(input.size()) == nd, op, ": expected input of ", nd, " dimensions (batch, channels, ",
           spatial == 1 ? "length" : "height, width", "), got ", input);
  DG_CHECK(groups > 0, op, ": groups must be positive, got ", groups);
  const DimVector s = param::expand(op, "stride", stride, spatial);
  const DimVector p = param::expand(op, "padding", padding, spatial);
  const DimVector d = param::expand(op, "dilation", dilation, spatial);
  param::check_all(op, "stride", s, 1, "positive");
  param::check_all(op, "padding", p, 0, "non-negative");
  param::check_all(op, "dilation", d, 1, "positive");
  for (int64_t i = 0; i < spatial; ++i)
    DG_CHECK(weight[2 + i] > 0, op, ": expected a kernel of positive size, got weight of shape ", weight);

  DimVector out(static_cast<size_t>(nd));
  out[0] = input[0];
  if (!transposed) {
    DG_CHECK(input[1] == weight[1] * groups, op, ": input has ", input[1], " channels but weight expects ",
             weight[1] * groups, " (groups=", groups, ")");
    DG_CHECK(weight[0] % groups == 0, op, ": weight has ", weight[0], " output channels, which groups=", groups,
             " does not divide");
    out[1] = weight[0];
    for (int64_t i = 0; i < spatial; ++i) {
      const int64_t padded = input[2 + i] + 2 * p[i];
      const int64_t kernel = d[i] * (weight[2 + i] - 1) + 1;
      DG_CHECK(padded >= kernel, op, ": the padded input (size ", padded, " in spatial dimension ", i,
               ") is smaller than the dilated kernel (size ", kernel, "); input ", input, ", weight ", weight,
               ", padding ", p, ", dilation ", d);
      out[2 + i] = (padded - kernel) / s[i] + 1;
    }
  } else {
    const DimVector op_ = param::expand(op, "output_padding", output_padding, spatial);
    param::check_all(op, "output_padding", op_, 0, "non-negative");
    DG_CHECK(input[1] == weight[0], op, ": input has ", input[1], " channels but weight expects ", weight[0],
             " (groups=", groups, ")");
    DG_CHECK(weight[0] % groups == 0, op, ": weight has ", weight[0], " input channels, which groups=", groups,
             " does not divide");
    out[1] = weight[1] * groups;
    for (int64_t i = 0; i < spatial; ++i) {
      DG_CHECK(op_[i] < s[i] || op_[i] < d[i], op,
               ": output_padding must be smaller than either stride or dilation, got output_padding ", op_, ", stride ",
               s, ", dilation ", d);
      out[2 + i] = (input[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (weight[2 + i] - 1) + op_[i] + 1;
      DG_CHECK(out[2 + i] > 0, op, ": the output would have size ", out[2 + i], " in spatial dimension ", i, " (input ",
               input, ", weight ", weight, ", stride ", s, ", padding ", p, ")");
    }
  }
  return out;
}

TensorMeta convolution_nobias(const char* op, const Tensor& input, const Tensor& weight, IntArrayRef stride,
                              IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                              int64_t groups) {
  check_same_device(op, {&input, &weight});
  check_same_dtype(op, "input", input, "weight", weight);
  const DimVector out = conv_output_sizes(op, std::max<int64_t>(weight.dim() - 2, 1), input.sizes(), weight.sizes(),
                                          stride, padding, dilation, transposed, output_padding, groups);
  return TensorMeta{out, input.dtype(), input.device()};
}

TensorMeta convolution_backward_input(const char* op, const Tensor& grad_output, const Tensor& weight,
                                      IntArrayRef input_size, IntArrayRef stride, IntArrayRef padding,
                                      IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                                      int64_t groups) {
  check_same_device(op, {&grad_output, &weight});
  check_same_dtype(op, "grad_output", grad_output, "weight", weight);
  const DimVector expected = conv_output_sizes(op, std::max<int64_t>(weight.dim() - 2, 1), input_size, weight.sizes(),
                                               stride, padding, dilation, transposed, output_padding, groups);
  DG_CHECK(grad_output.sizes() == IntArrayRef(expected), op, ": expected grad_output of shape ", expected,
           " (the output of the convolution), got ", grad_output.sizes());
  return TensorMeta{DimVector(input_size), grad_output.dtype(), grad_output.device()};
}

TensorMeta convolution_backward_weight(const char* op, const Tensor& grad_output, const Tensor& input,
                                       IntArrayRef weight_size, IntArrayRef stride, IntArrayRef padding,
                                       IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                                       int64_t groups) {
  check_same_device(op, {&grad_output, &input});
  check_same_dtype(op, "grad_output", grad_output, "input", input);
  const int64_t spatial = std::max<int64_t>(static_cast<int64_t>(weight_size.size()) - 2, 1);
  const DimVector expected = conv_output_sizes(op, spatial, input.sizes(), weight_size, stride, padding, dilation,
                                               transposed, output_padding, groups);
  DG_CHECK(grad_output.sizes() == IntArrayRef(expected), op, ": expected grad_output of shape ", expected,
           " (the output of the convolution), got ", grad_output.sizes());
  return TensorMeta{DimVector(weight_size), grad_output.dtype(), grad_output.device()};
}

}  // namespace dg::meta
