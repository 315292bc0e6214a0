#pragma once
// Shape rules of convolution and pooling (see meta.h). The geometry helpers
// are shared by the composites (conv2d, ...), which check with their own op
// name before anything runs, and by the kernels, which read the same numbers.
#include <optional>

#include "ops/meta.h"
#include "dynagrad/tensor.h"

namespace dg::meta {

// ---- convolution ---------------------------------------------------------------
// Checks a batched convolution (input [N, C, *spatial] with `spatial` = 1 or
// 2 spatial dims) and returns the output sizes. transposed: weight is [C_in, C_out / groups,
// *kernel] and the output is the input's adjoint shape (plus output_padding).
DimVector conv_output_sizes(const char* op, int64_t spatial, IntArrayRef input, IntArrayRef weight,
                            IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool transposed,
                            IntArrayRef output_padding, int64_t groups);

TensorMeta convolution_nobias(const char* op, const Tensor& input, const Tensor& weight, IntArrayRef stride,
                              IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                              int64_t groups);
TensorMeta convolution_backward_input(const char* op, const Tensor& grad_output, const Tensor& weight,
                                      IntArrayRef input_size, IntArrayRef stride, IntArrayRef padding,
                                      IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                                      int64_t groups);
TensorMeta convolution_backward_weight(const char* op, const Tensor& grad_output, const Tensor& input,
                                       IntArrayRef weight_size, IntArrayRef stride, IntArrayRef padding,
                                       IntArrayRef dilation, bool transposed, IntArrayRef output_padding,
                                       int64_t groups);

// ---- pooling -------------------------------------------------------------------
// Input sizes with the last two dims replaced by (oh, ow).
DimVector pooled_sizes(IntArrayRef input, int64_t oh, int64_t ow);

TensorMeta max_pool2d(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                      IntArrayRef padding, IntArrayRef dilation, bool ceil_mode);
TensorMeta max_pool2d_indices(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                              IntArrayRef padding, IntArrayRef dilation, bool ceil_mode);
TensorMeta max_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self,
                               IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation,
                               bool ceil_mode);
TensorMeta max_pool2d_gather(const char* op, const Tensor& self, const Tensor& source, IntArrayRef kernel_size,
                             IntArrayRef stride, IntArrayRef padding, IntArrayRef dilation, bool ceil_mode);
TensorMeta avg_pool2d(const char* op, const Tensor& self, IntArrayRef kernel_size, IntArrayRef stride,
                      IntArrayRef padding, bool ceil_mode, bool count_include_pad,
                      std::optional<int64_t> divisor_override);
TensorMeta avg_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self,
                               IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding, bool ceil_mode,
                               bool count_include_pad, std::optional<int64_t> divisor_override);
// output_size: [oh, ow] (one value means a square).
DimVector adaptive_pool_output(const char* op, IntArrayRef input, IntArrayRef output_size);
TensorMeta adaptive_avg_pool2d(const char* op, const Tensor& self, IntArrayRef output_size);
TensorMeta adaptive_avg_pool2d_backward(const char* op, const Tensor& grad_output, const Tensor& self);

}  // namespace dg::meta
