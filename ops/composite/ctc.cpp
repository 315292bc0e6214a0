// Connectionist temporal classification: _ctc_loss unpacks the forward
// kernel's (log_alpha, negative log likelihood) and is recorded as one node
// (CtcLossBackward0, whose gradient is the _ctc_loss_backward kernel);
// ctc_loss adds LibTorch's unbatched input, zero_infinity and reductions.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/operators.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

std::tuple<Tensor, Tensor> ctc_loss_raw(const Tensor& log_probs, const Tensor& targets, IntArrayRef input_lengths,
                                        IntArrayRef target_lengths, int64_t blank, bool zero_infinity) {
  (void)zero_infinity;  // only the gradient reads it
  // The checks under this op's name (the kernel's shape rule repeats them).
  meta::ctc_loss_packed("_ctc_loss", log_probs, targets, input_lengths, target_lengths, blank);
  const Tensor packed = dg::_ctc_loss_packed(log_probs, targets, input_lengths, target_lengths, blank);
  const int64_t T = log_probs.size(0), N = log_probs.size(1);
  int64_t longest = 0;
  for (int64_t l : target_lengths) longest = std::max(longest, l);
  const int64_t states = 2 * longest + 1;
  Tensor log_alpha = packed.narrow(0, 0, N * T * states).view({N, T, states});
  Tensor nll = packed.narrow(0, N * T * states, N).clone();  // its own storage: the node's output
  return {nll, log_alpha};
}

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, IntArrayRef input_lengths, IntArrayRef target_lengths,
                int64_t blank, int64_t reduction, bool zero_infinity) {
  DG_CHECK(log_probs.dim() == 3 || log_probs.dim() == 2, "ctc_loss: expected log_probs of shape (T, N, C) or ",
           "unbatched (T, C), got shape ", log_probs.sizes());
  DG_CHECK(reduction >= Reduction::None && reduction < Reduction::END, "ctc_loss: reduction ", reduction,
           " is not a valid value (expected Reduction::None (0), Reduction::Mean (1) or Reduction::Sum (2))");
  const bool batched = log_probs.dim() == 3;
  const Tensor lp = batched ? log_probs : log_probs.unsqueeze(1);
  // As LibTorch: targets of any dtype are read as int64 on log_probs' device.
  const Tensor tg = targets.to(lp.device(), kInt64);
  meta::ctc_loss_packed("ctc_loss", lp, tg, input_lengths, target_lengths, blank);
  Tensor res = std::get<0>(dg::_ctc_loss(lp, tg, input_lengths, target_lengths, blank, zero_infinity));
  if (zero_infinity) res = dg::where(res == std::numeric_limits<double>::infinity(), dg::zeros({}, res.options()), res);
  if (reduction == Reduction::Mean) {
    const std::vector<int64_t> lengths(target_lengths.begin(), target_lengths.end());
    const Tensor divisor = dg::tensor(lengths, kInt64).to(res.device(), res.dtype()).clamp_min(1);
    return (res / divisor).mean();
  }
  if (reduction == Reduction::Sum) return res.sum();
  return batched ? res : res.squeeze(0);
}

Tensor ctc_loss_tensor_lengths(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                               const Tensor& target_lengths, int64_t blank, int64_t reduction, bool zero_infinity) {
  for (const Tensor* lengths : {&input_lengths, &target_lengths}) {
    const char* name = lengths == &input_lengths ? "input_lengths" : "target_lengths";
    DG_CHECK(lengths->defined(), "ctc_loss: expected a defined ", name, " tensor");
    DG_CHECK(!lengths->is_floating_point() && lengths->dtype() != kBool, "ctc_loss: ", name,
             " must be integral, got dtype ", lengths->dtype());
  }
  const Tensor il = input_lengths.to(Device(kCPU), kInt64).contiguous();
  const Tensor tl = target_lengths.to(Device(kCPU), kInt64).contiguous();
  return composite::ctc_loss(log_probs, targets, IntArrayRef(il.data_ptr<int64_t>(), static_cast<size_t>(il.numel())),
                             IntArrayRef(tl.data_ptr<int64_t>(), static_cast<size_t>(tl.numel())), blank, reduction,
                             zero_infinity);
}

}  // namespace dg::composite
