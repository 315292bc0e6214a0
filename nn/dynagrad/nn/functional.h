// dg::nn::functional (namespace F = dg::nn::functional): LibTorch's
// torch::nn::functional — the stateless forms of the modules, each taking its
// FuncOptions: `F::conv2d(x, w, F::Conv2dFuncOptions().stride(2))`,
// `F::cross_entropy(y, t, F::CrossEntropyFuncOptions().label_smoothing(0.1))`.
// They call the differentiable ops of ops.yaml; nothing here records by hand.
#pragma once

#include "dynagrad/nn/options.h"
#include "dynagrad/operators.h"
#include "dynagrad/tensor.h"

namespace dg::nn::functional {

namespace detail {
inline std::optional<Tensor> opt(const Tensor& t) { return t.defined() ? std::optional<Tensor>(t) : std::nullopt; }
// LibTorch's padding=kSame/kValid/explicit for convolutions.
template <size_t D>
std::vector<int64_t> conv_padding(const typename ConvFuncOptions<D>::padding_t& padding, IntArrayRef weight_sizes,
                                  IntArrayRef dilation);
template <size_t D>
Tensor convnd(const Tensor& input, const Tensor& weight, const ConvFuncOptions<D>& options, const char* op);
}  // namespace detail

// ---- linear ---------------------------------------------------------------
inline Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {}) {
  return dg::linear(input, weight, detail::opt(bias));
}
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution ------------------------------------------------------------
inline Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options = {}) {
  return detail::convnd<1>(input, weight, options, "conv1d");
}
inline Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {}) {
  return detail::convnd<2>(input, weight, options, "conv2d");
}
inline Tensor conv3d(const Tensor& input, const Tensor& weight, const Conv3dFuncOptions& options = {}) {
  return detail::convnd<3>(input, weight, options, "conv3d");
}
inline Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const ConvTranspose1dFuncOptions& o = {}) {
  return dg::conv_transpose1d(input, weight, detail::opt(o.bias()), o.stride(), o.padding(), o.output_padding(),
                              o.groups(), o.dilation());
}
inline Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const ConvTranspose2dFuncOptions& o = {}) {
  return dg::conv_transpose2d(input, weight, detail::opt(o.bias()), o.stride(), o.padding(), o.output_padding(),
                              o.groups(), o.dilation());
}
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const ConvTranspose3dFuncOptions& o = {});

// ---- pooling ----------------------------------------------------------------
inline Tensor max_pool1d(const Tensor& input, const MaxPool1dFuncOptions& o) {
  return dg::max_pool1d(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}
inline Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& o) {
  return dg::max_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}
inline Tensor max_pool3d(const Tensor& input, const MaxPool3dFuncOptions& o) {
  return dg::max_pool3d(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}
inline std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const MaxPool2dFuncOptions& o) {
  return dg::max_pool2d_with_indices(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
}
inline Tensor avg_pool1d(const Tensor& input, const AvgPool1dFuncOptions& o) {
  return dg::avg_pool1d(input, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}
inline Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& o) {
  return dg::avg_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad(),
                        o.divisor_override());
}
inline Tensor avg_pool3d(const Tensor& input, const AvgPool3dFuncOptions& o) {
  return dg::avg_pool3d(input, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad(),
                        o.divisor_override());
}
// Output sizes with None elements taken from the input's trailing dims.
template <size_t D>
std::vector<int64_t> adaptive_output_size(const Tensor& input, const ExpandingArrayWithOptionalElem<D>& size) {
  DG_CHECK(input.dim() >= static_cast<int64_t>(D), "adaptive pooling: expected an input with at least ", D,
           " dims, got ", input.dim());
  std::vector<int64_t> out(D);
  for (size_t i = 0; i < D; ++i)
    out[i] = size[i] ? *size[i] : input.size(input.dim() - static_cast<int64_t>(D) + static_cast<int64_t>(i));
  return out;
}
inline Tensor adaptive_avg_pool1d(const Tensor& input, const AdaptiveAvgPool1dFuncOptions& o) {
  return dg::adaptive_avg_pool1d(input, adaptive_output_size(input, o.output_size()));
}
inline Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& o) {
  return dg::adaptive_avg_pool2d(input, adaptive_output_size(input, o.output_size()));
}
inline Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveAvgPool3dFuncOptions& o) {
  return dg::adaptive_avg_pool3d(input, adaptive_output_size(input, o.output_size()));
}
inline Tensor adaptive_max_pool1d(const Tensor& input, const AdaptiveMaxPool1dFuncOptions& o) {
  return std::get<0>(dg::adaptive_max_pool1d(input, adaptive_output_size(input, o.output_size())));
}
inline Tensor adaptive_max_pool2d(const Tensor& input, const AdaptiveMaxPool2dFuncOptions& o) {
  return std::get<0>(dg::adaptive_max_pool2d(input, adaptive_output_size(input, o.output_size())));
}
inline std::tuple<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& input,
                                                                   const AdaptiveMaxPool2dFuncOptions& o) {
  return dg::adaptive_max_pool2d(input, adaptive_output_size(input, o.output_size()));
}

// ---- normalization ------------------------------------------------------------
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {});
Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& options = {});
inline Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& o) {
  return dg::layer_norm(input, o.normalized_shape(), detail::opt(o.weight()), detail::opt(o.bias()), o.eps());
}
inline Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& o) {
  return dg::group_norm(input, o.num_groups(), detail::opt(o.weight()), detail::opt(o.bias()), o.eps());
}
// input / max(||input||_p over dim, eps).
Tensor normalize(const Tensor& input, NormalizeFuncOptions options = {});
Tensor local_response_norm(const Tensor& input, const LocalResponseNormFuncOptions& options);

// ---- dropout ------------------------------------------------------------------
Tensor dropout(Tensor input, const DropoutFuncOptions& options = {});
Tensor dropout2d(Tensor input, const Dropout2dFuncOptions& options = {});
Tensor dropout3d(Tensor input, const Dropout3dFuncOptions& options = {});
Tensor alpha_dropout(Tensor input, const AlphaDropoutFuncOptions& options = {});
Tensor feature_alpha_dropout(Tensor input, const FeatureAlphaDropoutFuncOptions& options = {});

// ---- embedding --------------------------------------------------------------------
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {});
inline Tensor one_hot(const Tensor& tensor, int64_t num_classes = -1) { return dg::one_hot(tensor, num_classes); }

// ---- activations --------------------------------------------------------------------
inline Tensor relu(Tensor input, const ReLUFuncOptions& o = {}) {
  return o.inplace() ? input.relu_() : dg::relu(input);
}
inline Tensor relu6(Tensor input, const ReLU6FuncOptions& o = {}) {
  return o.inplace() ? input.hardtanh_(0, 6) : dg::relu6(input);
}
inline Tensor selu(Tensor input, const SELUFuncOptions& o = {}) {
  return o.inplace() ? input.copy_(dg::selu(input)) : dg::selu(input);
}
inline Tensor leaky_relu(Tensor input, const LeakyReLUFuncOptions& o = {}) {
  return o.inplace() ? input.leaky_relu_(o.negative_slope()) : dg::leaky_relu(input, o.negative_slope());
}
inline Tensor elu(Tensor input, const ELUFuncOptions& o = {}) {
  return o.inplace() ? input.elu_(o.alpha()) : dg::elu(input, o.alpha());
}
inline Tensor celu(Tensor input, const CELUFuncOptions& o = {}) {
  return o.inplace() ? input.copy_(dg::celu(input, o.alpha())) : dg::celu(input, o.alpha());
}
inline Tensor gelu(const Tensor& input, const GELUFuncOptions& o = {}) { return dg::gelu(input, o.approximate()); }
inline Tensor glu(const Tensor& input, const GLUFuncOptions& o = {}) { return dg::glu(input, o.dim()); }
inline Tensor hardtanh(Tensor input, const HardtanhFuncOptions& o = {}) {
  return o.inplace() ? input.hardtanh_(o.min_val(), o.max_val()) : dg::hardtanh(input, o.min_val(), o.max_val());
}
inline Tensor softplus(const Tensor& input, const SoftplusFuncOptions& o = {}) {
  return dg::softplus(input, o.beta(), o.threshold());
}
Tensor softshrink(const Tensor& input, const SoftshrinkFuncOptions& options = {});
Tensor hardshrink(const Tensor& input, const HardshrinkFuncOptions& options = {});
inline Tensor threshold(Tensor input, const ThresholdFuncOptions& o) {
  return o.inplace() ? input.threshold_(o.threshold(), o.value()) : dg::threshold(input, o.threshold(), o.value());
}
inline Tensor silu(const Tensor& input) { return dg::silu(input); }
inline Tensor mish(const Tensor& input) { return dg::mish(input); }
inline Tensor hardswish(const Tensor& input) { return dg::hardswish(input); }
inline Tensor hardsigmoid(const Tensor& input) { return dg::hardsigmoid(input); }
inline Tensor logsigmoid(const Tensor& input) { return dg::log_sigmoid(input); }
inline Tensor softsign(const Tensor& input) { return dg::softsign(input); }
inline Tensor tanhshrink(const Tensor& input) { return dg::tanhshrink(input); }
inline Tensor prelu(const Tensor& input, const Tensor& weight) { return dg::prelu(input, weight); }
inline Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& o) {
  return dg::softmax(o.dtype() ? input.to(*o.dtype()) : input, o.dim());
}
inline Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& o) {
  return dg::log_softmax(o.dtype() ? input.to(*o.dtype()) : input, o.dim());
}
inline Tensor softmin(const Tensor& input, const SoftminFuncOptions& o) {
  return dg::softmax(-(o.dtype() ? input.to(*o.dtype()) : input), o.dim());
}
Tensor gumbel_softmax(const Tensor& logits, const GumbelSoftmaxFuncOptions& options = {});

// ---- losses -----------------------------------------------------------------------------
inline Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& o = {}) {
  return dg::l1_loss(input, target, reduction_int(o.reduction()));
}
inline Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o = {}) {
  return dg::mse_loss(input, target, reduction_int(o.reduction()));
}
inline Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& o = {},
                             std::optional<double> beta = std::nullopt) {
  DG_CHECK(!(beta && o.beta()), "smooth_l1_loss: expected beta not to be passed both in options and as an argument");
  return dg::smooth_l1_loss(input, target, reduction_int(o.reduction()), beta ? *beta : o.beta().value_or(1.0));
}
inline Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& o = {}) {
  return dg::huber_loss(input, target, reduction_int(o.reduction()), o.delta());
}
inline Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& o = {}) {
  return dg::cross_entropy_loss(input, target, detail::opt(o.weight()), reduction_int(o.reduction()), o.ignore_index(),
                                o.label_smoothing());
}
inline Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& o = {}) {
  return dg::nll_loss(input, target, detail::opt(o.weight()), reduction_int(o.reduction()), o.ignore_index());
}
inline Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                                   const BinaryCrossEntropyFuncOptions& o = {}) {
  return dg::binary_cross_entropy(input, target, detail::opt(o.weight()), reduction_int(o.reduction()));
}
inline Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                               const BinaryCrossEntropyWithLogitsFuncOptions& o = {}) {
  return dg::binary_cross_entropy_with_logits(input, target, detail::opt(o.weight()), detail::opt(o.pos_weight()),
                                              reduction_int(o.reduction()));
}
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options = {});
inline Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target,
                                   const HingeEmbeddingLossFuncOptions& o = {}) {
  return dg::hinge_embedding_loss(input, target, o.margin(), reduction_int(o.reduction()));
}
inline Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                                  const MarginRankingLossFuncOptions& o = {}) {
  return dg::margin_ranking_loss(input1, input2, target, o.margin(), reduction_int(o.reduction()));
}
inline Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                                    const CosineEmbeddingLossFuncOptions& o = {}) {
  return dg::cosine_embedding_loss(input1, input2, target, o.margin(), reduction_int(o.reduction()));
}
inline Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                  const TripletMarginLossFuncOptions& o = {}) {
  return dg::triplet_margin_loss(anchor, positive, negative, o.margin(), o.p(), o.eps(), o.swap(),
                                 reduction_int(o.reduction()));
}
inline Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossFuncOptions& o = {}) {
  return dg::poisson_nll_loss(input, target, o.log_input(), o.full(), o.eps(), reduction_int(o.reduction()));
}
inline Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossFuncOptions& o = {}) {
  return dg::soft_margin_loss(input, target, reduction_int(o.reduction()));
}
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultilabelSoftMarginLossFuncOptions& options = {});
// sum over classes i != y of max(0, margin - x[y] + x[i])^p (times
// weight[y]), over C; input [N, C] or [C].
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& options = {});
// target holds class indices per sample, ended by the first -1: sum over
// targets j and non-targets i of max(0, 1 - (x[j] - x[i])), over C.
Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target,
                              const MultilabelMarginLossFuncOptions& options = {});
// max(d(a, p) - d(a, n) + margin, 0) with d pairwise_distance unless given.
Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossFuncOptions& options = {});
// log_probs [T, N, C] (or [T, C]), targets padded [N, S] or concatenated;
// lengths as int64 tensors, as LibTorch's F::ctc_loss.
inline Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                       const Tensor& target_lengths, const CTCLossFuncOptions& o = {}) {
  return dg::ctc_loss(log_probs, targets, input_lengths, target_lengths, o.blank(), reduction_int(o.reduction()),
                      o.zero_infinity());
}

// ---- distances and shapes ---------------------------------------------------------------
inline Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& o = {}) {
  return dg::cosine_similarity(x1, x2, o.dim(), o.eps());
}
inline Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, const PairwiseDistanceFuncOptions& o = {}) {
  return dg::pairwise_distance(x1, x2, o.p(), o.eps(), o.keepdim());
}
inline Tensor pixel_shuffle(const Tensor& input, const PixelShuffleFuncOptions& o) {
  return dg::pixel_shuffle(input, o.upscale_factor());
}
inline Tensor pixel_unshuffle(const Tensor& input, const PixelUnshuffleFuncOptions& o) {
  return dg::pixel_unshuffle(input, o.downscale_factor());
}
Tensor pad(const Tensor& input, const PadFuncOptions& options);
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options = {});

}  // namespace dg::nn::functional

namespace dg::nn {
namespace F = functional;
}  // namespace dg::nn
