// dg::nn's attention layers: LibTorch 1.13's MultiheadAttention,
// TransformerEncoderLayer and TransformerEncoder, with its options, parameter
// names, default initialisation and forward signatures. As LibTorch 1.13's
// C++ frontend, tensors are sequence-first: query [L, N, E], key and value
// [S, N, kdim / vdim]; there is no batch_first.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <tuple>
#include <variant>

#include "dynagrad/nn/container.h"
#include "dynagrad/nn/enum.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/nn/modules.h"
#include "dynagrad/tensor.h"

namespace dg::nn {

// ---- options ----------------------------------------------------------------
struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  DG_ARG(int64_t, embed_dim);
  DG_ARG(int64_t, num_heads);
  DG_ARG(double, dropout) = 0.0;
  DG_ARG(bool, bias) = true;
  DG_ARG(bool, add_bias_kv) = false;
  DG_ARG(bool, add_zero_attn) = false;
  DG_ARG(int64_t, kdim);
  DG_ARG(int64_t, vdim);
};

using activation_t = std::variant<enumtype::kReLU, enumtype::kGELU, std::function<Tensor(const Tensor&)>>;

struct TransformerEncoderLayerOptions {
  TransformerEncoderLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}  // NOLINT
  DG_ARG(int64_t, d_model);
  DG_ARG(int64_t, nhead);
  DG_ARG(int64_t, dim_feedforward) = 2048;
  DG_ARG(double, dropout) = 0.1;
  DG_ARG(activation_t, activation) = dg::kReLU;
};

// ---- MultiheadAttention ------------------------------------------------------------
class MultiheadAttentionImpl : public Cloneable<MultiheadAttentionImpl> {
 public:
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options_);

  // query [L, N, E], key [S, N, kdim], value [S, N, vdim];
  // key_padding_mask [N, S] (bool: true is ignored; float: added);
  // attn_mask [L, S] (float: added; bool: true is masked out). Returns the
  // output [L, N, E] and, with need_weights, the attention weights
  // [N, L, S] (averaged over heads) or [N, heads, L, S]; else undefined.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {}, bool average_attn_weights = true);
  void reset() override;
  // xavier-uniform projections, zero biases, xavier-normal bias_k / bias_v.
  void _reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  MultiheadAttentionOptions options;
  bool _qkv_same_embed_dim = true;
  int64_t head_dim = 0;
  Tensor in_proj_weight;  // [3 E, E] when kdim == vdim == E
  Tensor in_proj_bias;    // [3 E]
  Tensor bias_k;          // [1, 1, E] with add_bias_kv
  Tensor bias_v;
  Linear out_proj = nullptr;
  Tensor q_proj_weight;  // [E, E], [E, kdim], [E, vdim] otherwise
  Tensor k_proj_weight;
  Tensor v_proj_weight;
};
DG_MODULE(MultiheadAttention);

// ---- TransformerEncoderLayer ---------------------------------------------------------
// Post-norm: x = norm1(x + dropout1(self_attn(x))); x = norm2(x +
// dropout2(linear2(dropout(activation(linear1(x)))))).
class TransformerEncoderLayerImpl : public Cloneable<TransformerEncoderLayerImpl> {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerEncoderLayerImpl(TransformerEncoderLayerOptions(d_model, nhead)) {}
  explicit TransformerEncoderLayerImpl(const TransformerEncoderLayerOptions& options_);
  // src [S, N, d_model], src_mask [S, S], src_key_padding_mask [N, S].
  Tensor forward(const Tensor& src, const Tensor& src_mask = {}, const Tensor& src_key_padding_mask = {});
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  TransformerEncoderLayerOptions options;
  MultiheadAttention self_attn = nullptr;
  Linear linear1 = nullptr;
  Dropout dropout = nullptr;
  Linear linear2 = nullptr;
  LayerNorm norm1 = nullptr;
  LayerNorm norm2 = nullptr;
  Dropout dropout1 = nullptr;
  Dropout dropout2 = nullptr;
};
DG_MODULE(TransformerEncoderLayer);

// ---- TransformerEncoder ---------------------------------------------------------------
struct TransformerEncoderOptions {
  // Clones of `encoder_layer` (which keeps its values) make the layers.
  TransformerEncoderOptions(TransformerEncoderLayer encoder_layer, int64_t num_layers)
      : encoder_layer_(std::move(encoder_layer)), num_layers_(num_layers) {}
  // A fresh TransformerEncoderLayer(encoder_layer_options) is cloned.
  TransformerEncoderOptions(const TransformerEncoderLayerOptions& encoder_layer_options, int64_t num_layers)
      : encoder_layer_(encoder_layer_options), num_layers_(num_layers) {}
  DG_ARG(TransformerEncoderLayer, encoder_layer) = nullptr;
  DG_ARG(int64_t, num_layers);
  DG_ARG(AnyModule, norm);
};

class TransformerEncoderImpl : public Cloneable<TransformerEncoderImpl> {
 public:
  TransformerEncoderImpl(TransformerEncoderLayer encoder_layer, int64_t num_layers)
      : TransformerEncoderImpl(TransformerEncoderOptions(std::move(encoder_layer), num_layers)) {}
  explicit TransformerEncoderImpl(TransformerEncoderOptions options_);
  Tensor forward(const Tensor& src, const Tensor& src_mask = {}, const Tensor& src_key_padding_mask = {});
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  TransformerEncoderOptions options;
  ModuleList layers = nullptr;
  AnyModule norm;
};
DG_MODULE(TransformerEncoder);

}  // namespace dg::nn
