// Shape rules of upsampling: [N, C, *in] to [N, C, *output_size] (1 or 2
// spatial dims), and the backward's [N, C, *in] from input_size.
#include <string>

#include "ops/meta.h"

namespace dg::meta {

namespace {

const char* spatial_names(int64_t spatial) { return spatial == 1 ? "[N, C, W]" : "[N, C, H, W]"; }

// Checks a forward's input sizes `in` (or a backward's input_size) and
// output_size; returns the output's sizes.
DimVector upsample_sizes(const char* op, const char* what, IntArrayRef in, IntArrayRef output_size, int64_t spatial) {
  DG_CHECK(static_cast<int64_t>(output_size.size()) == spatial, op, ": expected output_size to have ", spatial,
           " value", spatial == 1 ? "" : "s", ", got ", output_size);
  DG_CHECK(static_cast<int64_t>(in.size()) == spatial + 2, op, ": expected ", what, " of ", spatial + 2, " dims ",
           spatial_names(spatial), ", got ", in);
  bool ok = in[1] > 0;
  for (int64_t i = 0; i < spatial; ++i) ok = ok && in[2 + i] > 0 && output_size[i] > 0;
  DG_CHECK(ok, op, ": expected non-empty channel and spatial sizes and a positive output_size, got ", what, " ", in,
           " and output_size ", output_size);
  DimVector out(in);
  for (int64_t i = 0; i < spatial; ++i) out[2 + i] = output_size[i];
  return out;
}

TensorMeta forward(const char* op, const Tensor& self, IntArrayRef output_size, int64_t spatial) {
  return TensorMeta{upsample_sizes(op, "input", self.sizes(), output_size, spatial), self.dtype(), self.device()};
}

TensorMeta backward(const char* op, const Tensor& grad_output, IntArrayRef output_size, IntArrayRef input_size,
                    int64_t spatial) {
  const DimVector expected = upsample_sizes(op, "input_size", input_size, output_size, spatial);
  DG_CHECK(grad_output.sizes() == IntArrayRef(expected), op, ": expected grad_output of shape ", expected,
           " (the forward's output for input_size ", input_size, "), got ", grad_output.sizes());
  return TensorMeta{DimVector(input_size), grad_output.dtype(), grad_output.device()};
}

}  // namespace

TensorMeta upsample_nearest1d(const char* op, const Tensor& self, IntArrayRef output_size, std::optional<double>) {
  return forward(op, self, output_size, 1);
}
TensorMeta upsample_nearest1d_backward(const char* op, const Tensor& grad_output, IntArrayRef output_size,
                                       IntArrayRef input_size, std::optional<double>) {
  return backward(op, grad_output, output_size, input_size, 1);
}
TensorMeta upsample_nearest2d(const char* op, const Tensor& self, IntArrayRef output_size, std::optional<double>,
                              std::optional<double>) {
  return forward(op, self, output_size, 2);
}
TensorMeta upsample_nearest2d_backward(const char* op, const Tensor& grad_output, IntArrayRef output_size,
                                       IntArrayRef input_size, std::optional<double>, std::optional<double>) {
  return backward(op, grad_output, output_size, input_size, 2);
}
TensorMeta upsample_linear1d(const char* op, const Tensor& self, IntArrayRef output_size, bool, std::optional<double>) {
  return forward(op, self, output_size, 1);
}
TensorMeta upsample_linear1d_backward(const char* op, const Tensor& grad_output, IntArrayRef output_size,
                                      IntArrayRef input_size, bool, std::optional<double>) {
  return backward(op, grad_output, output_size, input_size, 1);
}
TensorMeta upsample_bilinear2d(const char* op, const Tensor& self, IntArrayRef output_size, bool, std::optional<double>,
                               std::optional<double>) {
  return forward(op, self, output_size, 2);
}
TensorMeta upsample_bilinear2d_backward(const char* op, const Tensor& grad_output, IntArrayRef output_size,
                                        IntArrayRef input_size, bool, std::optional<double>, std::optional<double>) {
  return backward(op, grad_output, output_size, input_size, 2);
}
TensorMeta upsample_bicubic2d(const char* op, const Tensor& self, IntArrayRef output_size, bool, std::optional<double>,
                              std::optional<double>) {
  return forward(op, self, output_size, 2);
}
TensorMeta upsample_bicubic2d_backward(const char* op, const Tensor& grad_output, IntArrayRef output_size,
                                       IntArrayRef input_size, bool, std::optional<double>, std::optional<double>) {
  return backward(op, grad_output, output_size, input_size, 2);
}

}  // namespace dg::meta
