// dg::nn::functional: the bodies that are more than one op call
// (dynagrad/nn/functional.h). All of them compose differentiable ops.
#include "dynagrad/nn/functional.h"

#include <cmath>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg::nn::functional {
namespace detail {

template <size_t D>
std::vector<int64_t> conv_padding(const typename ConvFuncOptions<D>::padding_t& padding, IntArrayRef weight_sizes,
                                  IntArrayRef dilation) {
  if (auto* explicit_padding = std::get_if<ExpandingArray<D>>(&padding)) return explicit_padding->vec();
  std::vector<int64_t> out(D, 0);
  if (std::holds_alternative<enumtype::kValid>(padding)) return out;
  for (size_t i = 0; i < D; ++i) out[i] = dilation[i] * (weight_sizes[2 + i] - 1);  // total; halved by the caller
  return out;
}

template <size_t D>
Tensor convnd(const Tensor& input, const Tensor& weight, const ConvFuncOptions<D>& o, const char* op) {
  DG_CHECK(weight.dim() == static_cast<int64_t>(D) + 2, op, ": expected a ", D + 2, "-D weight, got ", weight.dim(),
           "-D");
  std::vector<int64_t> padding = conv_padding<D>(o.padding(), weight.sizes(), o.dilation());
  Tensor x = input;
  if (std::holds_alternative<enumtype::kSame>(o.padding())) {
    for (size_t i = 0; i < D; ++i)
      DG_CHECK(o.stride()[i] == 1, op, ": padding='same' is not supported for strided convolutions (stride ",
               o.stride()[i], ")");
    // Total padding dilation * (k - 1): half on each side, the odd one on the right.
    std::vector<int64_t> extra;
    bool asymmetric = false;
    for (size_t i = D; i-- > 0;) {
      const int64_t total = padding[i];
      extra.push_back(0);
      extra.push_back(total % 2);
      asymmetric = asymmetric || total % 2;
      padding[i] = total / 2;
    }
    if (asymmetric) x = dg::pad(x, extra);
  }
  switch (D) {
    case 1: return dg::conv1d(x, weight, opt(o.bias()), o.stride(), padding, o.dilation(), o.groups());
    case 2: return dg::conv2d(x, weight, opt(o.bias()), o.stride(), padding, o.dilation(), o.groups());
    default: return dg::conv3d(x, weight, opt(o.bias()), o.stride(), padding, o.dilation(), o.groups());
  }
}

template Tensor convnd<1>(const Tensor&, const Tensor&, const ConvFuncOptions<1>&, const char*);
template Tensor convnd<2>(const Tensor&, const Tensor&, const ConvFuncOptions<2>&, const char*);
template Tensor convnd<3>(const Tensor&, const Tensor&, const ConvFuncOptions<3>&, const char*);

}  // namespace detail

Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight, const Tensor& bias) {
  DG_CHECK(weight.dim() == 3, "bilinear: expected a 3-D weight [out, in1, in2], got ", weight.dim(), "-D");
  DG_CHECK(input1.dim() >= 1 && input1.size(-1) == weight.size(1), "bilinear: input1's last dim must be ",
           weight.size(1), ", got shape ", input1.sizes());
  DG_CHECK(input2.dim() >= 1 && input2.size(-1) == weight.size(2), "bilinear: input2's last dim must be ",
           weight.size(2), ", got shape ", input2.sizes());
  Tensor y = dg::einsum("...i,oij,...j->...o", {input1, weight, input2});
  return bias.defined() ? y + bias : y;
}

Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const ConvTranspose3dFuncOptions& o) {
  return dg::convolution(input, weight, detail::opt(o.bias()), o.stride(), o.padding(), o.dilation(), true,
                         o.output_padding(), o.groups());
}

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& o) {
  DG_CHECK(!o.training() || input.numel() / input.size(1) > 1,
           "batch_norm: expected more than 1 value per channel when training, got input size ", input.sizes());
  return dg::batch_norm(input, detail::opt(running_mean), detail::opt(running_var), detail::opt(o.weight()),
                        detail::opt(o.bias()), o.training(), o.momentum().value_or(0.0), o.eps());
}

Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& o) {
  return dg::instance_norm(input, detail::opt(o.weight()), detail::opt(o.bias()), detail::opt(o.running_mean()),
                           detail::opt(o.running_var()), o.use_input_stats(), o.momentum(), o.eps(), false);
}

Tensor normalize(const Tensor& input, NormalizeFuncOptions o) {
  Tensor denom = dg::linalg_vector_norm(input, o.p(), {o.dim()}, /*keepdim=*/true).clamp_min(o.eps()).expand_as(input);
  Tensor result = input / denom;
  if (o.out()) {
    o.out()->copy_(result);
    return *o.out();
  }
  return result;
}

Tensor local_response_norm(const Tensor& input, const LocalResponseNormFuncOptions& o) {
  const int64_t dim = input.dim();
  DG_CHECK(dim >= 3, "local_response_norm: expected 3D or higher dimensionality input (got ", dim, " dimensions)");
  DG_CHECK(input.numel() > 0, "local_response_norm: expected a non-empty input");
  // Average of squares over a window of `size` channels (zero padded, size/2
  // before and (size-1)/2 after), as PyTorch.
  Tensor div = input.mul(input).unsqueeze(1);
  if (dim == 3) {
    div = dg::pad(div, {0, 0, o.size() / 2, (o.size() - 1) / 2});
    div = dg::avg_pool2d(div, {o.size(), 1}, {1, 1}).squeeze(1);
  } else {
    std::vector<int64_t> sizes(input.sizes().begin(), input.sizes().end());
    div = div.view({sizes[0], 1, sizes[1], sizes[2], -1});
    div = dg::pad(div, {0, 0, 0, 0, o.size() / 2, (o.size() - 1) / 2});
    div = dg::avg_pool3d(div, {o.size(), 1, 1}, {1, 1, 1}).squeeze(1);
    div = div.view(input.sizes());
  }
  div = div.mul(o.alpha()).add(o.k()).pow(o.beta());
  return input / div;
}

namespace {
void check_p(const char* op, double p) {
  DG_CHECK(p >= 0 && p <= 1, op, ": dropout probability has to be between 0 and 1, but got ", p);
}
Tensor maybe_inplace(Tensor input, bool inplace, const Tensor& result) {
  if (!inplace) return result;
  input.copy_(result);
  return input;
}
}  // namespace

Tensor dropout(Tensor input, const DropoutFuncOptions& o) {
  check_p("dropout", o.p());
  return maybe_inplace(input, o.inplace(), dg::dropout(input, o.p(), o.training()));
}

Tensor dropout2d(Tensor input, const Dropout2dFuncOptions& o) {
  check_p("dropout2d", o.p());
  DG_CHECK(input.dim() == 3 || input.dim() == 4, "dropout2d: expected a 3-D or 4-D input, got ", input.dim(), "-D");
  return maybe_inplace(input, o.inplace(), dg::feature_dropout(input, o.p(), o.training()));
}

Tensor dropout3d(Tensor input, const Dropout3dFuncOptions& o) {
  check_p("dropout3d", o.p());
  DG_CHECK(input.dim() == 4 || input.dim() == 5, "dropout3d: expected a 4-D or 5-D input, got ", input.dim(), "-D");
  return maybe_inplace(input, o.inplace(), dg::feature_dropout(input, o.p(), o.training()));
}

Tensor alpha_dropout(Tensor input, const AlphaDropoutFuncOptions& o) {
  check_p("alpha_dropout", o.p());
  return maybe_inplace(input, o.inplace(), dg::alpha_dropout(input, o.p(), o.training()));
}

Tensor feature_alpha_dropout(Tensor input, const FeatureAlphaDropoutFuncOptions& o) {
  check_p("feature_alpha_dropout", o.p());
  return maybe_inplace(input, o.inplace(), dg::feature_alpha_dropout(input, o.p(), o.training()));
}

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& o) {
  int64_t padding_idx = -1;
  if (o.padding_idx()) {
    padding_idx = *o.padding_idx();
    const int64_t n = weight.size(0);
    DG_CHECK(padding_idx < n && padding_idx >= -n, "embedding: padding_idx must be within num_embeddings (", n,
             "), got ", padding_idx);
    if (padding_idx < 0) padding_idx += n;
  }
  if (o.max_norm()) {
    // Rows looked up whose norm exceeds max_norm are scaled down in place,
    // unrecorded, before the lookup (PyTorch's embedding_renorm_).
    NoGradGuard no_grad;
    Tensor rows = std::get<0>(dg::_unique2(input.reshape({-1}), true, false, false));
    Tensor w = weight.index_select(0, rows);
    Tensor norms = dg::linalg_vector_norm(w, o.norm_type(), {1}, true);
    Tensor scale = dg::where(norms > *o.max_norm(), (norms + 1e-7).reciprocal() * *o.max_norm(), dg::ones_like(norms));
    weight.index_copy_(0, rows, w * scale);
  }
  return dg::embedding(weight, input, padding_idx, o.scale_grad_by_freq(), o.sparse());
}

Tensor softshrink(const Tensor& input, const SoftshrinkFuncOptions& o) {
  DG_CHECK(o.lambda() >= 0, "softshrink: lambda must be greater or equal to 0, but found to be ", o.lambda());
  return dg::where(input > o.lambda(), input - o.lambda(),
                   dg::where(input < -o.lambda(), input + o.lambda(), dg::zeros_like(input)));
}

Tensor hardshrink(const Tensor& input, const HardshrinkFuncOptions& o) {
  return dg::where(input.abs() > o.lambda(), input, dg::zeros_like(input));
}

Tensor gumbel_softmax(const Tensor& logits, const GumbelSoftmaxFuncOptions& o) {
  // -log(Exp(1)) noise, as PyTorch.
  Tensor gumbels = -dg::empty_like(logits).exponential_().log();
  Tensor y = dg::softmax((logits + gumbels) / o.tau(), o.dim());
  if (!o.hard()) return y;
  Tensor index = std::get<1>(y.max(o.dim(), true));
  Tensor hard = dg::zeros_like(logits).scatter_(o.dim(), index, 1.0);
  return hard - y.detach() + y;
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& o) {
  if (std::holds_alternative<enumtype::kBatchMean>(o.reduction())) {
    Tensor sum = dg::kl_div(input, target, dg::Reduction::Sum, o.log_target());
    return input.dim() == 0 ? sum : sum / input.size(0);
  }
  int64_t r = dg::Reduction::Mean;
  if (std::holds_alternative<enumtype::kNone>(o.reduction())) r = dg::Reduction::None;
  if (std::holds_alternative<enumtype::kSum>(o.reduction())) r = dg::Reduction::Sum;
  return dg::kl_div(input, target, r, o.log_target());
}

Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultilabelSoftMarginLossFuncOptions& o) {
  const char* names[] = {"none", "mean", "sum"};
  return dg::multilabel_soft_margin_loss(input, target, detail::opt(o.weight()), names[reduction_int(o.reduction())]);
}

namespace {
Tensor reduce_loss(const Tensor& loss, const LossReduction& reduction) {
  if (std::holds_alternative<enumtype::kNone>(reduction)) return loss;
  return std::holds_alternative<enumtype::kSum>(reduction) ? loss.sum() : loss.mean();
}
}  // namespace

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& o) {
  DG_CHECK(o.p() == 1 || o.p() == 2, "multi_margin_loss: only p == 1 and p == 2 supported, got ", o.p());
  DG_CHECK(input.dim() == 1 || input.dim() == 2, "multi_margin_loss: expected a 1-D or 2-D input, got ", input.dim(),
           "-D");
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  Tensor y = target.reshape({-1});
  DG_CHECK(y.numel() == x.size(0), "multi_margin_loss: expected ", x.size(0), " targets, got ", y.numel());
  const int64_t classes = x.size(1);
  DG_CHECK(y.numel() == 0 || (y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < classes),
           "multi_margin_loss: target out of range [0, ", classes, ")");
  Tensor picked = x.gather(1, y.unsqueeze(1));
  Tensor margins = (x - picked + o.margin()).clamp_min(0);
  if (o.p() == 2) margins = margins * margins;
  if (o.weight().defined()) margins = margins * o.weight().index_select(0, y).unsqueeze(1);
  // The target's own class does not count.
  margins = margins.masked_fill(dg::one_hot(y, classes).to(kBool), 0.0);
  Tensor loss = margins.sum(1) / static_cast<double>(classes);
  if (input.dim() == 1) loss = loss.squeeze(0);
  return reduce_loss(loss, o.reduction());
}

Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target, const MultilabelMarginLossFuncOptions& o) {
  DG_CHECK(input.dim() == 1 || input.dim() == 2, "multilabel_margin_loss: expected a 1-D or 2-D input, got ",
           input.dim(), "-D");
  DG_CHECK(target.sizes() == input.sizes(), "multilabel_margin_loss: expected a target of shape ", input.sizes(),
           ", got ", target.sizes());
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  Tensor y = input.dim() == 1 ? target.unsqueeze(0) : target;
  const int64_t classes = x.size(1);
  DG_CHECK(y.numel() == 0 || (y.min().item<int64_t>() >= -1 && y.max().item<int64_t>() < classes),
           "multilabel_margin_loss: target values must be in [-1, ", classes, ")");
  // Targets are the entries before the first -1.
  Tensor valid = y.ne(-1).to(kInt64).cumprod(1).to(kBool);
  Tensor safe = y.masked_fill(valid.logical_not(), 0);
  Tensor is_target = dg::zeros({x.size(0), classes}, kInt64).scatter_add(1, safe, valid.to(kInt64)).gt(0);
  // hinge[n, j, i] = max(0, 1 - (x[n, j] - x[n, i])) for target j, non-target i.
  Tensor hinge = (1.0 - (x.unsqueeze(2) - x.unsqueeze(1))).clamp_min(0);
  Tensor pair = is_target.unsqueeze(2).logical_and(is_target.logical_not().unsqueeze(1));
  Tensor loss = (hinge * pair.to(hinge.scalar_type())).sum({1, 2}) / static_cast<double>(classes);
  if (input.dim() == 1) loss = loss.squeeze(0);
  return reduce_loss(loss, o.reduction());
}

Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossFuncOptions& o) {
  auto distance =
      o.distance_function().value_or([](const Tensor& a, const Tensor& b) { return dg::pairwise_distance(a, b); });
  Tensor d_pos = distance(anchor, positive);
  Tensor d_neg = distance(anchor, negative);
  if (o.swap()) d_neg = dg::minimum(d_neg, distance(positive, negative));
  return reduce_loss((d_pos - d_neg + o.margin()).clamp_min(0), o.reduction());
}

namespace {
// Source indices of one padded dim: reflect, replicate or circular.
Tensor pad_indices(int64_t size, int64_t before, int64_t after, const pad_mode_t& mode, Device device) {
  std::vector<int64_t> idx;
  for (int64_t i = -before; i < size + after; ++i) {
    int64_t j = i;
    if (std::holds_alternative<enumtype::kReflect>(mode)) {
      const int64_t period = 2 * (size - 1);
      j = period == 0 ? 0 : ((i % period) + period) % period;
      if (j >= size) j = period - j;
    } else if (std::holds_alternative<enumtype::kReplicate>(mode)) {
      j = std::min(std::max<int64_t>(i, 0), size - 1);
    } else {
      j = ((i % size) + size) % size;
    }
    idx.push_back(j);
  }
  return dg::tensor(idx, TensorOptions(kInt64)).to(device);
}
}  // namespace

Tensor pad(const Tensor& input, const PadFuncOptions& o) {
  const auto& p = o.pad();
  DG_CHECK(p.size() % 2 == 0, "pad: padding length must be divisible by 2, got ", p.size());
  DG_CHECK(static_cast<int64_t>(p.size() / 2) <= input.dim(), "pad: padding length ", p.size(),
           " is too large for an input of ", input.dim(), " dims");
  if (std::holds_alternative<enumtype::kConstant>(o.mode())) return dg::pad(input, p, "constant", o.value());
  const char* mode_name = std::visit([](const auto& tag) { return tag.name(); }, o.mode());
  Tensor x = input;
  for (size_t k = 0; k < p.size() / 2; ++k) {
    const int64_t dim = input.dim() - 1 - static_cast<int64_t>(k);
    const int64_t size = x.size(dim), before = p[2 * k], after = p[2 * k + 1];
    DG_CHECK(before >= 0 && after >= 0, "pad: mode ", mode_name, " takes non-negative padding, got ", before, ", ",
             after);
    DG_CHECK(size > 0, "pad: mode ", mode_name, " needs a non-empty dim ", dim);
    if (std::holds_alternative<enumtype::kReflect>(o.mode()))
      DG_CHECK(before < size && after < size, "pad: argument (", before, ", ", after,
               ") should be less than the dimension size ", size, " for reflection padding");
    if (std::holds_alternative<enumtype::kCircular>(o.mode()))
      DG_CHECK(before <= size && after <= size, "pad: circular padding (", before, ", ", after,
               ") must not exceed the dimension size ", size);
    if (before == 0 && after == 0) continue;
    x = x.index_select(dim, pad_indices(size, before, after, o.mode(), x.device()));
  }
  return x;
}

Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& o) {
  const int64_t spatial = input.dim() - 2;
  DG_CHECK(spatial >= 1 && spatial <= 3, "interpolate: expected a 3-D, 4-D or 5-D input, got ", input.dim(), "-D");
  DG_CHECK(o.size().has_value() != o.scale_factor().has_value(),
           "interpolate: only one of size or scale_factor should be defined");
  const bool linear_like =
      std::holds_alternative<enumtype::kLinear>(o.mode()) || std::holds_alternative<enumtype::kBilinear>(o.mode()) ||
      std::holds_alternative<enumtype::kBicubic>(o.mode()) || std::holds_alternative<enumtype::kTrilinear>(o.mode());
  DG_CHECK(!o.align_corners() || linear_like,
           "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear | "
           "bicubic | trilinear");
  std::vector<int64_t> size;
  std::vector<std::optional<double>> scales(spatial);
  if (o.size()) {
    size = *o.size();
    if (size.size() == 1) size.assign(spatial, size[0]);
    DG_CHECK(static_cast<int64_t>(size.size()) == spatial, "interpolate: expected size to have ", spatial,
             " elements, got ", o.size()->size());
  } else {
    std::vector<double> f = *o.scale_factor();
    if (f.size() == 1) f.assign(spatial, f[0]);
    DG_CHECK(static_cast<int64_t>(f.size()) == spatial, "interpolate: expected scale_factor to have ", spatial,
             " elements, got ", o.scale_factor()->size());
    for (int64_t i = 0; i < spatial; ++i) {
      size.push_back(static_cast<int64_t>(std::floor(static_cast<double>(input.size(2 + i)) * f[i])));
      if (!o.recompute_scale_factor().value_or(false)) scales[i] = f[i];
    }
  }
  const bool ac = o.align_corners().value_or(false);
  const char* mode = std::visit([](const auto& tag) { return tag.name(); }, o.mode());
  if (std::holds_alternative<enumtype::kArea>(o.mode())) {
    if (spatial == 1) return dg::adaptive_avg_pool1d(input, size);
    if (spatial == 2) return dg::adaptive_avg_pool2d(input, size);
    return dg::adaptive_avg_pool3d(input, size);
  }
  if (std::holds_alternative<enumtype::kNearest>(o.mode())) {
    if (spatial == 1) return dg::upsample_nearest1d(input, size, scales[0]);
    if (spatial == 2) return dg::upsample_nearest2d(input, size, scales[0], scales[1]);
  }
  if (std::holds_alternative<enumtype::kLinear>(o.mode()) && spatial == 1)
    return dg::upsample_linear1d(input, size, ac, scales[0]);
  if (std::holds_alternative<enumtype::kBilinear>(o.mode()) && spatial == 2)
    return dg::upsample_bilinear2d(input, size, ac, scales[0], scales[1]);
  if (std::holds_alternative<enumtype::kBicubic>(o.mode()) && spatial == 2)
    return dg::upsample_bicubic2d(input, size, ac, scales[0], scales[1]);
  dg::detail::fail(std::string("interpolate: mode ") + mode + " is not available for a " + std::to_string(input.dim()) +
                   "-D input (nearest: 3-D/4-D, linear: 3-D, bilinear/bicubic: 4-D, area: 3-D to 5-D)");
}

}  // namespace dg::nn::functional
