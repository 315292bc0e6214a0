// Connectionist temporal classification on the CPU: the forward (alpha)
// recursion of _ctc_loss_packed and the alpha-beta gradient of
// _ctc_loss_backward, in log space (Graves et al. 2006, eqs. 6-16), one batch
// element per task. The metas have checked shapes, lengths and every label
// used, so the kernels index unchecked; padding past a target's length is
// never read.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/parallel.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// The targets of each batch element: where its labels start (in elements of
// `targets`), the step between them, read as int32 or int64.
struct CtcLabels {
  const void* data;
  bool int32;
  int64_t step;
  std::vector<int64_t> start;

  int64_t label(int64_t n, int64_t i) const {
    const int64_t pos = start[static_cast<size_t>(n)] + i * step;
    return int32 ? int64_t(static_cast<const int32_t*>(data)[pos]) : static_cast<const int64_t*>(data)[pos];
  }
  // The extended label sequence l': blank, l1, blank, l2, ..., blank.
  int64_t prime(int64_t n, int64_t s, int64_t blank) const { return s % 2 == 0 ? blank : label(n, s / 2); }
};

CtcLabels ctc_labels(const TensorBase& targets, IntArrayRef target_lengths) {
  CtcLabels l{targets.data_ptr(), targets.dtype() == kInt32, targets.stride(targets.dim() - 1), {}};
  int64_t concatenated = 0;
  for (size_t n = 0; n < target_lengths.size(); ++n) {
    l.start.push_back(targets.dim() == 1 ? concatenated * targets.stride(0) : int64_t(n) * targets.stride(0));
    concatenated += target_lengths[n];
  }
  return l;
}

int64_t longest(IntArrayRef lengths) {
  int64_t m = 0;
  for (int64_t l : lengths) m = std::max(m, l);
  return m;
}

// log(exp(a) + exp(b) + exp(c)), -inf when all three are.
template <typename T>
T log_sum3(T a, T b, T c) {
  T m = std::max(a, std::max(b, c));
  if (m == -std::numeric_limits<T>::infinity()) m = T(0);
  return std::log(std::exp(a - m) + std::exp(b - m) + std::exp(c - m)) + m;
}

// acc = log(exp(acc) + exp(v)).
template <typename T>
void log_accumulate(T& acc, T v) {
  if (acc == -std::numeric_limits<T>::infinity()) {
    acc = v;
    return;
  }
  const T m = std::max(acc, v);
  acc = std::log(std::exp(acc - m) + std::exp(v - m)) + m;
}

}  // namespace

// out: log_alpha (N, T, 2 S + 1) row-major, then the N negative log
// likelihoods. alpha[t][s] sums over the alignments of l'[0..s] with the
// first t + 1 inputs: eq. 6 from alpha[t - 1][s - 2..s].
template <typename T>
void ctc_loss_packed(const TensorBase& out, const TensorBase& log_probs, const TensorBase& targets,
                     IntArrayRef input_lengths, IntArrayRef target_lengths, int64_t blank) {
  const int64_t steps = log_probs.size(0), N = log_probs.size(1);
  const int64_t states = 2 * longest(target_lengths) + 1;
  const CtcLabels labels = ctc_labels(targets, target_lengths);
  const T* lp = log_probs.data_ptr<T>();
  const int64_t lt = log_probs.stride(0), ln = log_probs.stride(1), lc = log_probs.stride(2);
  T* alpha_all = out.data_ptr<T>();
  T* nll = alpha_all + N * steps * states;
  constexpr T neginf = -std::numeric_limits<T>::infinity();
  parallel_for(N, steps * states, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      T* alpha = alpha_all + n * steps * states;
      std::fill(alpha, alpha + steps * states, neginf);
      const int64_t len = input_lengths[n], tl = target_lengths[n];
      if (len == 0) {  // no input: only the empty target has an alignment
        nll[n] = tl == 0 ? T(0) : std::numeric_limits<T>::infinity();
        continue;
      }
      const T* x = lp + n * ln;
      alpha[0] = x[blank * lc];
      if (tl > 0) alpha[1] = x[labels.label(n, 0) * lc];
      for (int64_t t = 1; t < len; ++t) {
        const T* prev = alpha + (t - 1) * states;
        for (int64_t s = 0; s <= 2 * tl; ++s) {
          const int64_t c = labels.prime(n, s, blank);
          const T a2 = s > 0 ? prev[s - 1] : neginf;
          const T a3 = s > 1 && labels.prime(n, s - 2, blank) != c ? prev[s - 2] : neginf;
          alpha[t * states + s] = log_sum3(prev[s], a2, a3) + x[t * lt + c * lc];
        }
      }
      // eq. 8: the alignments ending in the last label or the blank after it.
      const T* last = alpha + (len - 1) * states;
      nll[n] = tl == 0 ? -last[0] : -log_sum3(last[2 * tl], last[2 * tl - 1], neginf);
    }
  });
}

// out (T, N, C): beta[t][s] sums over the alignments of l'[s..] with inputs
// t.. (eq. 10, from beta[t + 1][s..s + 2]); per (t, class) the log of
// sum alpha beta over the states of that class (eq. 16), then PyTorch's
// gradient grad[n] (exp(lp) - exp(log(sum alpha beta) + nll - lp)).
template <typename T>
void ctc_loss_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& log_probs,
                       const TensorBase& targets, IntArrayRef input_lengths, IntArrayRef target_lengths,
                       const TensorBase& neg_log_likelihood, const TensorBase& log_alpha, int64_t blank,
                       bool zero_infinity) {
  const int64_t steps = log_probs.size(0), N = log_probs.size(1), C = log_probs.size(2);
  const int64_t states = 2 * longest(target_lengths) + 1;
  const CtcLabels labels = ctc_labels(targets, target_lengths);
  const T* lp = log_probs.data_ptr<T>();
  const int64_t lt = log_probs.stride(0), ln = log_probs.stride(1), lc = log_probs.stride(2);
  const T* la = log_alpha.data_ptr<T>();
  const int64_t at = log_alpha.stride(1), an = log_alpha.stride(0), as = log_alpha.stride(2);
  const T* g = grad.data_ptr<T>();
  const T* nlls = neg_log_likelihood.data_ptr<T>();
  T* o = out.data_ptr<T>();
  const int64_t ot = out.stride(0), on = out.stride(1), oc = out.stride(2);
  constexpr T neginf = -std::numeric_limits<T>::infinity();
  parallel_for(N, steps * states * C, [&](int64_t begin, int64_t end) {
    std::vector<T> beta;
    for (int64_t n = begin; n < end; ++n) {
      const T nll = nlls[n * neg_log_likelihood.stride(0)];
      const int64_t len = zero_infinity && nll == std::numeric_limits<T>::infinity() ? 0 : input_lengths[n];
      const int64_t tl = target_lengths[n];
      const T* x = lp + n * ln;
      const T* alpha = la + n * an;
      T* gn = o + n * on;
      for (int64_t t = 0; t < steps; ++t)
        for (int64_t c = 0; c < C; ++c) gn[t * ot + c * oc] = t < len ? neginf : T(0);
      if (len == 0) continue;
      beta.assign(static_cast<size_t>(len * states), neginf);
      const int64_t end_state = 2 * tl;
      auto visit = [&](int64_t t, int64_t s) {  // beta[t][s] is known: add alpha beta to its class
        const int64_t c = labels.prime(n, s, blank);
        log_accumulate(gn[t * ot + c * oc], alpha[t * at + s * as] + beta[t * states + s]);
      };
      beta[(len - 1) * states + end_state] = x[(len - 1) * lt + blank * lc];
      visit(len - 1, end_state);
      if (tl > 0) {
        beta[(len - 1) * states + end_state - 1] = x[(len - 1) * lt + labels.label(n, tl - 1) * lc];
        visit(len - 1, end_state - 1);
      }
      for (int64_t t = len - 2; t >= 0; --t) {
        const T* next = beta.data() + (t + 1) * states;
        for (int64_t s = end_state; s >= 0; --s) {
          const int64_t c = labels.prime(n, s, blank);
          const T b2 = s < end_state ? next[s + 1] : neginf;
          const T b3 = s < end_state - 1 && labels.prime(n, s + 2, blank) != c ? next[s + 2] : neginf;
          beta[t * states + s] = log_sum3(next[s], b2, b3) + x[t * lt + c * lc];
          visit(t, s);
        }
      }
      const T gr = g[n * grad.stride(0)];
      for (int64_t t = 0; t < len; ++t)
        for (int64_t c = 0; c < C; ++c) {
          T& v = gn[t * ot + c * oc];
          const T l = x[t * lt + c * lc];
          v = (std::exp(l) - std::exp(v + nll - l)) * gr;
        }
    }
  });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_ctc_loss_packed;
DG_INSTANTIATE_KERNEL_cpu_ctc_loss_backward;
