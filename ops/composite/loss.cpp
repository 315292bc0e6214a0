// Losses built from other ops (nll_loss on the _nll_pick kernel,
// cross_entropy, mse, l1, smooth_l1, binary cross-entropy with and without
// logits), with PyTorch's reductions and ignore_index/weight rules.
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

enum class NnReduction { None, Mean, Sum };

NnReduction nn_parse_reduction(const char* op, std::string_view reduction) {
  if (reduction == "none") return NnReduction::None;
  if (reduction == "mean") return NnReduction::Mean;
  if (reduction == "sum") return NnReduction::Sum;
  DG_CHECK(false, op, ": reduction '", std::string(reduction),
           "' is not a valid value (expected 'none', 'mean' or 'sum')");
  return NnReduction::None;
}

Tensor nn_reduce(const Tensor& loss, NnReduction r) {
  switch (r) {
    case NnReduction::None: return loss;
    case NnReduction::Sum: return loss.sum();
    case NnReduction::Mean: return loss.mean();
  }
  return loss;
}

void nn_check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  DG_CHECK(input.sizes() == target.sizes(), op, ": expected target of the input's shape ", input.sizes(), ", got ",
           target.sizes());
}

// 1 for targets that take part, 0 for ignore_index ([N, d...] like target).
Tensor nn_target_mask(const Tensor& like, const Tensor& target, int64_t ignore_index) {
  return _nll_pick(ones({1}, like.options()).expand(like.sizes()), target, ignore_index);
}

// max(v, tiny) without a kink anywhere a real probability lands.
Tensor nn_clamp_log(const Tensor& v) {
  // PyTorch clamps log() at -100 so that p == 0 gives a finite loss.
  const double floor = std::exp(-100.0);
  return ((v - floor).relu() + floor).log();
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight, int64_t ignore_index,
                std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("nll_loss", reduction);
  DG_CHECK(input.dim() >= 1, "nll_loss: expected input of shape [C], [N, C] or [N, C, d...], got a 0-dim tensor");
  if (input.dim() == 1) {
    DG_CHECK(target.dim() == 0, "nll_loss: expected a 0-dim target for input of shape ", input.sizes(), ", got shape ",
             target.sizes());
    Tensor out = dg::nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction);
    return r == NnReduction::None ? out.squeeze(0) : out;
  }
  DG_CHECK(target.dtype() == kInt64, "nll_loss: expected target of dtype int64 (class indices), got ", target.dtype());
  std::vector<int64_t> expected;
  for (int64_t d = 0; d < input.dim(); ++d)
    if (d != 1) expected.push_back(input.size(d));
  DG_CHECK(target.sizes() == IntArrayRef(expected), "nll_loss: expected target of shape ", IntArrayRef(expected),
           " for input of shape ", input.sizes(), ", got ", target.sizes());
  const int64_t classes = input.size(1);
  Tensor picked = _nll_pick(input, target, ignore_index);
  Tensor w;
  if (weight && weight->defined()) {
    DG_CHECK(weight->dim() == 1 && weight->size(0) == classes, "nll_loss: expected weight of shape [", classes,
             "] (one per class), got ", weight->sizes());
    w = _nll_pick(channel_view(*weight, input.dim()).expand(input.sizes()), target, ignore_index);
    picked = picked * w;
  }
  Tensor loss = -picked;
  if (r != NnReduction::Mean) return nn_reduce(loss, r);
  // The mean is weighted: divided by the total weight of the counted targets.
  if (!w.defined()) w = nn_target_mask(input, target, ignore_index);
  return loss.sum() / w.sum();
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                     int64_t ignore_index, std::string_view reduction, double label_smoothing) {
  const NnReduction r = nn_parse_reduction("cross_entropy", reduction);
  DG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
           "cross_entropy: label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
  DG_CHECK(input.dim() >= 1, "cross_entropy: expected input of shape [C], [N, C] or [N, C, d...], got a 0-dim tensor");
  const bool probabilities = target.is_floating_point();
  DG_CHECK(probabilities || target.dtype() == kInt64, "cross_entropy: expected target of dtype int64 (class indices) ",
           "or floating point (class probabilities), got ", target.dtype());
  if (input.dim() == 1) {
    DG_CHECK(probabilities ? target.dim() == 1 : target.dim() == 0, "cross_entropy: expected target of shape ",
             probabilities ? "[C]" : "[] (0-dim)", " for input of shape ", input.sizes(), ", got ", target.sizes());
    Tensor out =
        dg::cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction, label_smoothing);
    return r == NnReduction::None ? out.squeeze(0) : out;
  }
  const int64_t classes = input.size(1);
  const bool has_weight = weight && weight->defined();
  if (has_weight) {
    DG_CHECK(weight->dim() == 1 && weight->size(0) == classes, "cross_entropy: expected weight of shape [", classes,
             "] (one per class), got ", weight->sizes());
  }
  Tensor lsm = log_softmax(input, 1);
  if (probabilities) {
    DG_CHECK(target.sizes() == input.sizes(), "cross_entropy: expected probability target of the input's shape ",
             input.sizes(), ", got ", target.sizes());
    Tensor t = label_smoothing > 0 ? target * (1.0 - label_smoothing) + label_smoothing / static_cast<double>(classes)
                                   : target;
    Tensor per = lsm * t;
    if (has_weight) per = per * channel_view(*weight, input.dim());
    Tensor loss = -per.sum(1);
    // The mean of probability targets is over the batch, not the weights.
    return nn_reduce(loss, r);
  }
  Tensor nll = dg::nll_loss(lsm, target, weight, ignore_index, reduction);
  if (label_smoothing == 0.0) return nll;
  // The smoothing term: uniform target mass over the classes, the same
  // ignore rule and the same (weighted) mean as the nll term.
  Tensor mask = nn_target_mask(input, target, ignore_index);
  Tensor per = has_weight ? lsm * channel_view(*weight, input.dim()) : lsm;
  Tensor smooth = -per.sum(1) * mask;
  Tensor smooth_red;
  if (r == NnReduction::Mean) {
    Tensor denom = has_weight
                       ? _nll_pick(channel_view(*weight, input.dim()).expand(input.sizes()), target, ignore_index).sum()
                       : mask.sum();
    smooth_red = smooth.sum() / denom;
  } else {
    smooth_red = nn_reduce(smooth, r);
  }
  return nll * (1.0 - label_smoothing) + smooth_red * (label_smoothing / static_cast<double>(classes));
}

Tensor mse_loss(const Tensor& input, const Tensor& target, std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("mse_loss", reduction);
  Tensor d = input - target;
  return nn_reduce(d * d, r);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("l1_loss", reduction);
  return nn_reduce((input - target).abs(), r);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, std::string_view reduction, double beta) {
  const NnReduction r = nn_parse_reduction("smooth_l1_loss", reduction);
  DG_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
  Tensor a = (input - target).abs();
  if (beta == 0.0) return nn_reduce(a, r);
  // m = min(|d|, beta): the quadratic part below beta, the linear rest above.
  Tensor m = -(-a + beta).relu() + beta;
  return nn_reduce(m * m * (0.5 / beta) + (a - m), r);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("binary_cross_entropy", reduction);
  check_floating("binary_cross_entropy", input, "input");
  nn_check_same_shape("binary_cross_entropy", input, target);
  {
    NoGradGuard g;
    Tensor x = detail::to_host(input.detach().to(kFloat64).contiguous());
    const double* p = x.data_ptr<double>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i)
      DG_CHECK(p[i] >= 0.0 && p[i] <= 1.0, "binary_cross_entropy: expected every element of input in [0, 1], got ",
               p[i]);
  }
  Tensor loss = -(target * nn_clamp_log(input) + (-target + 1.0) * nn_clamp_log(-input + 1.0));
  if (weight && weight->defined()) loss = loss * *weight;
  return nn_reduce(loss, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                                        std::string_view reduction, const std::optional<Tensor>& pos_weight) {
  const NnReduction r = nn_parse_reduction("binary_cross_entropy_with_logits", reduction);
  check_floating("binary_cross_entropy_with_logits", input, "input");
  nn_check_same_shape("binary_cross_entropy_with_logits", input, target);
  // -[pw t log s(x) + (1 - t) log(1 - s(x))] with log(1 - s(x)) = log s(x) - x:
  // only log_sigmoid, which is stable, sees x.
  Tensor ls = log_sigmoid(input);
  Tensor loss;
  if (pos_weight && pos_weight->defined()) {
    Tensor lw = (*pos_weight - 1.0) * target + 1.0;
    loss = (-target + 1.0) * input - lw * ls;
  } else {
    loss = (-target + 1.0) * input - ls;
  }
  if (weight && weight->defined()) loss = loss * *weight;
  return nn_reduce(loss, r);
}

}  // namespace dg::composite
