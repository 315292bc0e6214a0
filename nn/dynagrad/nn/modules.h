// dg::nn's layers: LibTorch's module classes (LinearImpl + its holder
// Linear, ...), each a thin wrapper over dg::nn::functional with the
// parameters, buffers and default initialisation (reset_parameters()) of
// LibTorch 1.13.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "dynagrad/nn/functional.h"
#include "dynagrad/nn/init.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/nn/options.h"

namespace dg::nn {

// ---- linear ---------------------------------------------------------------
class IdentityImpl : public Cloneable<IdentityImpl> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& input) { return input; }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(Identity);

class LinearImpl : public Cloneable<LinearImpl> {
 public:
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);
  void reset() override;
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  LinearOptions options;
  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined without bias
};
DG_MODULE(Linear);

class BilinearImpl : public Cloneable<BilinearImpl> {
 public:
  BilinearImpl(int64_t in1, int64_t in2, int64_t out) : BilinearImpl(BilinearOptions(in1, in2, out)) {}
  explicit BilinearImpl(const BilinearOptions& options);
  void reset() override;
  void reset_parameters();
  Tensor forward(const Tensor& input1, const Tensor& input2);
  void pretty_print(std::ostream& stream) const override;

  BilinearOptions options;
  Tensor weight;  // [out, in1, in2]
  Tensor bias;
};
DG_MODULE(Bilinear);

class FlattenImpl : public Cloneable<FlattenImpl> {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {}) : options(options) {}
  void reset() override {}
  Tensor forward(const Tensor& input) { return input.flatten(options.start_dim(), options.end_dim()); }
  void pretty_print(std::ostream& stream) const override;
  FlattenOptions options;
};
DG_MODULE(Flatten);

class UnflattenImpl : public Cloneable<UnflattenImpl> {
 public:
  UnflattenImpl(int64_t dim, std::vector<int64_t> sizes) : UnflattenImpl(UnflattenOptions(dim, std::move(sizes))) {}
  explicit UnflattenImpl(const UnflattenOptions& options) : options(options) {}
  void reset() override {}
  Tensor forward(const Tensor& input) { return input.unflatten(options.dim(), options.sizes()); }
  void pretty_print(std::ostream& stream) const override;
  UnflattenOptions options;
};
DG_MODULE(Unflatten);

// ---- convolution --------------------------------------------------------------
template <size_t D, typename Derived>
class ConvNdImpl : public Cloneable<Derived> {
 public:
  explicit ConvNdImpl(ConvOptions<D> options) : options(std::move(options)) { init(); }
  void reset() override { init(); }
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  ConvOptions<D> options;
  Tensor weight;  // [out, in / groups, k...]
  Tensor bias;

 private:
  void init();
};

class Conv1dImpl : public ConvNdImpl<1, Conv1dImpl> {
 public:
  Conv1dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<1> kernel_size)
      : Conv1dImpl(Conv1dOptions(input_channels, output_channels, kernel_size)) {}
  explicit Conv1dImpl(Conv1dOptions options) : ConvNdImpl(std::move(options)) {}
};
DG_MODULE(Conv1d);
class Conv2dImpl : public ConvNdImpl<2, Conv2dImpl> {
 public:
  Conv2dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<2> kernel_size)
      : Conv2dImpl(Conv2dOptions(input_channels, output_channels, kernel_size)) {}
  explicit Conv2dImpl(Conv2dOptions options) : ConvNdImpl(std::move(options)) {}
};
DG_MODULE(Conv2d);
class Conv3dImpl : public ConvNdImpl<3, Conv3dImpl> {
 public:
  Conv3dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<3> kernel_size)
      : Conv3dImpl(Conv3dOptions(input_channels, output_channels, kernel_size)) {}
  explicit Conv3dImpl(Conv3dOptions options) : ConvNdImpl(std::move(options)) {}
};
DG_MODULE(Conv3d);

template <size_t D, typename Derived>
class ConvTransposeNdImpl : public Cloneable<Derived> {
 public:
  explicit ConvTransposeNdImpl(ConvTransposeOptions<D> options) : options(std::move(options)) { init(); }
  void reset() override { init(); }
  void reset_parameters();
  // output_size (the full [N, C, ...] or the spatial sizes) picks
  // output_padding, as LibTorch's forward(input, output_size).
  Tensor forward(const Tensor& input, const std::optional<std::vector<int64_t>>& output_size = std::nullopt);
  void pretty_print(std::ostream& stream) const override;

  ConvTransposeOptions<D> options;
  Tensor weight;  // [in, out / groups, k...]
  Tensor bias;

 private:
  void init();
};

class ConvTranspose1dImpl : public ConvTransposeNdImpl<1, ConvTranspose1dImpl> {
 public:
  ConvTranspose1dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<1> kernel_size)
      : ConvTranspose1dImpl(ConvTranspose1dOptions(input_channels, output_channels, kernel_size)) {}
  explicit ConvTranspose1dImpl(ConvTranspose1dOptions options) : ConvTransposeNdImpl(std::move(options)) {}
};
DG_MODULE(ConvTranspose1d);
class ConvTranspose2dImpl : public ConvTransposeNdImpl<2, ConvTranspose2dImpl> {
 public:
  ConvTranspose2dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<2> kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(input_channels, output_channels, kernel_size)) {}
  explicit ConvTranspose2dImpl(ConvTranspose2dOptions options) : ConvTransposeNdImpl(std::move(options)) {}
};
DG_MODULE(ConvTranspose2d);
class ConvTranspose3dImpl : public ConvTransposeNdImpl<3, ConvTranspose3dImpl> {
 public:
  ConvTranspose3dImpl(int64_t input_channels, int64_t output_channels, ExpandingArray<3> kernel_size)
      : ConvTranspose3dImpl(ConvTranspose3dOptions(input_channels, output_channels, kernel_size)) {}
  explicit ConvTranspose3dImpl(ConvTranspose3dOptions options) : ConvTransposeNdImpl(std::move(options)) {}
};
DG_MODULE(ConvTranspose3d);

// ---- pooling -----------------------------------------------------------------------
// A module that keeps its options and applies one functional.
template <typename Derived, typename Options>
class OptionsModule : public Cloneable<Derived> {
 public:
  explicit OptionsModule(Options options) : options(std::move(options)) {}
  void reset() override {}
  Options options;
};

#define DG_POOL_MODULE(Name, Opts, fn, D)                                           \
  class Name##Impl : public OptionsModule<Name##Impl, Opts> {                       \
   public:                                                                          \
    Name##Impl(ExpandingArray<D> kernel_size) : OptionsModule(Opts(kernel_size)) {} \
    explicit Name##Impl(const Opts& options) : OptionsModule(options) {}            \
    Tensor forward(const Tensor& input) { return functional::fn(input, options); }  \
    void pretty_print(std::ostream& stream) const override;                         \
  };                                                                                \
  DG_MODULE(Name)

DG_POOL_MODULE(MaxPool1d, MaxPool1dOptions, max_pool1d, 1);
DG_POOL_MODULE(MaxPool2d, MaxPool2dOptions, max_pool2d, 2);
DG_POOL_MODULE(MaxPool3d, MaxPool3dOptions, max_pool3d, 3);
DG_POOL_MODULE(AvgPool1d, AvgPool1dOptions, avg_pool1d, 1);
DG_POOL_MODULE(AvgPool2d, AvgPool2dOptions, avg_pool2d, 2);
DG_POOL_MODULE(AvgPool3d, AvgPool3dOptions, avg_pool3d, 3);
#undef DG_POOL_MODULE

#define DG_ADAPTIVE_POOL_MODULE(Name, Opts, fn, D)                                                  \
  class Name##Impl : public OptionsModule<Name##Impl, Opts> {                                       \
   public:                                                                                          \
    Name##Impl(ExpandingArrayWithOptionalElem<D> output_size) : OptionsModule(Opts(output_size)) {} \
    explicit Name##Impl(const Opts& options) : OptionsModule(options) {}                            \
    Tensor forward(const Tensor& input) { return functional::fn(input, options); }                  \
    void pretty_print(std::ostream& stream) const override;                                         \
  };                                                                                                \
  DG_MODULE(Name)

DG_ADAPTIVE_POOL_MODULE(AdaptiveAvgPool1d, AdaptiveAvgPool1dOptions, adaptive_avg_pool1d, 1);
DG_ADAPTIVE_POOL_MODULE(AdaptiveAvgPool2d, AdaptiveAvgPool2dOptions, adaptive_avg_pool2d, 2);
DG_ADAPTIVE_POOL_MODULE(AdaptiveAvgPool3d, AdaptiveAvgPool3dOptions, adaptive_avg_pool3d, 3);
DG_ADAPTIVE_POOL_MODULE(AdaptiveMaxPool1d, AdaptiveMaxPool1dOptions, adaptive_max_pool1d, 1);
DG_ADAPTIVE_POOL_MODULE(AdaptiveMaxPool2d, AdaptiveMaxPool2dOptions, adaptive_max_pool2d, 2);
#undef DG_ADAPTIVE_POOL_MODULE

// ---- normalization ----------------------------------------------------------------------
// BatchNorm1d/2d/3d and InstanceNorm1d/2d/3d: weight/bias (affine),
// running_mean/running_var/num_batches_tracked (track_running_stats).
template <size_t D, typename Derived, typename Options>
class NormImplBase : public Cloneable<Derived> {
 public:
  explicit NormImplBase(const Options& options) : options(options) { init(); }
  void reset() override { init(); }
  void reset_running_stats();
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  Options options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 protected:
  virtual void check_input_dim(const Tensor& input) const = 0;

 private:
  void init();
};

template <size_t D, typename Derived>
class BatchNormImplBase : public NormImplBase<D, Derived, BatchNormOptions> {
 public:
  using NormImplBase<D, Derived, BatchNormOptions>::NormImplBase;
  Tensor forward(const Tensor& input);

 protected:
  void check_input_dim(const Tensor& input) const override;
};

class BatchNorm1dImpl : public BatchNormImplBase<1, BatchNorm1dImpl> {
 public:
  using BatchNormImplBase::BatchNormImplBase;
  BatchNorm1dImpl(int64_t num_features) : BatchNormImplBase(BatchNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(BatchNorm1d);
class BatchNorm2dImpl : public BatchNormImplBase<2, BatchNorm2dImpl> {
 public:
  using BatchNormImplBase::BatchNormImplBase;
  BatchNorm2dImpl(int64_t num_features) : BatchNormImplBase(BatchNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(BatchNorm2d);
class BatchNorm3dImpl : public BatchNormImplBase<3, BatchNorm3dImpl> {
 public:
  using BatchNormImplBase::BatchNormImplBase;
  BatchNorm3dImpl(int64_t num_features) : BatchNormImplBase(BatchNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(BatchNorm3d);

template <size_t D, typename Derived>
class InstanceNormImpl : public NormImplBase<D, Derived, InstanceNormOptions> {
 public:
  using NormImplBase<D, Derived, InstanceNormOptions>::NormImplBase;
  Tensor forward(const Tensor& input);

 protected:
  void check_input_dim(const Tensor& input) const override;
};

class InstanceNorm1dImpl : public InstanceNormImpl<1, InstanceNorm1dImpl> {
 public:
  using InstanceNormImpl::InstanceNormImpl;
  InstanceNorm1dImpl(int64_t num_features) : InstanceNormImpl(InstanceNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(InstanceNorm1d);
class InstanceNorm2dImpl : public InstanceNormImpl<2, InstanceNorm2dImpl> {
 public:
  using InstanceNormImpl::InstanceNormImpl;
  InstanceNorm2dImpl(int64_t num_features) : InstanceNormImpl(InstanceNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(InstanceNorm2d);
class InstanceNorm3dImpl : public InstanceNormImpl<3, InstanceNorm3dImpl> {
 public:
  using InstanceNormImpl::InstanceNormImpl;
  InstanceNorm3dImpl(int64_t num_features) : InstanceNormImpl(InstanceNormOptions(num_features)) {}  // NOLINT
};
DG_MODULE(InstanceNorm3d);

class LayerNormImpl : public Cloneable<LayerNormImpl> {
 public:
  LayerNormImpl(std::vector<int64_t> normalized_shape)
      : LayerNormImpl(LayerNormOptions(std::move(normalized_shape))) {}  // NOLINT
  explicit LayerNormImpl(LayerNormOptions options);
  void reset() override;
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& stream) const override;
  LayerNormOptions options;
  Tensor weight, bias;
};
DG_MODULE(LayerNorm);

class GroupNormImpl : public Cloneable<GroupNormImpl> {
 public:
  GroupNormImpl(int64_t num_groups, int64_t num_channels) : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  explicit GroupNormImpl(const GroupNormOptions& options);
  void reset() override;
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& stream) const override;
  GroupNormOptions options;
  Tensor weight, bias;
};
DG_MODULE(GroupNorm);

class LocalResponseNormImpl : public OptionsModule<LocalResponseNormImpl, LocalResponseNormOptions> {
 public:
  LocalResponseNormImpl(int64_t size) : OptionsModule(LocalResponseNormOptions(size)) {}  // NOLINT
  explicit LocalResponseNormImpl(const LocalResponseNormOptions& options) : OptionsModule(options) {}
  Tensor forward(const Tensor& input) { return functional::local_response_norm(input, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(LocalResponseNorm);

// ---- dropout ---------------------------------------------------------------------------
#define DG_DROPOUT_MODULE(Name, fn, FuncOpts)                                                                     \
  class Name##Impl : public OptionsModule<Name##Impl, DropoutOptions> {                                           \
   public:                                                                                                        \
    explicit Name##Impl(double p) : Name##Impl(DropoutOptions(p)) {}                                              \
    explicit Name##Impl(const DropoutOptions& options = {}) : OptionsModule(options) { check(); }                 \
    Tensor forward(Tensor input) {                                                                                \
      return functional::fn(                                                                                      \
          input, functional::FuncOpts().p(options.p()).inplace(options.inplace()).training(this->is_training())); \
    }                                                                                                             \
    void pretty_print(std::ostream& stream) const override;                                                       \
                                                                                                                  \
   private:                                                                                                       \
    void check() const {                                                                                          \
      DG_CHECK(options.p() >= 0. && options.p() <= 1.,                                                            \
               #Name                                                                                              \
               ": dropout probability has to be between 0 and 1, "                                                \
               "but got ",                                                                                        \
               options.p());                                                                                      \
    }                                                                                                             \
  };                                                                                                              \
  DG_MODULE(Name)

DG_DROPOUT_MODULE(Dropout, dropout, DropoutFuncOptions);
DG_DROPOUT_MODULE(Dropout2d, dropout2d, Dropout2dFuncOptions);
DG_DROPOUT_MODULE(Dropout3d, dropout3d, Dropout3dFuncOptions);
DG_DROPOUT_MODULE(AlphaDropout, alpha_dropout, AlphaDropoutFuncOptions);
DG_DROPOUT_MODULE(FeatureAlphaDropout, feature_alpha_dropout, FeatureAlphaDropoutFuncOptions);
#undef DG_DROPOUT_MODULE

// ---- embedding -------------------------------------------------------------------------------
class EmbeddingImpl : public Cloneable<EmbeddingImpl> {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingImpl(EmbeddingOptions options);
  void reset() override;
  // A copy with its own weight (never the tensor given as _weight).
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;
  void reset_parameters();
  Tensor forward(const Tensor& indices);
  void pretty_print(std::ostream& stream) const override;
  EmbeddingOptions options;
  Tensor weight;
};

class Embedding : public ModuleHolder<EmbeddingImpl> {
 public:
  using ModuleHolder<EmbeddingImpl>::ModuleHolder;
  using Impl = EmbeddingImpl;
  // An Embedding holding `embeddings` (2-D); freeze (default) keeps it fixed.
  static Embedding from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options = {});
};

// ---- activations -----------------------------------------------------------------------------
#define DG_ACTIVATION_MODULE(Name, expr)                    \
  class Name##Impl : public Cloneable<Name##Impl> {         \
   public:                                                  \
    void reset() override {}                                \
    Tensor forward(const Tensor& input) { return expr; }    \
    void pretty_print(std::ostream& stream) const override; \
  };                                                        \
  DG_MODULE(Name)

DG_ACTIVATION_MODULE(SiLU, functional::silu(input));
DG_ACTIVATION_MODULE(Mish, functional::mish(input));
DG_ACTIVATION_MODULE(Sigmoid, dg::sigmoid(input));
DG_ACTIVATION_MODULE(Tanh, dg::tanh(input));
DG_ACTIVATION_MODULE(Tanhshrink, functional::tanhshrink(input));
DG_ACTIVATION_MODULE(Softsign, functional::softsign(input));
DG_ACTIVATION_MODULE(LogSigmoid, functional::logsigmoid(input));
DG_ACTIVATION_MODULE(Hardswish, functional::hardswish(input));
DG_ACTIVATION_MODULE(Hardsigmoid, functional::hardsigmoid(input));
#undef DG_ACTIVATION_MODULE

#define DG_OPTIONS_ACTIVATION_MODULE(Name, Opts, expr)                        \
  class Name##Impl : public OptionsModule<Name##Impl, Opts> {                 \
   public:                                                                    \
    explicit Name##Impl(const Opts& options = {}) : OptionsModule(options) {} \
    Tensor forward(Tensor input) { return expr; }                             \
    void pretty_print(std::ostream& stream) const override;                   \
  };                                                                          \
  DG_MODULE(Name)

DG_OPTIONS_ACTIVATION_MODULE(ReLU, ReLUOptions, functional::relu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(ReLU6, ReLU6Options, functional::relu6(input, options));
DG_OPTIONS_ACTIVATION_MODULE(SELU, SELUOptions, functional::selu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(LeakyReLU, LeakyReLUOptions, functional::leaky_relu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(ELU, ELUOptions, functional::elu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(CELU, CELUOptions, functional::celu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(GELU, GELUOptions, functional::gelu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(GLU, GLUOptions, functional::glu(input, options));
DG_OPTIONS_ACTIVATION_MODULE(Hardtanh, HardtanhOptions, functional::hardtanh(input, options));
DG_OPTIONS_ACTIVATION_MODULE(Softplus, SoftplusOptions, functional::softplus(input, options));
DG_OPTIONS_ACTIVATION_MODULE(Softshrink, SoftshrinkOptions, functional::softshrink(input, options));
DG_OPTIONS_ACTIVATION_MODULE(Hardshrink, HardshrinkOptions, functional::hardshrink(input, options));
#undef DG_OPTIONS_ACTIVATION_MODULE

class ThresholdImpl : public OptionsModule<ThresholdImpl, ThresholdOptions> {
 public:
  ThresholdImpl(double threshold, double value) : OptionsModule(ThresholdOptions(threshold, value)) {}
  explicit ThresholdImpl(const ThresholdOptions& options) : OptionsModule(options) {}
  Tensor forward(Tensor input) { return functional::threshold(input, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(Threshold);

#define DG_DIM_ACTIVATION_MODULE(Name, fn)                                               \
  class Name##Impl : public OptionsModule<Name##Impl, SoftmaxOptions> {                  \
   public:                                                                               \
    explicit Name##Impl(int64_t dim) : OptionsModule(SoftmaxOptions(dim)) {}             \
    explicit Name##Impl(const SoftmaxOptions& options) : OptionsModule(options) {}       \
    Tensor forward(const Tensor& input) { return functional::fn(input, options.dim()); } \
    void pretty_print(std::ostream& stream) const override;                              \
  };                                                                                     \
  DG_MODULE(Name)

DG_DIM_ACTIVATION_MODULE(Softmax, softmax);
DG_DIM_ACTIVATION_MODULE(LogSoftmax, log_softmax);
DG_DIM_ACTIVATION_MODULE(Softmin, softmin);
#undef DG_DIM_ACTIVATION_MODULE

class PReLUImpl : public Cloneable<PReLUImpl> {
 public:
  explicit PReLUImpl(const PReLUOptions& options = {});
  void reset() override;
  Tensor forward(const Tensor& input) { return functional::prelu(input, weight); }
  void pretty_print(std::ostream& stream) const override;
  PReLUOptions options;
  Tensor weight;
};
DG_MODULE(PReLU);

// ---- losses ------------------------------------------------------------------------------------
#define DG_LOSS_MODULE(Name, Opts, fn)                                                                           \
  class Name##Impl : public OptionsModule<Name##Impl, Opts> {                                                    \
   public:                                                                                                       \
    explicit Name##Impl(const Opts& options = {}) : OptionsModule(options) {}                                    \
    Tensor forward(const Tensor& input, const Tensor& target) { return functional::fn(input, target, options); } \
    void pretty_print(std::ostream& stream) const override;                                                      \
  };                                                                                                             \
  DG_MODULE(Name)

DG_LOSS_MODULE(L1Loss, L1LossOptions, l1_loss);
DG_LOSS_MODULE(MSELoss, MSELossOptions, mse_loss);
DG_LOSS_MODULE(SmoothL1Loss, SmoothL1LossOptions, smooth_l1_loss);
DG_LOSS_MODULE(HuberLoss, HuberLossOptions, huber_loss);
DG_LOSS_MODULE(CrossEntropyLoss, CrossEntropyLossOptions, cross_entropy);
DG_LOSS_MODULE(NLLLoss, NLLLossOptions, nll_loss);
DG_LOSS_MODULE(BCELoss, BCELossOptions, binary_cross_entropy);
DG_LOSS_MODULE(BCEWithLogitsLoss, BCEWithLogitsLossOptions, binary_cross_entropy_with_logits);
DG_LOSS_MODULE(KLDivLoss, KLDivLossOptions, kl_div);
DG_LOSS_MODULE(HingeEmbeddingLoss, HingeEmbeddingLossOptions, hinge_embedding_loss);
DG_LOSS_MODULE(SoftMarginLoss, SoftMarginLossOptions, soft_margin_loss);
DG_LOSS_MODULE(PoissonNLLLoss, PoissonNLLLossOptions, poisson_nll_loss);
DG_LOSS_MODULE(MultiLabelSoftMarginLoss, MultiLabelSoftMarginLossOptions, multilabel_soft_margin_loss);
DG_LOSS_MODULE(MultiMarginLoss, MultiMarginLossOptions, multi_margin_loss);
DG_LOSS_MODULE(MultiLabelMarginLoss, MultiLabelMarginLossOptions, multilabel_margin_loss);
#undef DG_LOSS_MODULE

#define DG_LOSS3_MODULE(Name, Opts, fn)                                                                            \
  class Name##Impl : public OptionsModule<Name##Impl, Opts> {                                                      \
   public:                                                                                                         \
    explicit Name##Impl(const Opts& options = {}) : OptionsModule(options) {}                                      \
    Tensor forward(const Tensor& a, const Tensor& b, const Tensor& c) { return functional::fn(a, b, c, options); } \
    void pretty_print(std::ostream& stream) const override;                                                        \
  };                                                                                                               \
  DG_MODULE(Name)

DG_LOSS3_MODULE(MarginRankingLoss, MarginRankingLossOptions, margin_ranking_loss);
DG_LOSS3_MODULE(CosineEmbeddingLoss, CosineEmbeddingLossOptions, cosine_embedding_loss);
DG_LOSS3_MODULE(TripletMarginLoss, TripletMarginLossOptions, triplet_margin_loss);
DG_LOSS3_MODULE(TripletMarginWithDistanceLoss, TripletMarginWithDistanceLossOptions, triplet_margin_with_distance_loss);
#undef DG_LOSS3_MODULE

class CTCLossImpl : public OptionsModule<CTCLossImpl, CTCLossOptions> {
 public:
  explicit CTCLossImpl(const CTCLossOptions& options = {}) : OptionsModule(options) {}
  Tensor forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                 const Tensor& target_lengths) {
    return functional::ctc_loss(log_probs, targets, input_lengths, target_lengths, options);
  }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(CTCLoss);

// ---- distances and shapes -------------------------------------------------------------------------
class CosineSimilarityImpl : public OptionsModule<CosineSimilarityImpl, CosineSimilarityOptions> {
 public:
  explicit CosineSimilarityImpl(const CosineSimilarityOptions& options = {}) : OptionsModule(options) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return functional::cosine_similarity(x1, x2, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(CosineSimilarity);

class PairwiseDistanceImpl : public OptionsModule<PairwiseDistanceImpl, PairwiseDistanceOptions> {
 public:
  explicit PairwiseDistanceImpl(const PairwiseDistanceOptions& options = {}) : OptionsModule(options) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return functional::pairwise_distance(x1, x2, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(PairwiseDistance);

class PixelShuffleImpl : public OptionsModule<PixelShuffleImpl, PixelShuffleOptions> {
 public:
  explicit PixelShuffleImpl(const PixelShuffleOptions& options) : OptionsModule(options) {}
  Tensor forward(const Tensor& input) { return functional::pixel_shuffle(input, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(PixelShuffle);

class PixelUnshuffleImpl : public OptionsModule<PixelUnshuffleImpl, PixelUnshuffleOptions> {
 public:
  explicit PixelUnshuffleImpl(const PixelUnshuffleOptions& options) : OptionsModule(options) {}
  Tensor forward(const Tensor& input) { return functional::pixel_unshuffle(input, options); }
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(PixelUnshuffle);

class UpsampleImpl : public OptionsModule<UpsampleImpl, UpsampleOptions> {
 public:
  explicit UpsampleImpl(const UpsampleOptions& options = {}) : OptionsModule(options) {}
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& stream) const override;
};
DG_MODULE(Upsample);

}  // namespace dg::nn
