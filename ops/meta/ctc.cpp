// Shape rules of connectionist temporal classification (_ctc_loss_packed,
// _ctc_loss_backward): LibTorch's argument checks of ctc_loss, and a check
// that every class index a target uses is one of log_probs' classes (read on
// the host, for a CUDA tensor too), so the kernels index unchecked.
#include <algorithm>
#include <cstdint>

#include "ops/meta.h"

namespace dg::meta {

namespace {

// The target at `pos` of a host int32 or int64 tensor.
int64_t ctc_target_at(const Tensor& host, int64_t pos) {
  const char* base = static_cast<const char*>(host.data_ptr());
  return host.dtype() == kInt32 ? int64_t(reinterpret_cast<const int32_t*>(base)[pos])
                                : reinterpret_cast<const int64_t*>(base)[pos];
}

// Checks log_probs (T, N, C), targets (N, S) padded or 1-D concatenated,
// the lengths and blank as LibTorch's ctc_loss does, and that the targets'
// used entries are classes of log_probs; returns the longest target length.
int64_t ctc_check_inputs(const char* op, const Tensor& log_probs, const Tensor& targets, IntArrayRef input_lengths,
                         IntArrayRef target_lengths, int64_t blank) {
  check_same_device(op, {&log_probs, &targets});
  DG_CHECK(log_probs.dtype() == kFloat32 || log_probs.dtype() == kFloat64, op,
           ": expected log_probs of dtype float32 or float64, got ", log_probs.dtype());
  DG_CHECK(targets.dtype() == kInt64 || targets.dtype() == kInt32, op,
           ": expected targets of dtype int64 or int32, got ", targets.dtype());
  DG_CHECK(log_probs.dim() == 3, op, ": expected log_probs of shape (T, N, C) (3 dimensions), got shape ",
           log_probs.sizes());
  DG_CHECK(targets.dim() == 1 || targets.dim() == 2, op,
           ": expected targets of shape (N, S) (padded) or (sum(target_lengths)) (concatenated), got shape ",
           targets.sizes());
  const int64_t T = log_probs.size(0), N = log_probs.size(1), C = log_probs.size(2);
  DG_CHECK(blank >= 0 && blank < C, op, ": blank must be in label range: expected 0 <= blank < ", C,
           " (the classes of log_probs), got ", blank);
  DG_CHECK(static_cast<int64_t>(input_lengths.size()) == N, op, ": input_lengths must be of size batch_size: expected ",
           N, " lengths, got ", input_lengths.size());
  DG_CHECK(static_cast<int64_t>(target_lengths.size()) == N, op,
           ": target_lengths must be of size batch_size: expected ", N, " lengths, got ", target_lengths.size());
  int64_t longest = 0, total = 0;
  for (int64_t n = 0; n < N; ++n) {
    DG_CHECK(input_lengths[n] >= 0 && input_lengths[n] <= T, op, ": expected input_lengths to have values in 0..", T,
             " (the input length T of log_probs), got value ", input_lengths[n], " for batch element ", n);
    DG_CHECK(target_lengths[n] >= 0, op, ": expected target_lengths to be non-negative, got value ", target_lengths[n],
             " for batch element ", n);
    longest = std::max(longest, target_lengths[n]);
    total += target_lengths[n];
  }
  if (targets.dim() == 1) {
    DG_CHECK(targets.size(0) == total, op, ": expected concatenated targets of size ", total,
             " (the sum of target_lengths), got size ", targets.size(0));
  } else {
    DG_CHECK(targets.size(0) == N, op, ": expected padded targets of size ", N,
             " (the batch size) at dimension 0, got shape ", targets.sizes());
    DG_CHECK(targets.size(1) >= longest, op, ": expected padded targets of size at least ", longest,
             " (the longest target length) at dimension 1, got shape ", targets.sizes());
  }
  // Padding past each target length is never read, so it may hold anything.
  const Tensor host(detail::to_host(targets));
  int64_t first = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t row = targets.dim() == 1 ? first * host.stride(0) : n * host.stride(0);
    const int64_t step = host.stride(targets.dim() - 1);
    for (int64_t s = 0; s < target_lengths[n]; ++s) {
      const int64_t c = ctc_target_at(host, row + s * step);
      DG_CHECK(c >= 0 && c < C, op, ": target ", c, " (batch element ", n, ", position ", s,
               ") is out of range for log_probs with ", C, " classes (expected 0..", C - 1, ")");
    }
    first += target_lengths[n];
  }
  return longest;
}

void ctc_check_like(const char* op, const char* name, const Tensor& t, const Tensor& log_probs, IntArrayRef expected) {
  check_same_device(op, {&t, &log_probs});
  check_same_dtype(op, name, t, "log_probs", log_probs);
  DG_CHECK(t.sizes() == expected, op, ": expected ", name, " of shape ", expected, ", got ", t.sizes());
}

}  // namespace

TensorMeta ctc_loss_packed(const char* op, const Tensor& log_probs, const Tensor& targets, IntArrayRef input_lengths,
                           IntArrayRef target_lengths, int64_t blank) {
  const int64_t S = ctc_check_inputs(op, log_probs, targets, input_lengths, target_lengths, blank);
  const int64_t T = log_probs.size(0), N = log_probs.size(1);
  return TensorMeta{DimVector{N * T * (2 * S + 1) + N}, log_probs.dtype(), log_probs.device()};
}

TensorMeta ctc_loss_backward(const char* op, const Tensor& grad, const Tensor& log_probs, const Tensor& targets,
                             IntArrayRef input_lengths, IntArrayRef target_lengths, const Tensor& neg_log_likelihood,
                             const Tensor& log_alpha, int64_t blank, bool zero_infinity) {
  (void)zero_infinity;
  const int64_t S = ctc_check_inputs(op, log_probs, targets, input_lengths, target_lengths, blank);
  const int64_t T = log_probs.size(0), N = log_probs.size(1);
  ctc_check_like(op, "grad", grad, log_probs, DimVector{N});
  ctc_check_like(op, "neg_log_likelihood", neg_log_likelihood, log_probs, DimVector{N});
  ctc_check_like(op, "log_alpha", log_alpha, log_probs, DimVector{N, T, 2 * S + 1});
  return TensorMeta{DimVector(log_probs.sizes()), log_probs.dtype(), log_probs.device()};
}

}  // namespace dg::meta
