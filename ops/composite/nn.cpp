// Neural-network functions built from other ops: dropout, layer/group/batch
// normalisation, scaled dot-product attention.
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

Tensor dropout(const Tensor& input, double p, bool train) {
  DG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability p has to be between 0 and 1, got ", p);
  if (!train || p == 0.0) return input;
  check_floating("dropout", input, "input");
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
  if (weight && weight->defined()) y = y * channel_view(*weight, input.dim());
  if (bias && bias->defined()) y = y + channel_view(*bias, input.dim());
  return y;
}

Tensor batch_norm_aten(const Tensor& input, const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                       const std::optional<Tensor>& running_mean, const std::optional<Tensor>& running_var,
                       bool training, double momentum, double eps, bool /*cudnn_enabled*/) {
  return dg::batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps);
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
      DG_CHECK((*t)->numel() == c, "batch_norm: expected ", name, " with ", c,
               " elements (one per channel), got shape ", (*t)->sizes());
  }
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  Tensor mean, var;
  if (training) {
    const int64_t count = input.numel() / std::max<int64_t>(c, 1);
    DG_CHECK(count > 1, "batch_norm: expected more than 1 value per channel when training, got input of shape ",
             input.sizes());
    mean = input.mean(dims);
    Tensor xc = input - channel_view(mean, input.dim());
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
  Tensor y = (input - channel_view(mean, input.dim())) / (channel_view(var, input.dim()) + eps).sqrt();
  if (weight && weight->defined()) y = y * channel_view(*weight, input.dim());
  if (bias && bias->defined()) y = y + channel_view(*bias, input.dim());
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

// ---- distances -------------------------------------------------------------------

namespace dg::composite {

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim, double eps) {
  const std::vector<Tensor> b = dg::broadcast_tensors({x1, x2});
  const int64_t d = meta::wrap_dim("cosine_similarity", dim, b[0].dim());
  const Tensor w12 = (b[0] * b[1]).sum({d});
  const Tensor w1 = (b[0] * b[0]).sum({d}), w2 = (b[1] * b[1]).sum({d});
  // As PyTorch 1.13: the product of the squared norms is clamped, then rooted.
  return w12 / (w1 * w2).clamp_min(eps * eps).sqrt();
}

Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps, bool keepdim) {
  const int64_t nd = std::max(x1.dim(), x2.dim());
  DG_CHECK(nd >= 1, "pairwise_distance: expected tensors of at least 1 dim, got two 0-dim tensors");
  return dg::norm(x1 - x2 + eps, p, {-1}, keepdim);
}

}  // namespace dg::composite
