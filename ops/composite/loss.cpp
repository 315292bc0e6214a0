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

constexpr double kPi = 3.14159265358979323846;

enum class NnReduction { None, Mean, Sum };

NnReduction nn_parse_reduction(const char* op, std::string_view reduction) {
  if (reduction == "none") return NnReduction::None;
  if (reduction == "mean") return NnReduction::Mean;
  if (reduction == "sum") return NnReduction::Sum;
  DG_CHECK(false, op, ": reduction '", std::string(reduction),
           "' is not a valid value (expected 'none', 'mean' or 'sum')");
  return NnReduction::None;
}

// The integer reductions of the ATen-level losses (dg::Reduction::Mean).
NnReduction nn_reduction(const char* op, int64_t reduction) {
  DG_CHECK(reduction >= Reduction::None && reduction < Reduction::END, op, ": reduction ", reduction,
           " is not a valid value (expected Reduction::None (0), Reduction::Mean (1) or Reduction::Sum (2))");
  return static_cast<NnReduction>(reduction);
}
int64_t nn_reduction_code(NnReduction r) { return static_cast<int64_t>(r); }

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

// nll_loss's checks of the input [C], [N, C] or [N, C, d...], target and weight.
void nll_check(const Tensor& self, const Tensor& target, const std::optional<Tensor>& weight) {
  DG_CHECK(self.dim() >= 1, "nll_loss: expected input of shape [C], [N, C] or [N, C, d...], got a 0-dim tensor");
  DG_CHECK(target.dtype() == kInt64, "nll_loss: expected target of dtype int64 (class indices), got ", target.dtype());
  if (self.dim() == 1) {
    DG_CHECK(target.dim() == 0, "nll_loss: expected a 0-dim target for input of shape ", self.sizes(), ", got shape ",
             target.sizes());
  } else {
    std::vector<int64_t> expected;
    for (int64_t d = 0; d < self.dim(); ++d)
      if (d != 1) expected.push_back(self.size(d));
    DG_CHECK(target.sizes() == IntArrayRef(expected), "nll_loss: expected target of shape ", IntArrayRef(expected),
             " for input of shape ", self.sizes(), ", got ", target.sizes());
  }
  const int64_t classes = self.dim() == 1 ? self.size(0) : self.size(1);
  if (weight && weight->defined()) {
    DG_CHECK(weight->dim() == 1 && weight->size(0) == classes, "nll_loss: expected weight of shape [", classes,
             "] (one per class), got ", weight->sizes());
  }
}

// The weight of each target's class ([N, d...]), 0 for ignored targets.
Tensor nll_target_weight(const Tensor& self, const Tensor& target, const std::optional<Tensor>& weight,
                         int64_t ignore_index) {
  if (weight && weight->defined())
    return _nll_pick(channel_view(*weight, self.dim()).expand(self.sizes()), target, ignore_index);
  return nn_target_mask(self, target, ignore_index);
}

}  // namespace

Tensor nll_loss(const Tensor& self, const Tensor& target, const std::optional<Tensor>& weight, int64_t reduction,
                int64_t ignore_index) {
  const NnReduction r = nn_reduction("nll_loss", reduction);
  nll_check(self, target, weight);
  // As PyTorch: nll_loss is one node, with no gradient for the class weights.
  DG_CHECK(!(weight && weight->defined() && weight->requires_grad()),
           "nll_loss: the derivative for 'weight' is not implemented (detach the class weights)");
  if (self.dim() == 1) {
    Tensor out = dg::nll_loss(self.unsqueeze(0), target.unsqueeze(0), weight, reduction, ignore_index);
    return r == NnReduction::None ? out.squeeze(0) : out;
  }
  Tensor picked = _nll_pick(self, target, ignore_index);
  const bool weighted = weight && weight->defined();
  const Tensor w =
      weighted || r == NnReduction::Mean ? nll_target_weight(self, target, weight, ignore_index) : Tensor();
  Tensor loss = -(weighted ? picked * w : picked);
  if (r != NnReduction::Mean) return nn_reduce(loss, r);
  // The mean is weighted: divided by the total weight of the counted targets.
  return loss.sum() / w.sum();
}

Tensor nll_loss_backward(const Tensor& grad, const Tensor& self, const Tensor& target,
                         const std::optional<Tensor>& weight, int64_t reduction, int64_t ignore_index) {
  const NnReduction r = nn_reduction("nll_loss_backward", reduction);
  nll_check(self, target, weight);
  if (self.dim() == 1) {
    const Tensor g = r == NnReduction::None ? grad.unsqueeze(0) : grad;
    return composite::nll_loss_backward(g, self.unsqueeze(0), target.unsqueeze(0), weight, reduction, ignore_index)
        .squeeze(0);
  }
  const Tensor w = nll_target_weight(self, target, weight, ignore_index);
  Tensor g = r == NnReduction::None ? grad : grad.expand(target.sizes());
  if (r == NnReduction::Mean) g = g / w.sum();
  return _nll_pick_backward(-(g * w), target, self.sizes(), ignore_index);
}

Tensor cross_entropy_loss(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                          int64_t reduction, int64_t ignore_index, double label_smoothing) {
  const NnReduction r = nn_reduction("cross_entropy", reduction);
  DG_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
           "cross_entropy: label_smoothing must be between 0.0 and 1.0, got ", label_smoothing);
  DG_CHECK(input.dim() >= 1, "cross_entropy: expected input of shape [C], [N, C] or [N, C, d...], got a 0-dim tensor");
  const bool probabilities = target.is_floating_point();
  DG_CHECK(probabilities || target.dtype() == kInt64, "cross_entropy: expected target of dtype int64 (class indices) ",
           "or floating point (class probabilities), got ", target.dtype());
  if (input.dim() == 1) {
    DG_CHECK(probabilities ? target.dim() == 1 : target.dim() == 0, "cross_entropy: expected target of shape ",
             probabilities ? "[C]" : "[] (0-dim)", " for input of shape ", input.sizes(), ", got ", target.sizes());
    Tensor out = dg::cross_entropy_loss(input.unsqueeze(0), target.unsqueeze(0), weight, reduction, ignore_index,
                                        label_smoothing);
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
  Tensor nll = dg::nll_loss(lsm, target, weight, reduction, ignore_index);
  if (label_smoothing == 0.0) return nll;
  // The smoothing term: uniform target mass over the classes, the same
  // ignore rule and the same (weighted) mean as the nll term.
  Tensor mask = nn_target_mask(input, target, ignore_index);
  Tensor per = has_weight ? lsm * channel_view(*weight, input.dim()) : lsm;
  Tensor smooth = -per.sum(1) * mask;
  Tensor smooth_red;
  if (r == NnReduction::Mean) {
    smooth_red = smooth.sum() / nll_target_weight(input, target, weight, ignore_index).sum();
  } else {
    smooth_red = nn_reduce(smooth, r);
  }
  return nll * (1.0 - label_smoothing) + smooth_red * (label_smoothing / static_cast<double>(classes));
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                     int64_t ignore_index, std::string_view reduction, double label_smoothing) {
  const NnReduction r = nn_parse_reduction("cross_entropy", reduction);
  return dg::cross_entropy_loss(input, target, weight, nn_reduction_code(r), ignore_index, label_smoothing);
}

Tensor mse_loss(const Tensor& self, const Tensor& target, int64_t reduction) {
  const NnReduction r = nn_reduction("mse_loss", reduction);
  nn_check_same_shape("mse_loss", self, target);
  Tensor d = self - target;
  return nn_reduce(d * d, r);
}

Tensor mse_loss_backward(const Tensor& grad, const Tensor& self, const Tensor& target, int64_t reduction) {
  const NnReduction r = nn_reduction("mse_loss_backward", reduction);
  const double scale = r == NnReduction::Mean ? 2.0 / static_cast<double>(std::max<int64_t>(self.numel(), 1)) : 2.0;
  return (self - target) * grad * scale;
}

Tensor l1_loss(const Tensor& self, const Tensor& target, int64_t reduction) {
  const NnReduction r = nn_reduction("l1_loss", reduction);
  nn_check_same_shape("l1_loss", self, target);
  return nn_reduce((self - target).abs(), r);
}

Tensor smooth_l1_loss(const Tensor& self, const Tensor& target, int64_t reduction, double beta) {
  const NnReduction r = nn_reduction("smooth_l1_loss", reduction);
  DG_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
  nn_check_same_shape("smooth_l1_loss", self, target);
  Tensor a = (self - target).abs();
  if (beta == 0.0) return nn_reduce(a, r);
  // m = min(|d|, beta): the quadratic part below beta, the linear rest above.
  Tensor m = -(-a + beta).relu() + beta;
  return nn_reduce(m * m * (0.5 / beta) + (a - m), r);
}

Tensor huber_loss(const Tensor& self, const Tensor& target, int64_t reduction, double delta) {
  nn_reduction("huber_loss", reduction);
  DG_CHECK(delta > 0, "huber_loss: delta must be positive, got ", delta);
  return dg::smooth_l1_loss(self, target, reduction, delta) * delta;
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            int64_t reduction) {
  const NnReduction r = nn_reduction("binary_cross_entropy", reduction);
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
                                        const std::optional<Tensor>& pos_weight, int64_t reduction) {
  const NnReduction r = nn_reduction("binary_cross_entropy_with_logits", reduction);
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

// ---- kl_div, the margin losses, poisson_nll_loss (ATen-level, integer reduction), and
// multilabel_soft_margin_loss, gaussian_nll_loss (torch.nn.functional's, string reduction),
// each as PyTorch 1.13 builds it from other ops (so their grad_fn is that of the last op).

Tensor kl_div(const Tensor& self, const Tensor& target, int64_t reduction, bool log_target) {
  const NnReduction r = nn_reduction("kl_div", reduction);
  check_floating("kl_div", self, "self");
  Tensor out = log_target ? target.exp() * (target - self) : xlogy(target, target) - target * self;
  return nn_reduce(out, r);
}

Tensor soft_margin_loss(const Tensor& self, const Tensor& target, int64_t reduction) {
  const NnReduction r = nn_reduction("soft_margin_loss", reduction);
  check_floating("soft_margin_loss", self, "self");
  nn_check_same_shape("soft_margin_loss", self, target);
  return nn_reduce(log1p((-self * target).exp()), r);
}

// d/dself log(1 + exp(-t x)) = -t sigmoid(-t x); the loss is symmetric in
// self and target, so the same function gives target's gradient.
Tensor soft_margin_loss_backward(const Tensor& grad_output, const Tensor& self, const Tensor& target,
                                 int64_t reduction) {
  const NnReduction r = nn_reduction("soft_margin_loss_backward", reduction);
  Tensor g = -target * (-self * target).sigmoid() * grad_output;
  return r == NnReduction::Mean ? g / static_cast<double>(std::max<int64_t>(self.numel(), 1)) : g;
}

Tensor hinge_embedding_loss(const Tensor& self, const Tensor& target, double margin, int64_t reduction) {
  const NnReduction r = nn_reduction("hinge_embedding_loss", reduction);
  check_floating("hinge_embedding_loss", self, "self");
  Tensor zeros = zeros_like(self);
  Tensor margin_clamp = (-self + margin).clamp_min(0);
  Tensor out = where(target.ne(1), margin_clamp, zeros) + where(target.ne(-1), self, zeros);
  return nn_reduce(out, r);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin,
                           int64_t reduction) {
  const NnReduction r = nn_reduction("margin_ranking_loss", reduction);
  check_floating("margin_ranking_loss", input1, "input1");
  return nn_reduce((-target * (input1 - input2) + margin).clamp_min(0), r);
}

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, double margin,
                             int64_t reduction) {
  const NnReduction r = nn_reduction("cosine_embedding_loss", reduction);
  check_floating("cosine_embedding_loss", input1, "input1");
  const int64_t td = target.dim();
  DG_CHECK(td == 0 || td == 1, "cosine_embedding_loss: expected a 0-dim or 1-dim target (multi-target is not ",
           "supported), got target of shape ", target.sizes());
  if (td == 1) {
    DG_CHECK(input1.dim() == 2 && input2.dim() == 2, "cosine_embedding_loss: a 1-dim target expects 2-dim inputs, got ",
             "input1 of shape ", input1.sizes(), " and input2 of shape ", input2.sizes());
  } else {
    DG_CHECK(input1.dim() == 1 && input2.dim() == 1, "cosine_embedding_loss: a 0-dim target expects 1-dim inputs, got ",
             "input1 of shape ", input1.sizes(), " and input2 of shape ", input2.sizes());
  }
  constexpr double kEps = 1e-12;  // PyTorch's EPSILON
  Tensor prod_sum = (input1 * input2).sum({td});
  Tensor mag1 = (input1 * input1).sum({td}) + kEps;
  Tensor mag2 = (input2 * input2).sum({td}) + kEps;
  Tensor cos = prod_sum / (mag1 * mag2).sqrt();
  Tensor zeros = zeros_like(cos);
  Tensor out = where(target.eq(1), -cos + 1.0, zeros) + where(target.eq(-1), (cos - margin).clamp_min(0), zeros);
  return nn_reduce(out, r);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative, double margin,
                           double p, double eps, bool swap, int64_t reduction) {
  const NnReduction r = nn_reduction("triplet_margin_loss", reduction);
  check_floating("triplet_margin_loss", anchor, "anchor");
  DG_CHECK(anchor.dim() == positive.dim() && positive.dim() == negative.dim(),
           "triplet_margin_loss: expected anchor, positive and negative of the same number of dims, got ", anchor.dim(),
           "-dim, ", positive.dim(), "-dim and ", negative.dim(), "-dim inputs");
  Tensor dist_pos = dg::pairwise_distance(anchor, positive, p, eps);
  Tensor dist_neg = dg::pairwise_distance(anchor, negative, p, eps);
  if (swap) dist_neg = minimum(dist_neg, dg::pairwise_distance(positive, negative, p, eps));
  return nn_reduce((dist_pos - dist_neg + margin).clamp_min(0), r);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, bool log_input, bool full, double eps,
                        int64_t reduction) {
  const NnReduction r = nn_reduction("poisson_nll_loss", reduction);
  check_floating("poisson_nll_loss", input, "input");
  Tensor loss = log_input ? input.exp() - target * input : input - target * (input + eps).log();
  if (full) {
    // Stirling's approximation of log(target!), only where target > 1.
    Tensor stirling = target * target.log() - target + (target * (2 * kPi)).log() * 0.5;
    loss = loss + stirling.masked_fill(target.le(1), 0);
  }
  return nn_reduce(loss, r);
}

Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                                   std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("multilabel_soft_margin_loss", reduction);
  check_floating("multilabel_soft_margin_loss", input, "input");
  DG_CHECK(input.dim() >= 1, "multilabel_soft_margin_loss: expected input of at least 1 dim (classes last), got a ",
           "0-dim input");
  Tensor loss = -(target * log_sigmoid(input) + (-target + 1.0) * log_sigmoid(-input));
  if (weight && weight->defined()) loss = loss * *weight;
  const int64_t class_dim = input.dim() - 1;
  loss = loss.sum({class_dim}) / static_cast<double>(input.size(class_dim));
  return nn_reduce(loss, r);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full, double eps,
                         std::string_view reduction) {
  const NnReduction r = nn_parse_reduction("gaussian_nll_loss", reduction);
  check_floating("gaussian_nll_loss", input, "input");
  Tensor v = var;
  if (var.sizes() != input.sizes()) {
    const auto in = input.sizes();
    const auto vs = var.sizes();
    const bool missing_last =
        input.dim() >= 1 && var.dim() == input.dim() - 1 && std::equal(vs.begin(), vs.end(), in.begin());
    const bool last_one = input.dim() >= 1 && var.dim() == input.dim() && var.size(-1) == 1 &&
                          std::equal(vs.begin(), vs.end() - 1, in.begin());
    DG_CHECK(missing_last || last_one, "gaussian_nll_loss: expected var of the input's shape ", in,
             ", of that shape without its last dim, or with a last dim of 1, got ", vs);
    if (missing_last) v = var.unsqueeze(-1);
  }
  {
    NoGradGuard no_grad;
    DG_CHECK(!v.lt(0).any().item<bool>(), "gaussian_nll_loss: expected var >= 0 everywhere, got a negative entry");
  }
  // PyTorch clamps var in place under no_grad: the clamp passes var's
  // gradient through unchanged.
  v = v + (v.clamp_min(eps) - v).detach();
  Tensor loss = (v.log() + (input - target) * (input - target) / v) * 0.5;
  if (full) loss = loss + 0.5 * std::log(2 * kPi);
  return nn_reduce(loss, r);
}

}  // namespace dg::composite
