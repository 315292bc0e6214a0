#pragma once
// Composite ops of the neural-network functions (see composite.h).
#include <optional>
#include <string_view>

#include "dynagrad/tensor.h"

namespace dg::composite {

Tensor nll_loss(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight, int64_t ignore_index,
                std::string_view reduction);
Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                     int64_t ignore_index, std::string_view reduction, double label_smoothing);
Tensor mse_loss(const Tensor& input, const Tensor& target, std::string_view reduction);
Tensor l1_loss(const Tensor& input, const Tensor& target, std::string_view reduction);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, std::string_view reduction, double beta);
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                            std::string_view reduction);
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::optional<Tensor>& weight,
                                        std::string_view reduction, const std::optional<Tensor>& pos_weight);
Tensor dropout(const Tensor& input, double p, bool train);
Tensor layer_norm(const Tensor& input, IntArrayRef normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps);
Tensor group_norm(const Tensor& input, int64_t num_groups, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps);
Tensor batch_norm(const Tensor& input, const std::optional<Tensor>& running_mean,
                  const std::optional<Tensor>& running_var, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, bool training, double momentum, double eps);
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const std::optional<Tensor>& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale);

}  // namespace dg::composite
