// LibTorch's enum tags (torch::kReLU, torch::kFanIn, torch::kMean, ...): each
// is an object of its own type, so an option can accept exactly the tags that
// make sense for it (a std::variant of tag types) and a typo does not compile.
// Ported code writes dg::kReLU where it wrote torch::kReLU.
#pragma once

#include <string>
#include <variant>

namespace dg {
namespace enumtype {

#define DG_ENUM_TAG(Name, text)                                   \
  struct Name {                                                   \
    static constexpr const char* name() { return text; }          \
    constexpr bool operator==(const Name&) const { return true; } \
  };

DG_ENUM_TAG(kLinear, "kLinear")
DG_ENUM_TAG(kConv1D, "kConv1D")
DG_ENUM_TAG(kConv2D, "kConv2D")
DG_ENUM_TAG(kConv3D, "kConv3D")
DG_ENUM_TAG(kConvTranspose1D, "kConvTranspose1D")
DG_ENUM_TAG(kConvTranspose2D, "kConvTranspose2D")
DG_ENUM_TAG(kConvTranspose3D, "kConvTranspose3D")
DG_ENUM_TAG(kSigmoid, "kSigmoid")
DG_ENUM_TAG(kTanh, "kTanh")
DG_ENUM_TAG(kReLU, "kReLU")
DG_ENUM_TAG(kGELU, "kGELU")
DG_ENUM_TAG(kSiLU, "kSiLU")
DG_ENUM_TAG(kLeakyReLU, "kLeakyReLU")
DG_ENUM_TAG(kSELU, "kSELU")
DG_ENUM_TAG(kFanIn, "kFanIn")
DG_ENUM_TAG(kFanOut, "kFanOut")
DG_ENUM_TAG(kConstant, "kConstant")
DG_ENUM_TAG(kReflect, "kReflect")
DG_ENUM_TAG(kReplicate, "kReplicate")
DG_ENUM_TAG(kCircular, "kCircular")
DG_ENUM_TAG(kNearest, "kNearest")
DG_ENUM_TAG(kNearestExact, "kNearestExact")
DG_ENUM_TAG(kBilinear, "kBilinear")
DG_ENUM_TAG(kBicubic, "kBicubic")
DG_ENUM_TAG(kTrilinear, "kTrilinear")
DG_ENUM_TAG(kArea, "kArea")
DG_ENUM_TAG(kSum, "kSum")
DG_ENUM_TAG(kMean, "kMean")
DG_ENUM_TAG(kMax, "kMax")
DG_ENUM_TAG(kNone, "kNone")
DG_ENUM_TAG(kZeros, "kZeros")
DG_ENUM_TAG(kBorder, "kBorder")
DG_ENUM_TAG(kReflection, "kReflection")
DG_ENUM_TAG(kRNN_TANH, "kRNN_TANH")
DG_ENUM_TAG(kRNN_RELU, "kRNN_RELU")
DG_ENUM_TAG(kLSTM, "kLSTM")
DG_ENUM_TAG(kGRU, "kGRU")
DG_ENUM_TAG(kValid, "kValid")
DG_ENUM_TAG(kSame, "kSame")
DG_ENUM_TAG(kBatchMean, "kBatchMean")

#undef DG_ENUM_TAG

}  // namespace enumtype

inline constexpr enumtype::kLinear kLinear{};
inline constexpr enumtype::kConv1D kConv1D{};
inline constexpr enumtype::kConv2D kConv2D{};
inline constexpr enumtype::kConv3D kConv3D{};
inline constexpr enumtype::kConvTranspose1D kConvTranspose1D{};
inline constexpr enumtype::kConvTranspose2D kConvTranspose2D{};
inline constexpr enumtype::kConvTranspose3D kConvTranspose3D{};
inline constexpr enumtype::kSigmoid kSigmoid{};
inline constexpr enumtype::kTanh kTanh{};
inline constexpr enumtype::kReLU kReLU{};
inline constexpr enumtype::kGELU kGELU{};
inline constexpr enumtype::kSiLU kSiLU{};
inline constexpr enumtype::kLeakyReLU kLeakyReLU{};
inline constexpr enumtype::kSELU kSELU{};
inline constexpr enumtype::kFanIn kFanIn{};
inline constexpr enumtype::kFanOut kFanOut{};
inline constexpr enumtype::kConstant kConstant{};
inline constexpr enumtype::kReflect kReflect{};
inline constexpr enumtype::kReplicate kReplicate{};
inline constexpr enumtype::kCircular kCircular{};
inline constexpr enumtype::kNearest kNearest{};
inline constexpr enumtype::kNearestExact kNearestExact{};
inline constexpr enumtype::kBilinear kBilinear{};
inline constexpr enumtype::kBicubic kBicubic{};
inline constexpr enumtype::kTrilinear kTrilinear{};
inline constexpr enumtype::kArea kArea{};
inline constexpr enumtype::kSum kSum{};
inline constexpr enumtype::kMean kMean{};
inline constexpr enumtype::kMax kMax{};
inline constexpr enumtype::kNone kNone{};
inline constexpr enumtype::kZeros kZeros{};
inline constexpr enumtype::kBorder kBorder{};
inline constexpr enumtype::kReflection kReflection{};
inline constexpr enumtype::kRNN_TANH kRNN_TANH{};
inline constexpr enumtype::kRNN_RELU kRNN_RELU{};
inline constexpr enumtype::kLSTM kLSTM{};
inline constexpr enumtype::kGRU kGRU{};
inline constexpr enumtype::kValid kValid{};
inline constexpr enumtype::kSame kSame{};
inline constexpr enumtype::kBatchMean kBatchMean{};

// The tag a variant holds, by name ("kMean").
template <typename... Tags>
std::string get_enum_name(const std::variant<Tags...>& v) {
  return std::visit([](const auto& tag) { return std::string(tag.name()); }, v);
}

namespace nn {
// Loss reductions as options take them: dg::kNone, dg::kMean or dg::kSum.
using LossReduction = std::variant<enumtype::kNone, enumtype::kMean, enumtype::kSum>;
// The integer of dg::Reduction (what the ATen-level loss functions take).
inline int64_t reduction_int(const LossReduction& r) {
  if (std::holds_alternative<enumtype::kNone>(r)) return 0;
  return std::holds_alternative<enumtype::kMean>(r) ? 1 : 2;
}
}  // namespace nn

}  // namespace dg
