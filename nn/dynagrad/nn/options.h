// The options of dg::nn modules and dg::nn::functional, LibTorch's names and
// defaults: `Conv2dOptions(1, 32, 3).stride(1).padding(1)`. A functional's
// options are the module's where LibTorch shares them (F::DropoutFuncOptions
// is DropoutOptions).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dynagrad/nn/enum.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/tensor.h"

namespace dg {

// D numbers given as one (repeated) or as D: `kernel_size(3)` or
// `kernel_size({3, 5})`, as LibTorch's ExpandingArray.
template <size_t D, typename T = int64_t>
class ExpandingArray {
 public:
  ExpandingArray(T single) { values_.fill(single); }  // NOLINT
  ExpandingArray(std::initializer_list<T> list) : ExpandingArray(std::vector<T>(list)) {}
  ExpandingArray(const std::vector<T>& values) {  // NOLINT
    DG_CHECK(values.size() == D, "Expected ", D, " values, but instead got ", values.size());
    for (size_t i = 0; i < D; ++i) values_[i] = values[i];
  }
  ExpandingArray(IntArrayRef values) : ExpandingArray(std::vector<T>(values.begin(), values.end())) {}  // NOLINT
  IntArrayRef operator*() const { return IntArrayRef(values_.data(), D); }
  const T* operator->() const { return values_.data(); }
  operator IntArrayRef() const { return IntArrayRef(values_.data(), D); }  // NOLINT
  T operator[](size_t i) const { return values_[i]; }
  size_t size() const { return D; }
  std::vector<T> vec() const { return std::vector<T>(values_.begin(), values_.end()); }

 private:
  std::array<T, D> values_{};
};

// D sizes, each of which may be None (keep the input's): adaptive pooling.
template <size_t D>
class ExpandingArrayWithOptionalElem {
 public:
  ExpandingArrayWithOptionalElem(int64_t single) { values_.fill(single); }  // NOLINT
  ExpandingArrayWithOptionalElem(std::initializer_list<std::optional<int64_t>> list) {
    DG_CHECK(list.size() == D, "Expected ", D, " values, but instead got ", list.size());
    size_t i = 0;
    for (auto v : list) values_[i++] = v;
  }
  ExpandingArrayWithOptionalElem(std::vector<int64_t> values) {  // NOLINT
    DG_CHECK(values.size() == D, "Expected ", D, " values, but instead got ", values.size());
    for (size_t i = 0; i < D; ++i) values_[i] = values[i];
  }
  const std::optional<int64_t>& operator[](size_t i) const { return values_[i]; }
  size_t size() const { return D; }

 private:
  std::array<std::optional<int64_t>, D> values_{};
};

namespace nn {

// ---- linear -----------------------------------------------------------------
struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  DG_ARG(int64_t, in_features);
  DG_ARG(int64_t, out_features);
  DG_ARG(bool, bias) = true;
};

struct BilinearOptions {
  BilinearOptions(int64_t in1_features, int64_t in2_features, int64_t out_features)
      : in1_features_(in1_features), in2_features_(in2_features), out_features_(out_features) {}
  DG_ARG(int64_t, in1_features);
  DG_ARG(int64_t, in2_features);
  DG_ARG(int64_t, out_features);
  DG_ARG(bool, bias) = true;
};

struct FlattenOptions {
  DG_ARG(int64_t, start_dim) = 1;
  DG_ARG(int64_t, end_dim) = -1;
};

struct UnflattenOptions {
  UnflattenOptions(int64_t dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  DG_ARG(int64_t, dim);
  DG_ARG(std::vector<int64_t>, sizes);
};

// ---- convolution -------------------------------------------------------------
using conv_padding_mode_t =
    std::variant<enumtype::kZeros, enumtype::kReflect, enumtype::kReplicate, enumtype::kCircular>;

template <size_t D>
struct ConvOptions {
  using padding_t = std::variant<ExpandingArray<D>, enumtype::kValid, enumtype::kSame>;
  ConvOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  DG_ARG(int64_t, in_channels);
  DG_ARG(int64_t, out_channels);
  DG_ARG(ExpandingArray<D>, kernel_size);
  DG_ARG(ExpandingArray<D>, stride) = 1;
  DG_ARG(padding_t, padding) = ExpandingArray<D>(0);

 public:
  decltype(auto) padding(std::initializer_list<int64_t> il) { return padding(ExpandingArray<D>(il)); }
  decltype(auto) padding(int64_t p) { return padding(ExpandingArray<D>(p)); }
  DG_ARG(ExpandingArray<D>, dilation) = 1;
  DG_ARG(int64_t, groups) = 1;
  DG_ARG(bool, bias) = true;
  DG_ARG(conv_padding_mode_t, padding_mode) = enumtype::kZeros{};
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;
using Conv3dOptions = ConvOptions<3>;

template <size_t D>
struct ConvTransposeOptions {
  ConvTransposeOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  DG_ARG(int64_t, in_channels);
  DG_ARG(int64_t, out_channels);
  DG_ARG(ExpandingArray<D>, kernel_size);
  DG_ARG(ExpandingArray<D>, stride) = 1;
  DG_ARG(ExpandingArray<D>, padding) = 0;
  DG_ARG(ExpandingArray<D>, output_padding) = 0;
  DG_ARG(int64_t, groups) = 1;
  DG_ARG(bool, bias) = true;
  DG_ARG(ExpandingArray<D>, dilation) = 1;
  DG_ARG(conv_padding_mode_t, padding_mode) = enumtype::kZeros{};
};
using ConvTranspose1dOptions = ConvTransposeOptions<1>;
using ConvTranspose2dOptions = ConvTransposeOptions<2>;
using ConvTranspose3dOptions = ConvTransposeOptions<3>;

// ---- pooling ----------------------------------------------------------------
template <size_t D>
struct MaxPoolOptions {
  MaxPoolOptions(ExpandingArray<D> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  DG_ARG(ExpandingArray<D>, kernel_size);
  DG_ARG(ExpandingArray<D>, stride);
  DG_ARG(ExpandingArray<D>, padding) = 0;
  DG_ARG(ExpandingArray<D>, dilation) = 1;
  DG_ARG(bool, ceil_mode) = false;
};
using MaxPool1dOptions = MaxPoolOptions<1>;
using MaxPool2dOptions = MaxPoolOptions<2>;
using MaxPool3dOptions = MaxPoolOptions<3>;

template <size_t D>
struct AvgPoolOptions {
  AvgPoolOptions(ExpandingArray<D> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  DG_ARG(ExpandingArray<D>, kernel_size);
  DG_ARG(ExpandingArray<D>, stride);
  DG_ARG(ExpandingArray<D>, padding) = 0;
  DG_ARG(bool, ceil_mode) = false;
  DG_ARG(bool, count_include_pad) = true;
  DG_ARG(std::optional<int64_t>, divisor_override) = std::nullopt;
};
using AvgPool1dOptions = AvgPoolOptions<1>;
using AvgPool2dOptions = AvgPoolOptions<2>;
using AvgPool3dOptions = AvgPoolOptions<3>;

template <size_t D>
struct AdaptiveAvgPoolOptions {
  AdaptiveAvgPoolOptions(ExpandingArrayWithOptionalElem<D> output_size) : output_size_(output_size) {}  // NOLINT
  DG_ARG(ExpandingArrayWithOptionalElem<D>, output_size);
};
using AdaptiveAvgPool1dOptions = AdaptiveAvgPoolOptions<1>;
using AdaptiveAvgPool2dOptions = AdaptiveAvgPoolOptions<2>;
using AdaptiveAvgPool3dOptions = AdaptiveAvgPoolOptions<3>;
template <size_t D>
using AdaptiveMaxPoolOptions = AdaptiveAvgPoolOptions<D>;
using AdaptiveMaxPool1dOptions = AdaptiveMaxPoolOptions<1>;
using AdaptiveMaxPool2dOptions = AdaptiveMaxPoolOptions<2>;

// ---- normalization ------------------------------------------------------------
struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  DG_ARG(int64_t, num_features);
  DG_ARG(double, eps) = 1e-5;
  DG_ARG(std::optional<double>, momentum) = 0.1;
  DG_ARG(bool, affine) = true;
  DG_ARG(bool, track_running_stats) = true;
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;
using BatchNorm3dOptions = BatchNormOptions;

struct InstanceNormOptions {
  InstanceNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  DG_ARG(int64_t, num_features);
  DG_ARG(double, eps) = 1e-5;
  DG_ARG(double, momentum) = 0.1;
  DG_ARG(bool, affine) = false;
  DG_ARG(bool, track_running_stats) = false;
};
using InstanceNorm1dOptions = InstanceNormOptions;
using InstanceNorm2dOptions = InstanceNormOptions;
using InstanceNorm3dOptions = InstanceNormOptions;

struct LayerNormOptions {
  LayerNormOptions(std::vector<int64_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  DG_ARG(std::vector<int64_t>, normalized_shape);
  DG_ARG(double, eps) = 1e-5;
  DG_ARG(bool, elementwise_affine) = true;
};

struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
  DG_ARG(int64_t, num_groups);
  DG_ARG(int64_t, num_channels);
  DG_ARG(double, eps) = 1e-5;
  DG_ARG(bool, affine) = true;
};

struct LocalResponseNormOptions {
  LocalResponseNormOptions(int64_t size) : size_(size) {}  // NOLINT
  DG_ARG(int64_t, size);
  DG_ARG(double, alpha) = 1e-4;
  DG_ARG(double, beta) = 0.75;
  DG_ARG(double, k) = 1.;
};

// ---- dropout ---------------------------------------------------------------------
struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT
  DG_ARG(double, p);
  DG_ARG(bool, inplace) = false;
};
using Dropout2dOptions = DropoutOptions;
using Dropout3dOptions = DropoutOptions;
using AlphaDropoutOptions = DropoutOptions;
using FeatureAlphaDropoutOptions = DropoutOptions;

// ---- embedding ----------------------------------------------------------------------
struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  DG_ARG(int64_t, num_embeddings);
  DG_ARG(int64_t, embedding_dim);
  DG_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  DG_ARG(std::optional<double>, max_norm) = std::nullopt;
  DG_ARG(double, norm_type) = 2.;
  DG_ARG(bool, scale_grad_by_freq) = false;
  DG_ARG(bool, sparse) = false;
  DG_ARG(Tensor, _weight) = Tensor();
};

struct EmbeddingFromPretrainedOptions {
  DG_ARG(bool, freeze) = true;
  DG_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  DG_ARG(std::optional<double>, max_norm) = std::nullopt;
  DG_ARG(double, norm_type) = 2.;
  DG_ARG(bool, scale_grad_by_freq) = false;
  DG_ARG(bool, sparse) = false;
};

// ---- activations --------------------------------------------------------------------
struct ReLUOptions {
  ReLUOptions(bool inplace = false) : inplace_(inplace) {}  // NOLINT
  DG_ARG(bool, inplace);
};
using ReLU6Options = ReLUOptions;
using SELUOptions = ReLUOptions;

struct LeakyReLUOptions {
  DG_ARG(double, negative_slope) = 1e-2;
  DG_ARG(bool, inplace) = false;
};

struct ELUOptions {
  DG_ARG(double, alpha) = 1.0;
  DG_ARG(bool, inplace) = false;
};

struct CELUOptions {
  DG_ARG(double, alpha) = 1.0;
  DG_ARG(bool, inplace) = false;
};

struct GELUOptions {
  DG_ARG(std::string, approximate) = "none";
};

struct GLUOptions {
  GLUOptions(int64_t dim = -1) : dim_(dim) {}  // NOLINT
  DG_ARG(int64_t, dim);
};

struct HardtanhOptions {
  DG_ARG(double, min_val) = -1.0;
  DG_ARG(double, max_val) = 1.0;
  DG_ARG(bool, inplace) = false;
};

struct SoftplusOptions {
  DG_ARG(double, beta) = 1.0;
  DG_ARG(double, threshold) = 20.0;
};

struct SoftshrinkOptions {
  SoftshrinkOptions(double lambda = 0.5) : lambda_(lambda) {}  // NOLINT
  DG_ARG(double, lambda);
};
using HardshrinkOptions = SoftshrinkOptions;

struct ThresholdOptions {
  ThresholdOptions(double threshold, double value) : threshold_(threshold), value_(value) {}
  DG_ARG(double, threshold);
  DG_ARG(double, value);
  DG_ARG(bool, inplace) = false;
};

struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT
  DG_ARG(int64_t, dim);
};
using LogSoftmaxOptions = SoftmaxOptions;
using SoftminOptions = SoftmaxOptions;

struct PReLUOptions {
  DG_ARG(int64_t, num_parameters) = 1;
  DG_ARG(double, init) = 0.25;
};

// ---- losses ---------------------------------------------------------------------------
struct L1LossOptions {
  L1LossOptions(LossReduction reduction = enumtype::kMean{}) : reduction_(reduction) {}  // NOLINT
  template <typename Tag, typename = decltype(LossReduction(Tag{}))>
  L1LossOptions(Tag tag) : reduction_(tag) {}  // NOLINT: L1LossOptions(dg::kSum)
  DG_ARG(LossReduction, reduction);
};
using MSELossOptions = L1LossOptions;
using SoftMarginLossOptions = L1LossOptions;

struct SmoothL1LossOptions {
  SmoothL1LossOptions(LossReduction reduction = enumtype::kMean{}) : reduction_(reduction) {}  // NOLINT
  template <typename Tag, typename = decltype(LossReduction(Tag{}))>
  SmoothL1LossOptions(Tag tag) : reduction_(tag) {}  // NOLINT
  DG_ARG(LossReduction, reduction);
  DG_ARG(std::optional<double>, beta) = std::nullopt;
};

struct HuberLossOptions {
  HuberLossOptions(LossReduction reduction = enumtype::kMean{}) : reduction_(reduction) {}  // NOLINT
  template <typename Tag, typename = decltype(LossReduction(Tag{}))>
  HuberLossOptions(Tag tag) : reduction_(tag) {}  // NOLINT
  DG_ARG(LossReduction, reduction);
  DG_ARG(double, delta) = 1.0;
};

struct CrossEntropyLossOptions {
  DG_ARG(Tensor, weight) = {};
  DG_ARG(int64_t, ignore_index) = -100;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
  DG_ARG(double, label_smoothing) = 0.0;
};

struct NLLLossOptions {
  DG_ARG(Tensor, weight) = {};
  DG_ARG(int64_t, ignore_index) = -100;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct BCELossOptions {
  DG_ARG(Tensor, weight) = {};
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct BCEWithLogitsLossOptions {
  DG_ARG(Tensor, weight) = {};
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
  DG_ARG(Tensor, pos_weight) = {};
};

struct KLDivLossOptions {
  using reduction_t = std::variant<enumtype::kNone, enumtype::kBatchMean, enumtype::kSum, enumtype::kMean>;
  KLDivLossOptions(reduction_t reduction = enumtype::kMean{}) : reduction_(reduction) {}  // NOLINT
  template <typename Tag, typename = decltype(reduction_t(Tag{}))>
  KLDivLossOptions(Tag tag) : reduction_(tag) {}  // NOLINT
  DG_ARG(reduction_t, reduction);
  DG_ARG(bool, log_target) = false;
};

struct HingeEmbeddingLossOptions {
  DG_ARG(double, margin) = 1.0;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct MarginRankingLossOptions {
  DG_ARG(double, margin) = 0;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct CosineEmbeddingLossOptions {
  DG_ARG(double, margin) = 0.0;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct TripletMarginLossOptions {
  DG_ARG(double, margin) = 1.0;
  DG_ARG(double, p) = 2.0;
  DG_ARG(double, eps) = 1e-6;
  DG_ARG(bool, swap) = false;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct PoissonNLLLossOptions {
  DG_ARG(bool, log_input) = true;
  DG_ARG(bool, full) = false;
  DG_ARG(double, eps) = 1e-8;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct MultiMarginLossOptions {
  DG_ARG(int64_t, p) = 1;
  DG_ARG(double, margin) = 1.0;
  DG_ARG(Tensor, weight) = Tensor();
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct MultiLabelMarginLossOptions {
  MultiLabelMarginLossOptions(LossReduction reduction = enumtype::kMean{}) : reduction_(reduction) {}  // NOLINT
  template <typename Tag, typename = decltype(LossReduction(Tag{}))>
  MultiLabelMarginLossOptions(Tag tag) : reduction_(tag) {}  // NOLINT
  DG_ARG(LossReduction, reduction);
};

struct TripletMarginWithDistanceLossOptions {
  using distance_function_t = std::function<Tensor(const Tensor&, const Tensor&)>;
  DG_ARG(std::optional<distance_function_t>, distance_function) = std::nullopt;
  DG_ARG(double, margin) = 1.0;
  DG_ARG(bool, swap) = false;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

struct CTCLossOptions {
  DG_ARG(int64_t, blank) = 0;
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
  DG_ARG(bool, zero_infinity) = false;
};

struct MultiLabelSoftMarginLossOptions {
  DG_ARG(Tensor, weight) = {};
  DG_ARG(LossReduction, reduction) = enumtype::kMean{};
};

// ---- misc ------------------------------------------------------------------------------
struct CosineSimilarityOptions {
  DG_ARG(int64_t, dim) = 1;
  DG_ARG(double, eps) = 1e-8;
};

struct PairwiseDistanceOptions {
  DG_ARG(double, p) = 2.0;
  DG_ARG(double, eps) = 1e-6;
  DG_ARG(bool, keepdim) = false;
};

struct PixelShuffleOptions {
  PixelShuffleOptions(int64_t upscale_factor) : upscale_factor_(upscale_factor) {}  // NOLINT
  DG_ARG(int64_t, upscale_factor);
};

struct PixelUnshuffleOptions {
  PixelUnshuffleOptions(int64_t downscale_factor) : downscale_factor_(downscale_factor) {}  // NOLINT
  DG_ARG(int64_t, downscale_factor);
};

using upsample_mode_t =
    std::variant<enumtype::kNearest, enumtype::kLinear, enumtype::kBilinear, enumtype::kBicubic, enumtype::kTrilinear>;
struct UpsampleOptions {
  DG_ARG(std::optional<std::vector<int64_t>>, size) = std::nullopt;
  DG_ARG(std::optional<std::vector<double>>, scale_factor) = std::nullopt;
  DG_ARG(upsample_mode_t, mode) = enumtype::kNearest{};
  DG_ARG(std::optional<bool>, align_corners) = std::nullopt;
};

namespace functional {

using interpolate_mode_t = std::variant<enumtype::kNearest, enumtype::kLinear, enumtype::kBilinear, enumtype::kBicubic,
                                        enumtype::kTrilinear, enumtype::kArea, enumtype::kNearestExact>;
struct InterpolateFuncOptions {
  DG_ARG(std::optional<std::vector<int64_t>>, size) = std::nullopt;
  DG_ARG(std::optional<std::vector<double>>, scale_factor) = std::nullopt;
  DG_ARG(interpolate_mode_t, mode) = enumtype::kNearest{};
  DG_ARG(std::optional<bool>, align_corners) = std::nullopt;
  DG_ARG(std::optional<bool>, recompute_scale_factor) = std::nullopt;
  DG_ARG(bool, antialias) = false;
};

using pad_mode_t = std::variant<enumtype::kConstant, enumtype::kReflect, enumtype::kReplicate, enumtype::kCircular>;
struct PadFuncOptions {
  PadFuncOptions(std::vector<int64_t> pad) : pad_(std::move(pad)) {}  // NOLINT
  DG_ARG(std::vector<int64_t>, pad);
  DG_ARG(pad_mode_t, mode) = enumtype::kConstant{};
  DG_ARG(double, value) = 0;
};

template <size_t D>
struct ConvFuncOptions {
  using padding_t = std::variant<ExpandingArray<D>, enumtype::kValid, enumtype::kSame>;
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(ExpandingArray<D>, stride) = 1;
  DG_ARG(padding_t, padding) = ExpandingArray<D>(0);

 public:
  decltype(auto) padding(std::initializer_list<int64_t> il) { return padding(ExpandingArray<D>(il)); }
  decltype(auto) padding(int64_t p) { return padding(ExpandingArray<D>(p)); }
  DG_ARG(ExpandingArray<D>, dilation) = 1;
  DG_ARG(int64_t, groups) = 1;
};
using Conv1dFuncOptions = ConvFuncOptions<1>;
using Conv2dFuncOptions = ConvFuncOptions<2>;
using Conv3dFuncOptions = ConvFuncOptions<3>;

template <size_t D>
struct ConvTransposeFuncOptions {
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(ExpandingArray<D>, stride) = 1;
  DG_ARG(ExpandingArray<D>, padding) = 0;
  DG_ARG(ExpandingArray<D>, output_padding) = 0;
  DG_ARG(int64_t, groups) = 1;
  DG_ARG(ExpandingArray<D>, dilation) = 1;
};
using ConvTranspose1dFuncOptions = ConvTransposeFuncOptions<1>;
using ConvTranspose2dFuncOptions = ConvTransposeFuncOptions<2>;
using ConvTranspose3dFuncOptions = ConvTransposeFuncOptions<3>;

struct BatchNormFuncOptions {
  DG_ARG(Tensor, weight) = Tensor();
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(bool, training) = false;
  DG_ARG(std::optional<double>, momentum) = 0.1;
  DG_ARG(double, eps) = 1e-5;
};

struct InstanceNormFuncOptions {
  DG_ARG(Tensor, running_mean) = Tensor();
  DG_ARG(Tensor, running_var) = Tensor();
  DG_ARG(Tensor, weight) = Tensor();
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(bool, use_input_stats) = true;
  DG_ARG(double, momentum) = 0.1;
  DG_ARG(double, eps) = 1e-5;
};

struct LayerNormFuncOptions {
  LayerNormFuncOptions(std::vector<int64_t> normalized_shape)
      : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  DG_ARG(std::vector<int64_t>, normalized_shape);
  DG_ARG(Tensor, weight) = Tensor();
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(double, eps) = 1e-5;
};

struct GroupNormFuncOptions {
  GroupNormFuncOptions(int64_t num_groups) : num_groups_(num_groups) {}  // NOLINT
  DG_ARG(int64_t, num_groups);
  DG_ARG(Tensor, weight) = Tensor();
  DG_ARG(Tensor, bias) = Tensor();
  DG_ARG(double, eps) = 1e-5;
};

struct NormalizeFuncOptions {
  DG_ARG(double, p) = 2.0;
  DG_ARG(int64_t, dim) = 1;
  DG_ARG(double, eps) = 1e-12;
  DG_ARG(std::optional<Tensor>, out) = std::nullopt;
};

struct DropoutFuncOptions {
  DG_ARG(double, p) = 0.5;
  DG_ARG(bool, training) = true;
  DG_ARG(bool, inplace) = false;
};
using Dropout2dFuncOptions = DropoutFuncOptions;
using Dropout3dFuncOptions = DropoutFuncOptions;

struct AlphaDropoutFuncOptions {
  DG_ARG(double, p) = 0.5;
  DG_ARG(bool, training) = false;
  DG_ARG(bool, inplace) = false;
};
using FeatureAlphaDropoutFuncOptions = AlphaDropoutFuncOptions;

struct SoftmaxFuncOptions {
  SoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT
  DG_ARG(int64_t, dim);
  DG_ARG(std::optional<ScalarType>, dtype) = std::nullopt;
};
using LogSoftmaxFuncOptions = SoftmaxFuncOptions;
using SoftminFuncOptions = SoftmaxFuncOptions;

struct EmbeddingFuncOptions {
  DG_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  DG_ARG(std::optional<double>, max_norm) = std::nullopt;
  DG_ARG(double, norm_type) = 2.;
  DG_ARG(bool, scale_grad_by_freq) = false;
  DG_ARG(bool, sparse) = false;
};

struct GumbelSoftmaxFuncOptions {
  DG_ARG(double, tau) = 1.0;
  DG_ARG(bool, hard) = false;
  DG_ARG(int, dim) = -1;
};

struct LinearFuncOptions {};

template <size_t D>
using MaxPoolFuncOptions = MaxPoolOptions<D>;
using MaxPool1dFuncOptions = MaxPool1dOptions;
using MaxPool2dFuncOptions = MaxPool2dOptions;
using MaxPool3dFuncOptions = MaxPool3dOptions;
using AvgPool1dFuncOptions = AvgPool1dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
using AvgPool3dFuncOptions = AvgPool3dOptions;
using AdaptiveAvgPool1dFuncOptions = AdaptiveAvgPool1dOptions;
using AdaptiveAvgPool2dFuncOptions = AdaptiveAvgPool2dOptions;
using AdaptiveAvgPool3dFuncOptions = AdaptiveAvgPool3dOptions;
using AdaptiveMaxPool1dFuncOptions = AdaptiveMaxPool1dOptions;
using AdaptiveMaxPool2dFuncOptions = AdaptiveMaxPool2dOptions;
using ReLUFuncOptions = ReLUOptions;
using ReLU6FuncOptions = ReLU6Options;
using SELUFuncOptions = SELUOptions;
using LeakyReLUFuncOptions = LeakyReLUOptions;
using ELUFuncOptions = ELUOptions;
using CELUFuncOptions = CELUOptions;
using GELUFuncOptions = GELUOptions;
using GLUFuncOptions = GLUOptions;
using HardtanhFuncOptions = HardtanhOptions;
using SoftplusFuncOptions = SoftplusOptions;
using SoftshrinkFuncOptions = SoftshrinkOptions;
using HardshrinkFuncOptions = HardshrinkOptions;
using ThresholdFuncOptions = ThresholdOptions;
using L1LossFuncOptions = L1LossOptions;
using MSELossFuncOptions = MSELossOptions;
using SoftMarginLossFuncOptions = SoftMarginLossOptions;
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
using HuberLossFuncOptions = HuberLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using NLLLossFuncOptions = NLLLossOptions;
using BinaryCrossEntropyFuncOptions = BCELossOptions;
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;
using KLDivFuncOptions = KLDivLossOptions;
using HingeEmbeddingLossFuncOptions = HingeEmbeddingLossOptions;
using MarginRankingLossFuncOptions = MarginRankingLossOptions;
using CosineEmbeddingLossFuncOptions = CosineEmbeddingLossOptions;
using TripletMarginLossFuncOptions = TripletMarginLossOptions;
using PoissonNLLLossFuncOptions = PoissonNLLLossOptions;
using MultilabelSoftMarginLossFuncOptions = MultiLabelSoftMarginLossOptions;
using CTCLossFuncOptions = CTCLossOptions;
using MultiMarginLossFuncOptions = MultiMarginLossOptions;
using MultilabelMarginLossFuncOptions = MultiLabelMarginLossOptions;
using TripletMarginWithDistanceLossFuncOptions = TripletMarginWithDistanceLossOptions;
using CosineSimilarityFuncOptions = CosineSimilarityOptions;
using PairwiseDistanceFuncOptions = PairwiseDistanceOptions;
using PixelShuffleFuncOptions = PixelShuffleOptions;
using PixelUnshuffleFuncOptions = PixelUnshuffleOptions;
using LocalResponseNormFuncOptions = LocalResponseNormOptions;

}  // namespace functional
}  // namespace nn
}  // namespace dg
