// Neural-network functions written with other ops: losses, dropout,
// normalisations, attention. Their gradients (and double backward) are those
// of the ops they call; only the class pick of nll_loss, softmax and
// embedding have kernels of their own (kernels/cpu/nn.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ops/composite.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
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

void nn_check_floating(const char* op, const char* name, const Tensor& t) {
  DG_CHECK(t.is_floating_point(), op, ": expected ", name, " to be a floating point tensor, got ", t.dtype());
}

void nn_check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  DG_CHECK(input.sizes() == target.sizes(), op, ": expected target of the input's shape ", input.sizes(), ", got ",
           target.sizes());
}

// A per-channel tensor [C] viewed so it broadcasts against [N, C, d...].
Tensor nn_channel_view(const Tensor& t, int64_t ndim) {
  std::vector<int64_t> shape(static_cast<size_t>(ndim), 1);
  shape[1] = t.numel();
  return t.reshape(shape);
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

// 0 where keep is true, -inf where it is false: an additive attention mask.
Tensor nn_bool_to_additive(const Tensor& keep, ScalarType dtype) {
  Tensor k = detail::to_host(keep.contiguous());
  Tensor out = empty(k.sizes(), TensorOptions().dtype(dtype));
  const bool* src = k.data_ptr<bool>();
  const int64_t n = k.numel();
  if (dtype == kFloat64) {
    double* d = out.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) d[i] = src[i] ? 0.0 : -std::numeric_limits<double>::infinity();
  } else {
    float* d = out.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) d[i] = src[i] ? 0.0f : -std::numeric_limits<float>::infinity();
  }
  return keep.is_cpu() ? out : detail::copy_to_device(out, keep.device());
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
    w = _nll_pick(nn_channel_view(*weight, input.dim()).expand(input.sizes()), target, ignore_index);
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
    Tensor out = dg::cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction,
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
    if (has_weight) per = per * nn_channel_view(*weight, input.dim());
    Tensor loss = -per.sum(1);
    // The mean of probability targets is over the batch, not the weights.
    return nn_reduce(loss, r);
  }
  Tensor nll = dg::nll_loss(lsm, target, weight, ignore_index, reduction);
  if (label_smoothing == 0.0) return nll;
  // The smoothing term: uniform target mass over the classes, the same
  // ignore rule and the same (weighted) mean as the nll term.
  Tensor mask = nn_target_mask(input, target, ignore_index);
  Tensor per = has_weight ? lsm * nn_channel_view(*weight, input.dim()) : lsm;
  Tensor smooth = -per.sum(1) * mask;
  Tensor smooth_red;
  if (r == NnReduction::Mean) {
    Tensor denom = has_weight
                       ? _nll_pick(nn_channel_view(*weight, input.dim()).expand(input.sizes()), target, ignore_index).sum()
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
  nn_check_floating("binary_cross_entropy", "input", input);
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
  nn_check_floating("binary_cross_entropy_with_logits", "input", input);
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

Tensor dropout(const Tensor& input, double p, bool train) {
  DG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p has to be between 0 and 1, got ", p);
  if (!train || p == 0.0) return input;
  nn_check_floating("dropout", "input", input);
  Tensor mask;
  {
    // The mask is a constant of the graph: backward multiplies by the same
    // kept units (scaled by 1 / (1 - p)) and nothing flows into it.
    NoGradGuard g;
    // Drawn and thresholded on the host (the values do not depend on the
    // device), then moved to input's device.
    Tensor u = rand(input.sizes(), TensorOptions().dtype(kFloat64));
    mask = empty(input.sizes(), TensorOptions().dtype(input.dtype()));
    const double* src = u.data_ptr<double>();
    const double keep = p == 1.0 ? 0.0 : 1.0 / (1.0 - p);
    const int64_t n = u.numel();
    if (input.dtype() == kFloat64) {
      double* d = mask.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) d[i] = src[i] < p ? 0.0 : keep;
    } else {
      float* d = mask.data_ptr<float>();
      for (int64_t i = 0; i < n; ++i) d[i] = src[i] < p ? 0.0f : static_cast<float>(keep);
    }
    if (input.is_cuda()) mask = detail::copy_to_device(mask, input.device());
  }
  return input * mask;
}

Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  DG_CHECK(k >= 1, "layer_norm: expected normalized_shape to have at least one dimension, got []");
  bool ok = input.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = input.size(input.dim() - k + i) == normalized_shape[i];
  DG_CHECK(ok, "layer_norm: expected input with trailing dimensions normalized_shape ", normalized_shape,
           ", got input of shape ", input.sizes());
  if (weight && weight->defined())
    DG_CHECK(weight->sizes() == normalized_shape, "layer_norm: expected weight of shape normalized_shape ",
             normalized_shape, ", got ", weight->sizes());
  if (bias && bias->defined())
    DG_CHECK(bias->sizes() == normalized_shape, "layer_norm: expected bias of shape normalized_shape ",
             normalized_shape, ", got ", bias->sizes());
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < k; ++i) dims.push_back(input.dim() - k + i);
  Tensor xc = input - input.mean(dims, true);
  Tensor var = (xc * xc).mean(dims, true);  // biased, as PyTorch normalises
  Tensor y = xc / (var + eps).sqrt();
  if (weight && weight->defined()) y = y * *weight;
  if (bias && bias->defined()) y = y + *bias;
  return y;
}

Tensor group_norm(const Tensor& input, int64_t num_groups, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  DG_CHECK(input.dim() >= 2, "group_norm: expected input of shape [N, C, ...] (at least 2 dimensions), got ",
           input.sizes());
  const int64_t n = input.size(0), c = input.size(1);
  DG_CHECK(num_groups > 0 && c % num_groups == 0, "group_norm: expected num_groups to divide the ", c,
           " channels, got num_groups ", num_groups);
  for (const auto* t : {&weight, &bias}) {
    if (*t && (*t)->defined())
      DG_CHECK((*t)->dim() == 1 && (*t)->size(0) == c, "group_norm: expected ", t == &weight ? "weight" : "bias",
               " of shape [", c, "] (one per channel), got ", (*t)->sizes());
  }
  Tensor x = input.reshape({n, num_groups, -1});
  Tensor xc = x - x.mean(2, true);
  Tensor var = (xc * xc).mean(2, true);
  Tensor y = (xc / (var + eps).sqrt()).reshape(input.sizes());
  if (weight && weight->defined()) y = y * nn_channel_view(*weight, input.dim());
  if (bias && bias->defined()) y = y + nn_channel_view(*bias, input.dim());
  return y;
}

Tensor batch_norm(const Tensor& input, const std::optional<Tensor>& running_mean,
                  const std::optional<Tensor>& running_var, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, bool training, double momentum, double eps) {
  DG_CHECK(input.dim() >= 2, "batch_norm: expected input of shape [N, C, ...] (at least 2 dimensions), got ",
           input.sizes());
  const int64_t c = input.size(1);
  const bool has_rm = running_mean && running_mean->defined(), has_rv = running_var && running_var->defined();
  const std::pair<const std::optional<Tensor>*, const char*> per_channel[] = {
      {&running_mean, "running_mean"}, {&running_var, "running_var"}, {&weight, "weight"}, {&bias, "bias"}};
  for (const auto& [t, name] : per_channel) {
    if (*t && (*t)->defined())
      DG_CHECK((*t)->numel() == c, "batch_norm: expected ", name, " with ", c, " elements (one per channel), got shape ",
               (*t)->sizes());
  }
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  Tensor mean, var;
  if (training) {
    const int64_t count = input.numel() / std::max<int64_t>(c, 1);
    DG_CHECK(count > 1, "batch_norm: expected more than 1 value per channel when training, got input of shape ",
             input.sizes());
    mean = input.mean(dims);
    Tensor xc = input - nn_channel_view(mean, input.dim());
    var = (xc * xc).mean(dims);
    if (has_rm || has_rv) {
      NoGradGuard g;
      if (has_rm) running_mean->mul_(1.0 - momentum).add_(mean.detach().view(running_mean->sizes()), momentum);
      if (has_rv) {
        // The running estimate is unbiased (n / (n - 1)), the normalisation is not.
        Tensor unbiased = var.detach() * (static_cast<double>(count) / static_cast<double>(count - 1));
        running_var->mul_(1.0 - momentum).add_(unbiased.view(running_var->sizes()), momentum);
      }
    }
  } else {
    DG_CHECK(has_rm && has_rv, "batch_norm: running_mean and running_var are required when training=False");
    mean = *running_mean;
    var = *running_var;
  }
  Tensor y = (input - nn_channel_view(mean, input.dim())) / (nn_channel_view(var, input.dim()) + eps).sqrt();
  if (weight && weight->defined()) y = y * nn_channel_view(*weight, input.dim());
  if (bias && bias->defined()) y = y + nn_channel_view(*bias, input.dim());
  return y;
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const std::optional<Tensor>& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  const char* op = "scaled_dot_product_attention";
  DG_CHECK(query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2, op,
           ": expected query, key and value with at least 2 dimensions ([..., L, E]), got shapes ", query.sizes(), ", ",
           key.sizes(), " and ", value.sizes());
  DG_CHECK(query.size(-1) == key.size(-1), op, ": expected query and key with the same embedding size, got ",
           query.size(-1), " and ", key.size(-1));
  DG_CHECK(key.size(-2) == value.size(-2), op, ": expected key and value with the same sequence length, got ",
           key.size(-2), " and ", value.size(-2));
  const bool has_mask = attn_mask && attn_mask->defined();
  DG_CHECK(!(has_mask && is_causal), op, ": attn_mask must not be given when is_causal=True");
  const int64_t l = query.size(-2), s = key.size(-2);
  const double sc = scale.value_or(1.0 / std::sqrt(static_cast<double>(query.size(-1))));
  Tensor scores = query.matmul(key.transpose(-2, -1)) * sc;
  if (is_causal) {
    // Query i attends to keys 0..i (the top-left aligned lower triangle).
    Tensor keep = empty({l, s}, TensorOptions().dtype(kBool));
    bool* k = keep.data_ptr<bool>();
    for (int64_t i = 0; i < l; ++i)
      for (int64_t j = 0; j < s; ++j) k[i * s + j] = j <= i;
    if (scores.is_cuda()) keep = detail::copy_to_device(keep, scores.device());
    scores = scores + nn_bool_to_additive(keep, scores.dtype());
  } else if (has_mask) {
    scores = scores + (attn_mask->dtype() == kBool ? nn_bool_to_additive(*attn_mask, scores.dtype()) : *attn_mask);
  }
  Tensor attn = softmax(scores, -1);
  if (dropout_p > 0.0) attn = dg::dropout(attn, dropout_p, true);
  return attn.matmul(value);
}

}  // namespace dg::composite
