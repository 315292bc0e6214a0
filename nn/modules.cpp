// dg::nn's layers (dynagrad/nn/modules.h): construction, LibTorch's default
// initialisation, forward and printing.
#include <cmath>
#include <ostream>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/nn/modules.h"

namespace dg::nn {
namespace {

std::ostream& print_list(std::ostream& s, IntArrayRef v) {
  s << '[';
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  return s << ']';
}

const char* boolstr(bool b) { return b ? "true" : "false"; }

// LibTorch's default for Linear, Conv and friends: weight kaiming-uniform
// with a = sqrt(5), bias uniform in +-1/sqrt(fan_in).
void reset_weight_and_bias(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    auto [fan_in, fan_out] = init::_calculate_fan_in_and_fan_out(weight);
    (void)fan_out;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

// ---- linear ------------------------------------------------------------------------

void IdentityImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::Identity()"; }

LinearImpl::LinearImpl(const LinearOptions& options_) : options(options_) { reset(); }

void LinearImpl::reset() {
  DG_CHECK(options.in_features() >= 0 && options.out_features() >= 0,
           "Linear: expected non-negative in_features and out_features, got ", options.in_features(), " and ",
           options.out_features());
  weight = register_parameter("weight", dg::empty({options.out_features(), options.in_features()}));
  bias = register_parameter("bias", options.bias() ? dg::empty({options.out_features()}) : Tensor(),
                            /*requires_grad=*/options.bias());
  reset_parameters();
}

void LinearImpl::reset_parameters() { reset_weight_and_bias(weight, bias); }

Tensor LinearImpl::forward(const Tensor& input) { return functional::linear(input, weight, bias); }

void LinearImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Linear(in_features=" << options.in_features() << ", out_features=" << options.out_features()
         << ", bias=" << boolstr(options.bias()) << ")";
}

BilinearImpl::BilinearImpl(const BilinearOptions& options_) : options(options_) { reset(); }

void BilinearImpl::reset() {
  weight =
      register_parameter("weight", dg::empty({options.out_features(), options.in1_features(), options.in2_features()}));
  bias = register_parameter("bias", options.bias() ? dg::empty({options.out_features()}) : Tensor(), options.bias());
  reset_parameters();
}

void BilinearImpl::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(weight.size(1)));
  init::uniform_(weight, -bound, bound);
  if (bias.defined()) init::uniform_(bias, -bound, bound);
}

Tensor BilinearImpl::forward(const Tensor& input1, const Tensor& input2) {
  return functional::bilinear(input1, input2, weight, bias);
}

void BilinearImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Bilinear(in1_features=" << options.in1_features() << ", in2_features=" << options.in2_features()
         << ", out_features=" << options.out_features() << ", bias=" << boolstr(options.bias()) << ")";
}

void FlattenImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Flatten(start_dim=" << options.start_dim() << ", end_dim=" << options.end_dim() << ")";
}

void UnflattenImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Unflatten(dim=" << options.dim() << ", unflattened_size=";
  print_list(stream, options.sizes()) << ")";
}

// ---- convolution --------------------------------------------------------------------

template <size_t D, typename Derived>
void ConvNdImpl<D, Derived>::init() {
  const auto& o = options;
  DG_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.groups() > 0, "Conv", D,
           "d: in_channels, out_channels and groups must be positive, got ", o.in_channels(), ", ", o.out_channels(),
           ", ", o.groups());
  DG_CHECK(o.in_channels() % o.groups() == 0, "Conv", D, "d: in_channels must be divisible by groups (",
           o.in_channels(), " % ", o.groups(), ")");
  DG_CHECK(o.out_channels() % o.groups() == 0, "Conv", D, "d: out_channels must be divisible by groups (",
           o.out_channels(), " % ", o.groups(), ")");
  std::vector<int64_t> shape = {o.out_channels(), o.in_channels() / o.groups()};
  for (size_t i = 0; i < D; ++i) shape.push_back(o.kernel_size()[i]);
  weight = this->register_parameter("weight", dg::empty(shape));
  bias = this->register_parameter("bias", o.bias() ? dg::empty({o.out_channels()}) : Tensor(), o.bias());
  reset_parameters();
}

template <size_t D, typename Derived>
void ConvNdImpl<D, Derived>::reset_parameters() {
  reset_weight_and_bias(weight, bias);
}

template <size_t D, typename Derived>
Tensor ConvNdImpl<D, Derived>::forward(const Tensor& input) {
  functional::ConvFuncOptions<D> f;
  f.bias(bias).stride(options.stride()).dilation(options.dilation()).groups(options.groups());
  if (!std::holds_alternative<enumtype::kZeros>(options.padding_mode())) {
    // Non-zero padding modes pad first, then convolve without padding.
    const auto* explicit_padding = std::get_if<ExpandingArray<D>>(&options.padding());
    DG_CHECK(explicit_padding != nullptr, "Conv", D, "d: padding_mode other than zeros needs explicit padding");
    std::vector<int64_t> pad;
    for (size_t i = D; i-- > 0;) {
      pad.push_back((*explicit_padding)[i]);
      pad.push_back((*explicit_padding)[i]);
    }
    functional::PadFuncOptions p(pad);
    if (std::holds_alternative<enumtype::kReflect>(options.padding_mode())) p.mode(enumtype::kReflect{});
    if (std::holds_alternative<enumtype::kReplicate>(options.padding_mode())) p.mode(enumtype::kReplicate{});
    if (std::holds_alternative<enumtype::kCircular>(options.padding_mode())) p.mode(enumtype::kCircular{});
    return functional::detail::convnd<D>(functional::pad(input, p), weight, f.padding(0), "conv");
  }
  f.padding(options.padding());
  const char* names[] = {"", "conv1d", "conv2d", "conv3d"};
  return functional::detail::convnd<D>(input, weight, f, names[D]);
}

template <size_t D, typename Derived>
void ConvNdImpl<D, Derived>::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "dg::nn::Conv" << D << "d(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=";
  print_list(stream, *o.kernel_size()) << ", stride=";
  print_list(stream, *o.stride());
  if (const auto* p = std::get_if<ExpandingArray<D>>(&o.padding())) {
    bool nonzero = false;
    for (size_t i = 0; i < D; ++i) nonzero = nonzero || (*p)[i] != 0;
    if (nonzero) print_list(stream << ", padding=", **p);
  } else {
    stream << ", padding=" << (std::holds_alternative<enumtype::kSame>(o.padding()) ? "'same'" : "'valid'");
  }
  bool dilated = false;
  for (size_t i = 0; i < D; ++i) dilated = dilated || o.dilation()[i] != 1;
  if (dilated) print_list(stream << ", dilation=", *o.dilation());
  if (o.groups() != 1) stream << ", groups=" << o.groups();
  if (!o.bias()) stream << ", bias=false";
  if (!std::holds_alternative<enumtype::kZeros>(o.padding_mode()))
    stream << ", padding_mode=" << get_enum_name(o.padding_mode());
  stream << ")";
}

template class ConvNdImpl<1, Conv1dImpl>;
template class ConvNdImpl<2, Conv2dImpl>;
template class ConvNdImpl<3, Conv3dImpl>;

template <size_t D, typename Derived>
void ConvTransposeNdImpl<D, Derived>::init() {
  const auto& o = options;
  DG_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.groups() > 0, "ConvTranspose", D,
           "d: in_channels, out_channels and groups must be positive");
  DG_CHECK(o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0, "ConvTranspose", D,
           "d: in_channels and out_channels must be divisible by groups (", o.groups(), ")");
  DG_CHECK(std::holds_alternative<enumtype::kZeros>(o.padding_mode()), "ConvTranspose", D,
           "d: only \"zeros\" padding mode is supported");
  std::vector<int64_t> shape = {o.in_channels(), o.out_channels() / o.groups()};
  for (size_t i = 0; i < D; ++i) shape.push_back(o.kernel_size()[i]);
  weight = this->register_parameter("weight", dg::empty(shape));
  bias = this->register_parameter("bias", o.bias() ? dg::empty({o.out_channels()}) : Tensor(), o.bias());
  reset_parameters();
}

template <size_t D, typename Derived>
void ConvTransposeNdImpl<D, Derived>::reset_parameters() {
  reset_weight_and_bias(weight, bias);
}

template <size_t D, typename Derived>
Tensor ConvTransposeNdImpl<D, Derived>::forward(const Tensor& input,
                                                const std::optional<std::vector<int64_t>>& output_size) {
  const auto& o = options;
  std::vector<int64_t> output_padding = o.output_padding().vec();
  if (output_size) {
    // The output_padding that makes the output this size (LibTorch's _output_padding).
    std::vector<int64_t> size = *output_size;
    if (size.size() == D + 2) size.erase(size.begin(), size.begin() + 2);
    DG_CHECK(size.size() == D, "ConvTranspose", D, "d: output_size must have ", D, " or ", D + 2, " elements, got ",
             output_size->size());
    for (size_t i = 0; i < D; ++i) {
      const int64_t in = input.size(input.dim() - static_cast<int64_t>(D) + static_cast<int64_t>(i));
      const int64_t min_size =
          (in - 1) * o.stride()[i] - 2 * o.padding()[i] + o.dilation()[i] * (o.kernel_size()[i] - 1) + 1;
      DG_CHECK(size[i] >= min_size && size[i] < min_size + o.stride()[i], "ConvTranspose", D,
               "d: requested an output size of ", size[i], ", but valid sizes range from ", min_size, " to ",
               min_size + o.stride()[i] - 1, " (for an input of ", in, ")");
      output_padding[i] = size[i] - min_size;
    }
  }
  return dg::convolution(input, weight, functional::detail::opt(bias), o.stride(), o.padding(), o.dilation(), true,
                         output_padding, o.groups());
}

template <size_t D, typename Derived>
void ConvTransposeNdImpl<D, Derived>::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "dg::nn::ConvTranspose" << D << "d(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=";
  print_list(stream, *o.kernel_size()) << ", stride=";
  print_list(stream, *o.stride());
  print_list(stream << ", padding=", *o.padding());
  print_list(stream << ", output_padding=", *o.output_padding());
  if (o.groups() != 1) stream << ", groups=" << o.groups();
  if (!o.bias()) stream << ", bias=false";
  stream << ")";
}

template class ConvTransposeNdImpl<1, ConvTranspose1dImpl>;
template class ConvTransposeNdImpl<2, ConvTranspose2dImpl>;
template class ConvTransposeNdImpl<3, ConvTranspose3dImpl>;

// ---- pooling ---------------------------------------------------------------------------

#define DG_POOL_PRINT(Name, extra)                             \
  void Name##Impl::pretty_print(std::ostream& stream) const {  \
    stream << "dg::nn::" #Name "(kernel_size=";                \
    print_list(stream, *options.kernel_size()) << ", stride="; \
    print_list(stream, *options.stride()) << ", padding=";     \
    print_list(stream, *options.padding());                    \
    extra;                                                     \
    stream << ")";                                             \
  }
#define DG_MAXPOOL_EXTRA                                    \
  print_list(stream << ", dilation=", *options.dilation()); \
  stream << ", ceil_mode=" << boolstr(options.ceil_mode())
#define DG_AVGPOOL_EXTRA stream << ", ceil_mode=" << boolstr(options.ceil_mode())
DG_POOL_PRINT(MaxPool1d, DG_MAXPOOL_EXTRA)
DG_POOL_PRINT(MaxPool2d, DG_MAXPOOL_EXTRA)
DG_POOL_PRINT(MaxPool3d, DG_MAXPOOL_EXTRA)
DG_POOL_PRINT(AvgPool1d, DG_AVGPOOL_EXTRA)
DG_POOL_PRINT(AvgPool2d, DG_AVGPOOL_EXTRA)
DG_POOL_PRINT(AvgPool3d, DG_AVGPOOL_EXTRA)
#undef DG_POOL_PRINT
#undef DG_MAXPOOL_EXTRA
#undef DG_AVGPOOL_EXTRA

#define DG_ADAPTIVE_PRINT(Name)                                 \
  void Name##Impl::pretty_print(std::ostream& stream) const {   \
    stream << "dg::nn::" #Name "(output_size=[";                \
    for (size_t i = 0; i < options.output_size().size(); ++i) { \
      const auto& v = options.output_size()[i];                 \
      stream << (i ? ", " : "");                                \
      if (v) stream << *v;                                      \
      else stream << "None";                                    \
    }                                                           \
    stream << "])";                                             \
  }
DG_ADAPTIVE_PRINT(AdaptiveAvgPool1d)
DG_ADAPTIVE_PRINT(AdaptiveAvgPool2d)
DG_ADAPTIVE_PRINT(AdaptiveAvgPool3d)
DG_ADAPTIVE_PRINT(AdaptiveMaxPool1d)
DG_ADAPTIVE_PRINT(AdaptiveMaxPool2d)
#undef DG_ADAPTIVE_PRINT

// ---- normalization --------------------------------------------------------------------------

template <size_t D, typename Derived, typename Options>
void NormImplBase<D, Derived, Options>::init() {
  const auto& o = options;
  DG_CHECK(o.num_features() > 0, "normalization: num_features must be positive, got ", o.num_features());
  if (o.affine()) {
    weight = this->register_parameter("weight", dg::empty({o.num_features()}));
    bias = this->register_parameter("bias", dg::empty({o.num_features()}));
  } else {
    weight = this->register_parameter("weight", Tensor(), false);
    bias = this->register_parameter("bias", Tensor(), false);
  }
  if (o.track_running_stats()) {
    running_mean = this->register_buffer("running_mean", dg::zeros({o.num_features()}));
    running_var = this->register_buffer("running_var", dg::ones({o.num_features()}));
    num_batches_tracked = this->register_buffer("num_batches_tracked", dg::zeros({}, kInt64));
  } else {
    running_mean = this->register_buffer("running_mean", Tensor());
    running_var = this->register_buffer("running_var", Tensor());
    num_batches_tracked = this->register_buffer("num_batches_tracked", Tensor());
  }
  reset_parameters();
}

template <size_t D, typename Derived, typename Options>
void NormImplBase<D, Derived, Options>::reset_running_stats() {
  if (!options.track_running_stats()) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

template <size_t D, typename Derived, typename Options>
void NormImplBase<D, Derived, Options>::reset_parameters() {
  reset_running_stats();
  if (options.affine()) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

template <size_t D, typename Derived, typename Options>
void NormImplBase<D, Derived, Options>::pretty_print(std::ostream& stream) const {
  const bool batch = std::is_same_v<Options, BatchNormOptions>;
  stream << "dg::nn::" << (batch ? "BatchNorm" : "InstanceNorm") << D << "d(" << options.num_features()
         << ", eps=" << options.eps() << ", momentum=";
  if constexpr (std::is_same_v<decltype(options.momentum()), const std::optional<double>&>) {
    if (options.momentum()) stream << *options.momentum();
    else stream << "None";
  } else {
    stream << options.momentum();
  }
  stream << ", affine=" << boolstr(options.affine())
         << ", track_running_stats=" << boolstr(options.track_running_stats()) << ")";
}

template <size_t D, typename Derived>
void BatchNormImplBase<D, Derived>::check_input_dim(const Tensor& input) const {
  if (D == 1)
    DG_CHECK(input.dim() == 2 || input.dim() == 3, "BatchNorm1d: expected 2D or 3D input (got ", input.dim(),
             "D input)");
  else
    DG_CHECK(input.dim() == static_cast<int64_t>(D) + 2, "BatchNorm", D, "d: expected ", D + 2, "D input (got ",
             input.dim(), "D input)");
}

template <size_t D, typename Derived>
Tensor BatchNormImplBase<D, Derived>::forward(const Tensor& input) {
  check_input_dim(input);
  const auto& o = this->options;
  double factor = o.momentum().value_or(0.0);
  if (this->is_training() && o.track_running_stats() && this->num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    this->num_batches_tracked.add_(1);
    if (!o.momentum()) factor = 1.0 / static_cast<double>(this->num_batches_tracked.template item<int64_t>());
  }
  return functional::batch_norm(input, this->running_mean, this->running_var,
                                functional::BatchNormFuncOptions()
                                    .weight(this->weight)
                                    .bias(this->bias)
                                    .training(this->is_training() || !o.track_running_stats())
                                    .momentum(factor)
                                    .eps(o.eps()));
}

template <size_t D, typename Derived>
void InstanceNormImpl<D, Derived>::check_input_dim(const Tensor& input) const {
  DG_CHECK(input.dim() == static_cast<int64_t>(D) + 1 || input.dim() == static_cast<int64_t>(D) + 2, "InstanceNorm", D,
           "d: expected ", D + 1, "D or ", D + 2, "D input (got ", input.dim(), "D input)");
}

template <size_t D, typename Derived>
Tensor InstanceNormImpl<D, Derived>::forward(const Tensor& input) {
  check_input_dim(input);
  const auto& o = this->options;
  // Unbatched input: a batch of one.
  const bool unbatched = input.dim() == static_cast<int64_t>(D) + 1;
  Tensor x = unbatched ? input.unsqueeze(0) : input;
  Tensor y = functional::instance_norm(x, functional::InstanceNormFuncOptions()
                                              .running_mean(this->running_mean)
                                              .running_var(this->running_var)
                                              .weight(this->weight)
                                              .bias(this->bias)
                                              .use_input_stats(this->is_training() || !o.track_running_stats())
                                              .momentum(o.momentum())
                                              .eps(o.eps()));
  return unbatched ? y.squeeze(0) : y;
}

template class NormImplBase<1, BatchNorm1dImpl, BatchNormOptions>;
template class NormImplBase<2, BatchNorm2dImpl, BatchNormOptions>;
template class NormImplBase<3, BatchNorm3dImpl, BatchNormOptions>;
template class BatchNormImplBase<1, BatchNorm1dImpl>;
template class BatchNormImplBase<2, BatchNorm2dImpl>;
template class BatchNormImplBase<3, BatchNorm3dImpl>;
template class NormImplBase<1, InstanceNorm1dImpl, InstanceNormOptions>;
template class NormImplBase<2, InstanceNorm2dImpl, InstanceNormOptions>;
template class NormImplBase<3, InstanceNorm3dImpl, InstanceNormOptions>;
template class InstanceNormImpl<1, InstanceNorm1dImpl>;
template class InstanceNormImpl<2, InstanceNorm2dImpl>;
template class InstanceNormImpl<3, InstanceNorm3dImpl>;

LayerNormImpl::LayerNormImpl(LayerNormOptions options_) : options(std::move(options_)) { reset(); }

void LayerNormImpl::reset() {
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", dg::empty(options.normalized_shape()));
    bias = register_parameter("bias", dg::empty(options.normalized_shape()));
  } else {
    weight = register_parameter("weight", Tensor(), false);
    bias = register_parameter("bias", Tensor(), false);
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (!options.elementwise_affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& input) {
  return functional::layer_norm(
      input, functional::LayerNormFuncOptions(options.normalized_shape()).weight(weight).bias(bias).eps(options.eps()));
}

void LayerNormImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::LayerNorm(";
  print_list(stream, options.normalized_shape())
      << ", eps=" << options.eps() << ", elementwise_affine=" << boolstr(options.elementwise_affine()) << ")";
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& options_) : options(options_) { reset(); }

void GroupNormImpl::reset() {
  DG_CHECK(options.num_groups() > 0 && options.num_channels() % options.num_groups() == 0, "GroupNorm: num_channels (",
           options.num_channels(), ") must be divisible by num_groups (", options.num_groups(), ")");
  if (options.affine()) {
    weight = register_parameter("weight", dg::empty({options.num_channels()}));
    bias = register_parameter("bias", dg::empty({options.num_channels()}));
  } else {
    weight = register_parameter("weight", Tensor(), false);
    bias = register_parameter("bias", Tensor(), false);
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() {
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& input) {
  return functional::group_norm(
      input, functional::GroupNormFuncOptions(options.num_groups()).weight(weight).bias(bias).eps(options.eps()));
}

void GroupNormImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::GroupNorm(" << options.num_groups() << ", " << options.num_channels() << ", eps=" << options.eps()
         << ", affine=" << boolstr(options.affine()) << ")";
}

void LocalResponseNormImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::LocalResponseNorm(" << options.size() << ", alpha=" << options.alpha()
         << ", beta=" << options.beta() << ", k=" << options.k() << ")";
}

// ---- dropout ------------------------------------------------------------------------------------

#define DG_DROPOUT_PRINT(Name)                                                                            \
  void Name##Impl::pretty_print(std::ostream& stream) const {                                             \
    stream << "dg::nn::" #Name "(p=" << options.p() << ", inplace=" << boolstr(options.inplace()) << ")"; \
  }
DG_DROPOUT_PRINT(Dropout)
DG_DROPOUT_PRINT(Dropout2d)
DG_DROPOUT_PRINT(Dropout3d)
DG_DROPOUT_PRINT(AlphaDropout)
DG_DROPOUT_PRINT(FeatureAlphaDropout)
#undef DG_DROPOUT_PRINT

// ---- embedding ------------------------------------------------------------------------------------

EmbeddingImpl::EmbeddingImpl(EmbeddingOptions options_) : options(std::move(options_)) { reset(); }

void EmbeddingImpl::reset() {
  auto& o = options;
  if (o.padding_idx()) {
    const int64_t n = o.num_embeddings();
    DG_CHECK(*o.padding_idx() < n && *o.padding_idx() >= -n, "Embedding: padding_idx must be within num_embeddings (",
             n, "), got ", *o.padding_idx());
    if (*o.padding_idx() < 0) o.padding_idx(*o.padding_idx() + n);
  }
  if (!o._weight().defined()) {
    weight = register_parameter("weight", dg::empty({o.num_embeddings(), o.embedding_dim()}));
    reset_parameters();
  } else {
    DG_CHECK(
        o._weight().dim() == 2 && o._weight().size(0) == o.num_embeddings() && o._weight().size(1) == o.embedding_dim(),
        "Embedding: shape of _weight does not match num_embeddings and embedding_dim: expected [", o.num_embeddings(),
        ", ", o.embedding_dim(), "], got ", o._weight().sizes());
    weight = register_parameter("weight", o._weight());
  }
}

std::shared_ptr<Module> EmbeddingImpl::clone(const std::optional<Device>& device) const {
  NoGradGuard no_grad;
  EmbeddingOptions o = options;
  Tensor w = weight.detach().clone();
  if (device) w = w.to(*device);
  auto copy = std::make_shared<EmbeddingImpl>(o._weight(w));
  copy->weight.requires_grad_(weight.requires_grad());
  copy->train(is_training());
  return copy;
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (options.padding_idx()) {
    NoGradGuard no_grad;
    weight.select(0, *options.padding_idx()).fill_(0);
  }
}

Tensor EmbeddingImpl::forward(const Tensor& indices) {
  return functional::embedding(indices, weight,
                               functional::EmbeddingFuncOptions()
                                   .padding_idx(options.padding_idx())
                                   .max_norm(options.max_norm())
                                   .norm_type(options.norm_type())
                                   .scale_grad_by_freq(options.scale_grad_by_freq())
                                   .sparse(options.sparse()));
}

void EmbeddingImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Embedding(num_embeddings=" << options.num_embeddings()
         << ", embedding_dim=" << options.embedding_dim();
  if (options.padding_idx()) stream << ", padding_idx=" << *options.padding_idx();
  if (options.max_norm()) stream << ", max_norm=" << *options.max_norm();
  if (options.norm_type() != 2) stream << ", norm_type=" << options.norm_type();
  if (options.scale_grad_by_freq()) stream << ", scale_grad_by_freq=true";
  if (options.sparse()) stream << ", sparse=true";
  stream << ")";
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& o) {
  DG_CHECK(embeddings.dim() == 2,
           "Embedding::from_pretrained: embeddings parameter is expected to be 2-dimensional, got ", embeddings.dim(),
           "-D");
  Embedding e(EmbeddingOptions(embeddings.size(0), embeddings.size(1))
                  ._weight(embeddings)
                  .padding_idx(o.padding_idx())
                  .max_norm(o.max_norm())
                  .norm_type(o.norm_type())
                  .scale_grad_by_freq(o.scale_grad_by_freq())
                  .sparse(o.sparse()));
  e->weight.requires_grad_(!o.freeze());
  return e;
}

// ---- activations ----------------------------------------------------------------------------------

#define DG_PLAIN_PRINT(Name) \
  void Name##Impl::pretty_print(std::ostream& stream) const { stream << "dg::nn::" #Name "()"; }
DG_PLAIN_PRINT(SiLU)
DG_PLAIN_PRINT(Mish)
DG_PLAIN_PRINT(Sigmoid)
DG_PLAIN_PRINT(Tanh)
DG_PLAIN_PRINT(Tanhshrink)
DG_PLAIN_PRINT(Softsign)
DG_PLAIN_PRINT(LogSigmoid)
DG_PLAIN_PRINT(Hardswish)
DG_PLAIN_PRINT(Hardsigmoid)
#undef DG_PLAIN_PRINT

#define DG_INPLACE_PRINT(Name)                                                          \
  void Name##Impl::pretty_print(std::ostream& stream) const {                           \
    stream << "dg::nn::" #Name "(" << (options.inplace() ? "inplace=true" : "") << ")"; \
  }
DG_INPLACE_PRINT(ReLU)
DG_INPLACE_PRINT(ReLU6)
DG_INPLACE_PRINT(SELU)
#undef DG_INPLACE_PRINT

void LeakyReLUImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::LeakyReLU(negative_slope=" << options.negative_slope()
         << (options.inplace() ? ", inplace=true" : "") << ")";
}
void ELUImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::ELU(alpha=" << options.alpha() << (options.inplace() ? ", inplace=true" : "") << ")";
}
void CELUImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::CELU(alpha=" << options.alpha() << (options.inplace() ? ", inplace=true" : "") << ")";
}
void GELUImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::GELU()"; }
void GLUImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::GLU(dim=" << options.dim() << ")"; }
void HardtanhImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Hardtanh(min_val=" << options.min_val() << ", max_val=" << options.max_val()
         << (options.inplace() ? ", inplace=true" : "") << ")";
}
void SoftplusImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Softplus(beta=" << options.beta() << ", threshold=" << options.threshold() << ")";
}
void SoftshrinkImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Softshrink(" << options.lambda() << ")";
}
void HardshrinkImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Hardshrink(" << options.lambda() << ")";
}
void ThresholdImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Threshold(threshold=" << options.threshold() << ", value=" << options.value()
         << (options.inplace() ? ", inplace=true" : "") << ")";
}
void SoftmaxImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::Softmax(dim=" << options.dim() << ")"; }
void LogSoftmaxImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::LogSoftmax(dim=" << options.dim() << ")";
}
void SoftminImpl::pretty_print(std::ostream& stream) const { stream << "dg::nn::Softmin(dim=" << options.dim() << ")"; }

PReLUImpl::PReLUImpl(const PReLUOptions& options_) : options(options_) { reset(); }
void PReLUImpl::reset() { weight = register_parameter("weight", dg::full({options.num_parameters()}, options.init())); }
void PReLUImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::PReLU(num_parameters=" << options.num_parameters() << ")";
}

// ---- losses and the rest -------------------------------------------------------------------------------

#define DG_LOSS_PRINT(Name) \
  void Name##Impl::pretty_print(std::ostream& stream) const { stream << "dg::nn::" #Name "()"; }
DG_LOSS_PRINT(L1Loss)
DG_LOSS_PRINT(MSELoss)
DG_LOSS_PRINT(SmoothL1Loss)
DG_LOSS_PRINT(HuberLoss)
DG_LOSS_PRINT(CrossEntropyLoss)
DG_LOSS_PRINT(NLLLoss)
DG_LOSS_PRINT(BCELoss)
DG_LOSS_PRINT(BCEWithLogitsLoss)
DG_LOSS_PRINT(KLDivLoss)
DG_LOSS_PRINT(HingeEmbeddingLoss)
DG_LOSS_PRINT(SoftMarginLoss)
DG_LOSS_PRINT(PoissonNLLLoss)
DG_LOSS_PRINT(MultiLabelSoftMarginLoss)
DG_LOSS_PRINT(MarginRankingLoss)
DG_LOSS_PRINT(CosineEmbeddingLoss)
DG_LOSS_PRINT(TripletMarginLoss)
DG_LOSS_PRINT(CTCLoss)
DG_LOSS_PRINT(MultiMarginLoss)
DG_LOSS_PRINT(MultiLabelMarginLoss)
DG_LOSS_PRINT(TripletMarginWithDistanceLoss)
#undef DG_LOSS_PRINT

void CosineSimilarityImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::CosineSimilarity(dim=" << options.dim() << ", eps=" << options.eps() << ")";
}
void PairwiseDistanceImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::PairwiseDistance(p=" << options.p() << ", eps=" << options.eps()
         << ", keepdim=" << boolstr(options.keepdim()) << ")";
}
void PixelShuffleImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::PixelShuffle(upscale_factor=" << options.upscale_factor() << ")";
}
void PixelUnshuffleImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::PixelUnshuffle(downscale_factor=" << options.downscale_factor() << ")";
}

Tensor UpsampleImpl::forward(const Tensor& input) {
  functional::InterpolateFuncOptions f;
  f.size(options.size()).scale_factor(options.scale_factor()).align_corners(options.align_corners());
  std::visit([&](const auto& tag) { f.mode(tag); }, options.mode());
  return functional::interpolate(input, f);
}
void UpsampleImpl::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::Upsample(mode=" << get_enum_name(options.mode()) << ")";
}

}  // namespace dg::nn
