// CUDA connectionist temporal classification: the counterparts of
// kernels/cpu/ctc.cpp. One block per batch element; its threads share the
// extended label states s of one time step (the recursions read only the
// previous step's row), with a barrier between steps. The gradient then
// gives each thread (time, class) pairs and sums alpha beta over the states
// of that class. The metas have checked shapes, lengths and labels.
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "cuda/cuda_common.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

// Per batch element (device arrays): input length, target length, and where
// its labels start in `targets` (in elements).
struct CtcBatch {
  const int64_t* input_lengths;
  const int64_t* target_lengths;
  const int64_t* label_start;
};

struct CtcLabels {
  const void* data;
  bool int32;
  int64_t step;
  int64_t blank;

  __device__ int64_t label(int64_t start, int64_t i) const {
    const int64_t pos = start + i * step;
    return int32 ? int64_t(static_cast<const int32_t*>(data)[pos]) : static_cast<const int64_t*>(data)[pos];
  }
  // The extended label sequence l': blank, l1, blank, l2, ..., blank.
  __device__ int64_t prime(int64_t start, int64_t s) const { return s % 2 == 0 ? blank : label(start, s / 2); }
};

template <typename T>
__device__ T ctc_exp(T v) {
  if constexpr (std::is_same_v<T, float>) return expf(v);
  else return exp(v);
}

template <typename T>
__device__ T ctc_log(T v) {
  if constexpr (std::is_same_v<T, float>) return logf(v);
  else return log(v);
}

// log(exp(a) + exp(b) + exp(c)), -inf when all three are.
template <typename T>
__device__ T log_sum3(T a, T b, T c, T neginf) {
  T m = a > b ? a : b;
  m = m > c ? m : c;
  if (m == neginf) m = T(0);
  return ctc_log(ctc_exp(a - m) + ctc_exp(b - m) + ctc_exp(c - m)) + m;
}

// Copies the lengths and label starts to the device: [input_lengths,
// target_lengths, label starts], N each. The caller keeps the tensor alive
// until the kernels reading it are queued (freed stream-ordered).
TensorBase ctc_batch(const char* op, const TensorBase& targets, IntArrayRef input_lengths, IntArrayRef target_lengths,
                     CtcBatch& batch, int64_t& longest) {
  const size_t N = input_lengths.size();
  std::vector<int64_t> host(3 * N);
  int64_t concatenated = 0;
  longest = 0;
  for (size_t n = 0; n < N; ++n) {
    host[n] = input_lengths[n];
    host[N + n] = target_lengths[n];
    host[2 * N + n] = targets.dim() == 1 ? concatenated * targets.stride(0) : int64_t(n) * targets.stride(0);
    concatenated += target_lengths[n];
    longest = target_lengths[n] > longest ? target_lengths[n] : longest;
  }
  TensorBase buf = make_empty({int64_t(3 * N)}, kInt64, targets.device());
  if (N > 0) {
    DeviceGuard g(targets);
    check(cudaMemcpyAsync(buf.data_ptr(), host.data(), host.size() * sizeof(int64_t), cudaMemcpyHostToDevice,
                          stream(g.device())),
          op, "cudaMemcpyAsync");
  }
  const int64_t* p = static_cast<const int64_t*>(buf.data_ptr());
  batch = CtcBatch{p, p + N, p + 2 * N};
  return buf;
}

CtcLabels ctc_labels(const TensorBase& targets, int64_t blank) {
  return CtcLabels{targets.data_ptr(), targets.dtype() == kInt32, targets.stride(targets.dim() - 1), blank};
}

// Strides of a (T, N, C) tensor.
struct Tnc {
  int64_t t, n, c;
};

template <typename T>
__global__ void ctc_alpha_kernel(T* out, const T* lp, Tnc ls, CtcLabels labels, CtcBatch b, int64_t N, int64_t steps,
                                 int64_t states, T neginf, T inf) {
  const int64_t n = blockIdx.x;
  T* alpha = out + n * steps * states;
  for (int64_t i = threadIdx.x; i < steps * states; i += blockDim.x) alpha[i] = neginf;
  __syncthreads();
  const int64_t len = b.input_lengths[n], tl = b.target_lengths[n], start = b.label_start[n];
  const T* x = lp + n * ls.n;
  if (len > 0) {
    if (threadIdx.x == 0) {
      alpha[0] = x[labels.blank * ls.c];
      if (tl > 0) alpha[1] = x[labels.label(start, 0) * ls.c];
    }
    __syncthreads();
    for (int64_t t = 1; t < len; ++t) {
      const T* prev = alpha + (t - 1) * states;
      for (int64_t s = threadIdx.x; s <= 2 * tl; s += blockDim.x) {
        const int64_t c = labels.prime(start, s);
        const T a2 = s > 0 ? prev[s - 1] : neginf;
        const T a3 = s > 1 && labels.prime(start, s - 2) != c ? prev[s - 2] : neginf;
        alpha[t * states + s] = log_sum3(prev[s], a2, a3, neginf) + x[t * ls.t + c * ls.c];
      }
      __syncthreads();
    }
  }
  if (threadIdx.x == 0) {
    T* nll = out + N * steps * states;
    if (len == 0) {
      nll[n] = tl == 0 ? T(0) : inf;
    } else {
      const T* last = alpha + (len - 1) * states;
      nll[n] = tl == 0 ? -last[0] : -log_sum3(last[2 * tl], last[2 * tl - 1], neginf, neginf);
    }
  }
}

template <typename T>
struct GradArgs {
  T* out;
  Tnc os;
  const T* lp;
  Tnc ls;
  const T* alpha;
  Tnc as;  // log_alpha (N, T, 2 S + 1): its time (t), batch (n) and state (c) strides
  T* beta_all;
  const T* grad;
  int64_t gs;
  const T* nll;
  int64_t ns;
  int64_t steps, states, classes;
  bool zero_infinity;
  T neginf, inf;
};

template <typename T>
__global__ void ctc_grad_kernel(GradArgs<T> a, CtcLabels labels, CtcBatch b) {
  const int64_t n = blockIdx.x;
  const T nll = a.nll[n * a.ns];
  const int64_t len = a.zero_infinity && nll == a.inf ? 0 : b.input_lengths[n];
  const int64_t tl = b.target_lengths[n], start = b.label_start[n];
  const int64_t states = a.states, end_state = 2 * tl;
  const T* x = a.lp + n * a.ls.n;
  const T* alpha = a.alpha + n * a.as.n;
  T* beta = a.beta_all + n * a.steps * states;
  for (int64_t i = threadIdx.x; i < a.steps * states; i += blockDim.x) beta[i] = a.neginf;
  __syncthreads();
  if (len > 0) {
    if (threadIdx.x == 0) {
      beta[(len - 1) * states + end_state] = x[(len - 1) * a.ls.t + labels.blank * a.ls.c];
      if (tl > 0)
        beta[(len - 1) * states + end_state - 1] = x[(len - 1) * a.ls.t + labels.label(start, tl - 1) * a.ls.c];
    }
    __syncthreads();
    for (int64_t t = len - 2; t >= 0; --t) {
      const T* next = beta + (t + 1) * states;
      for (int64_t s = threadIdx.x; s <= end_state; s += blockDim.x) {
        const int64_t c = labels.prime(start, s);
        const T b2 = s < end_state ? next[s + 1] : a.neginf;
        const T b3 = s < end_state - 1 && labels.prime(start, s + 2) != c ? next[s + 2] : a.neginf;
        beta[t * states + s] = log_sum3(next[s], b2, b3, a.neginf) + x[t * a.ls.t + c * a.ls.c];
      }
      __syncthreads();
    }
  }
  const T gr = a.grad[n * a.gs];
  T* o = a.out + n * a.os.n;
  for (int64_t i = threadIdx.x; i < a.steps * a.classes; i += blockDim.x) {
    const int64_t t = i / a.classes, c = i % a.classes;
    T& v = o[t * a.os.t + c * a.os.c];
    if (t >= len) {
      v = T(0);
      continue;
    }
    // log of sum alpha beta over the states of class c at time t (eq. 16).
    T acc = a.neginf;
    for (int64_t s = 0; s <= end_state; ++s) {
      if (labels.prime(start, s) != c) continue;
      const T ab = alpha[t * a.as.t + s * a.as.c] + beta[t * states + s];
      acc = acc == a.neginf ? ab : log_sum3(acc, ab, a.neginf, a.neginf);
    }
    const T l = x[t * a.ls.t + c * a.ls.c];
    v = (ctc_exp(l) - ctc_exp(acc + nll - l)) * gr;
  }
}

}  // namespace

template <typename T>
void ctc_loss_packed(const TensorBase& out, const TensorBase& log_probs, const TensorBase& targets,
                     IntArrayRef input_lengths, IntArrayRef target_lengths, int64_t blank) {
  const char* op = "_ctc_loss_packed";
  const int64_t steps = log_probs.size(0), N = log_probs.size(1);
  if (N == 0) return;
  CtcBatch batch{};
  int64_t longest = 0;
  const TensorBase keep = ctc_batch(op, targets, input_lengths, target_lengths, batch, longest);
  DeviceGuard g(out);
  ctc_alpha_kernel<T><<<static_cast<unsigned>(N), kBlock, 0, stream(g.device())>>>(
      out.data_ptr<T>(), log_probs.data_ptr<T>(), Tnc{log_probs.stride(0), log_probs.stride(1), log_probs.stride(2)},
      ctc_labels(targets, blank), batch, N, steps, 2 * longest + 1, -std::numeric_limits<T>::infinity(),
      std::numeric_limits<T>::infinity());
  check_launch(op);
}

template <typename T>
void ctc_loss_backward(const TensorBase& out, const TensorBase& grad, const TensorBase& log_probs,
                       const TensorBase& targets, IntArrayRef input_lengths, IntArrayRef target_lengths,
                       const TensorBase& neg_log_likelihood, const TensorBase& log_alpha, int64_t blank,
                       bool zero_infinity) {
  const char* op = "_ctc_loss_backward";
  const int64_t steps = log_probs.size(0), N = log_probs.size(1), C = log_probs.size(2);
  if (N == 0 || out.numel() == 0) return;
  CtcBatch batch{};
  int64_t longest = 0;
  const TensorBase keep = ctc_batch(op, targets, input_lengths, target_lengths, batch, longest);
  const int64_t states = 2 * longest + 1;
  const TensorBase beta = make_empty({N * steps * states}, log_probs.dtype(), log_probs.device());
  GradArgs<T> a{out.data_ptr<T>(),
                Tnc{out.stride(0), out.stride(1), out.stride(2)},
                log_probs.data_ptr<T>(),
                Tnc{log_probs.stride(0), log_probs.stride(1), log_probs.stride(2)},
                log_alpha.data_ptr<T>(),
                Tnc{log_alpha.stride(1), log_alpha.stride(0), log_alpha.stride(2)},
                static_cast<T*>(beta.data_ptr()),
                grad.data_ptr<T>(),
                grad.stride(0),
                neg_log_likelihood.data_ptr<T>(),
                neg_log_likelihood.stride(0),
                steps,
                states,
                C,
                zero_infinity,
                -std::numeric_limits<T>::infinity(),
                std::numeric_limits<T>::infinity()};
  DeviceGuard g(out);
  ctc_grad_kernel<T><<<static_cast<unsigned>(N), kBlock, 0, stream(g.device())>>>(a, ctc_labels(targets, blank), batch);
  check_launch(op);
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_ctc_loss_packed;
DG_INSTANTIATE_KERNEL_cuda_ctc_loss_backward;
