// dg::nn's attention layers (dynagrad/nn/transformer.h): LibTorch 1.13's
// multi-head attention (its functional multi_head_attention_forward) and the
// post-norm Transformer encoder, from dynagrad ops.
#include "dynagrad/nn/transformer.h"

#include <cmath>
#include <limits>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/nn/functional.h"
#include "dynagrad/nn/init.h"

namespace dg::nn {
namespace {

// `mask` with one more column of zeros (false) at the end of dim 1, for the
// key that bias_k or add_zero_attn appends.
Tensor pad_mask_column(const Tensor& mask) {
  if (!mask.defined()) return mask;
  std::vector<int64_t> shape = mask.sizes().vec();
  shape[shape.size() - 1] = 1;
  return dg::cat({mask, dg::zeros(shape, TensorOptions(mask.scalar_type()).device(mask.device()))}, -1);
}

// Adds a float mask, or sets -inf where a bool mask is true.
Tensor apply_mask(const Tensor& scores, const Tensor& mask) {
  if (mask.scalar_type() == kBool) return scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  return scores + mask;
}

}  // namespace

// ---- MultiheadAttention -------------------------------------------------------------

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& options_) : options(options_) {
  reset();
}

void MultiheadAttentionImpl::reset() {
  const auto& o = options;
  DG_CHECK(o.embed_dim() > 0 && o.num_heads() > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got ",
           o.embed_dim(), " and ", o.num_heads());
  DG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, "MultiheadAttention: dropout must be in [0, 1], got ", o.dropout());
  _qkv_same_embed_dim = o.kdim() == o.embed_dim() && o.vdim() == o.embed_dim();
  head_dim = o.embed_dim() / o.num_heads();
  DG_CHECK(head_dim * o.num_heads() == o.embed_dim(), "MultiheadAttention: embed_dim must be divisible by num_heads (",
           o.embed_dim(), " % ", o.num_heads(), ")");
  const int64_t e = o.embed_dim();
  if (!_qkv_same_embed_dim) {
    q_proj_weight = register_parameter("q_proj_weight", dg::empty({e, e}));
    k_proj_weight = register_parameter("k_proj_weight", dg::empty({e, o.kdim()}));
    v_proj_weight = register_parameter("v_proj_weight", dg::empty({e, o.vdim()}));
    in_proj_weight = register_parameter("in_proj_weight", Tensor(), false);
  } else {
    in_proj_weight = register_parameter("in_proj_weight", dg::empty({3 * e, e}));
    q_proj_weight = register_parameter("q_proj_weight", Tensor(), false);
    k_proj_weight = register_parameter("k_proj_weight", Tensor(), false);
    v_proj_weight = register_parameter("v_proj_weight", Tensor(), false);
  }
  in_proj_bias = register_parameter("in_proj_bias", o.bias() ? dg::empty({3 * e}) : Tensor(), o.bias());
  out_proj = register_module("out_proj", Linear(LinearOptions(e, e).bias(o.bias())));
  if (o.add_bias_kv()) {
    bias_k = register_parameter("bias_k", dg::empty({1, 1, e}));
    bias_v = register_parameter("bias_v", dg::empty({1, 1, e}));
  } else {
    bias_k = Tensor();
    bias_v = Tensor();
  }
  _reset_parameters();
}

void MultiheadAttentionImpl::_reset_parameters() {
  if (_qkv_same_embed_dim) {
    init::xavier_uniform_(in_proj_weight);
  } else {
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (in_proj_bias.defined()) {
    init::constant_(in_proj_bias, 0.);
    init::constant_(out_proj->bias, 0.);
  }
  if (bias_k.defined()) init::xavier_normal_(bias_k);
  if (bias_v.defined()) init::xavier_normal_(bias_v);
}

void MultiheadAttentionImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::MultiheadAttention"; }

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                           const Tensor& key_padding_mask, bool need_weights,
                                                           const Tensor& attn_mask, bool average_attn_weights) {
  const auto& o = options;
  DG_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3,
           "MultiheadAttention: expected 3-D query [L, N, E], key [S, N, kdim] and value [S, N, vdim], got ",
           query.sizes(), ", ", key.sizes(), " and ", value.sizes());
  const int64_t tgt_len = query.size(0), bsz = query.size(1), embed_dim = query.size(2);
  DG_CHECK(embed_dim == o.embed_dim(), "MultiheadAttention: query has ", embed_dim, " features, expected embed_dim ",
           o.embed_dim());
  DG_CHECK(key.size(2) == o.kdim() && value.size(2) == o.vdim(), "MultiheadAttention: expected key and value with ",
           o.kdim(), " and ", o.vdim(), " features (kdim, vdim), got ", key.sizes(), " and ", value.sizes());
  DG_CHECK(key.size(0) == value.size(0) && key.size(1) == bsz && value.size(1) == bsz, "MultiheadAttention: key ",
           key.sizes(), " and value ", value.sizes(), " must have the same length and the query's batch size ", bsz);
  const int64_t heads = o.num_heads();
  // The masks as given: [L, S] or [N * heads, L, S], and [N, S] (S the key
  // length, before bias_k or add_zero_attn add a key).
  const int64_t key_len = key.size(0);
  if (attn_mask.defined()) {
    const bool ok = (attn_mask.dim() == 2 && attn_mask.size(0) == tgt_len && attn_mask.size(1) == key_len) ||
                    (attn_mask.dim() == 3 && attn_mask.size(0) == bsz * heads && attn_mask.size(1) == tgt_len &&
                     attn_mask.size(2) == key_len);
    DG_CHECK(ok, "MultiheadAttention: attn_mask must be [", tgt_len, ", ", key_len, "] or [", bsz * heads, ", ",
             tgt_len, ", ", key_len, "] (target length, source length), got ", attn_mask.sizes());
  }
  if (key_padding_mask.defined()) {
    DG_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == bsz && key_padding_mask.size(1) == key_len,
             "MultiheadAttention: key_padding_mask must be [batch, source length] = [", bsz, ", ", key_len, "], got ",
             key_padding_mask.sizes());
  }

  // The three input projections (rows 0..E, E..2E, 2E..3E of the packed weight).
  auto bias_part = [&](int64_t i) {
    return in_proj_bias.defined() ? in_proj_bias.slice(0, i * embed_dim, (i + 1) * embed_dim) : Tensor();
  };
  auto weight_part = [&](int64_t i, const Tensor& separate) {
    return _qkv_same_embed_dim ? in_proj_weight.slice(0, i * embed_dim, (i + 1) * embed_dim) : separate;
  };
  Tensor q = functional::linear(query, weight_part(0, q_proj_weight), bias_part(0));
  Tensor k = functional::linear(key, weight_part(1, k_proj_weight), bias_part(1));
  Tensor v = functional::linear(value, weight_part(2, v_proj_weight), bias_part(2));
  q = q * (1.0 / std::sqrt(static_cast<double>(head_dim)));

  Tensor mask = attn_mask, padding = key_padding_mask;
  if (bias_k.defined()) {
    k = dg::cat({k, bias_k.repeat({1, bsz, 1})});
    v = dg::cat({v, bias_v.repeat({1, bsz, 1})});
    mask = pad_mask_column(mask);
    padding = pad_mask_column(padding);
  }
  // [len, N, E] -> [N * heads, len, head_dim]
  q = q.contiguous().view({tgt_len, bsz * heads, head_dim}).transpose(0, 1);
  k = k.contiguous().view({-1, bsz * heads, head_dim}).transpose(0, 1);
  v = v.contiguous().view({-1, bsz * heads, head_dim}).transpose(0, 1);
  if (o.add_zero_attn()) {
    const auto zeros_opts = TensorOptions(k.scalar_type()).device(k.device());
    k = dg::cat({k, dg::zeros({bsz * heads, 1, head_dim}, zeros_opts)}, 1);
    v = dg::cat({v, dg::zeros({bsz * heads, 1, head_dim}, zeros_opts)}, 1);
    mask = pad_mask_column(mask);
    padding = pad_mask_column(padding);
  }
  const int64_t src_len = k.size(1);

  Tensor scores = dg::bmm(q, k.transpose(1, 2));  // [N * heads, L, S]
  if (mask.defined()) scores = apply_mask(scores, mask.dim() == 2 ? mask.unsqueeze(0) : mask);
  if (padding.defined()) {
    scores = apply_mask(scores.view({bsz, heads, tgt_len, src_len}), padding.view({bsz, 1, 1, src_len}))
                 .view({bsz * heads, tgt_len, src_len});
  }
  Tensor weights = dg::softmax(scores, -1);
  if (o.dropout() > 0)
    weights = functional::dropout(weights, functional::DropoutFuncOptions().p(o.dropout()).training(is_training()));
  Tensor out = dg::bmm(weights, v).transpose(0, 1).contiguous().view({tgt_len, bsz, embed_dim});
  out = out_proj(out);
  if (!need_weights) return {out, Tensor()};
  weights = weights.view({bsz, heads, tgt_len, src_len});
  if (average_attn_weights) weights = weights.sum({1}) / static_cast<double>(heads);
  return {out, weights};
}

// ---- TransformerEncoderLayer ---------------------------------------------------------------

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options_)
    : options(options_) {
  reset();
}

void TransformerEncoderLayerImpl::reset() {
  const auto& o = options;
  self_attn = register_module(
      "self_attn", MultiheadAttention(MultiheadAttentionOptions(o.d_model(), o.nhead()).dropout(o.dropout())));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  dropout = register_module("dropout", Dropout(o.dropout()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", LayerNorm(LayerNormOptions({o.d_model()})));
  norm2 = register_module("norm2", LayerNorm(LayerNormOptions({o.d_model()})));
  dropout1 = register_module("dropout1", Dropout(o.dropout()));
  dropout2 = register_module("dropout2", Dropout(o.dropout()));
}

void TransformerEncoderLayerImpl::reset_parameters() {
  self_attn->_reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  norm1->reset_parameters();
  norm2->reset_parameters();
}

void TransformerEncoderLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::TransformerEncoderLayer";
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask) {
  Tensor attended = std::get<0>(self_attn(src, src, src, src_key_padding_mask, /*need_weights=*/false, src_mask));
  Tensor x = norm1(src + dropout1(attended));
  Tensor hidden = linear1(x);
  hidden = std::visit(
      [&](const auto& act) -> Tensor {
        using A = std::decay_t<decltype(act)>;
        if constexpr (std::is_same_v<A, enumtype::kReLU>) {
          return functional::relu(hidden);
        } else if constexpr (std::is_same_v<A, enumtype::kGELU>) {
          return functional::gelu(hidden);
        } else {
          return act(hidden);
        }
      },
      options.activation());
  return norm2(x + dropout2(linear2(dropout(hidden))));
}

// ---- TransformerEncoder ----------------------------------------------------------------------

TransformerEncoderImpl::TransformerEncoderImpl(TransformerEncoderOptions options_) : options(std::move(options_)) {
  reset();
}

void TransformerEncoderImpl::reset() {
  DG_CHECK(!options.encoder_layer().is_empty(), "TransformerEncoder: the encoder layer is empty");
  DG_CHECK(options.num_layers() > 0, "TransformerEncoder: num_layers must be positive, got ", options.num_layers());
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < options.num_layers(); ++i) layers->push_back(options.encoder_layer()->clone());
  if (!options.norm().is_empty()) {
    norm = options.norm().rebind(options.norm().ptr()->clone());
    register_module("norm", norm.ptr());
  }
}

void TransformerEncoderImpl::reset_parameters() {
  for (size_t i = 0; i < layers->size(); ++i) layers->at<TransformerEncoderLayerImpl>(i).reset_parameters();
  if (!norm.is_empty()) {
    auto* layer_norm = dynamic_cast<LayerNormImpl*>(norm.ptr().get());
    if (layer_norm != nullptr) layer_norm->reset_parameters();
  }
}

void TransformerEncoderImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::TransformerEncoder"; }

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask) {
  Tensor x = src;
  for (size_t i = 0; i < layers->size(); ++i)
    x = layers->at<TransformerEncoderLayerImpl>(i).forward(x, src_mask, src_key_padding_mask);
  return norm.is_empty() ? x : norm.forward(x);
}

}  // namespace dg::nn
