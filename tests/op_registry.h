#pragma once
// The generic op harness: the generated registry of every op's samples
// (generated/tests/op_registry*.cpp, from ops.yaml) and the one way tests
// turn a sample into inputs, in any dtype. Tests iterate it; nothing here is
// per-op. (Value helpers shared by the suites are in helpers.h.)
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/dynagrad.h"

namespace dg::testing {

// What a float64 batch of square matrices M (..., n, n) drawn uniform in
// [low, high) becomes (the linear-algebra samples; make_golden.py draws the
// same): M + n I is diagonally dominant (invertible, well conditioned), M Mᵀ +
// n I symmetric positive definite.
enum class SampleKind { plain, well_conditioned, spd };

struct TensorSpec {
  std::vector<int64_t> shape;
  double low = -1.0;
  double high = 1.0;
  bool transposed = false;      // stored with the last two dims swapped
  ScalarType dtype = kFloat64;  // float64 inputs require grad; int64 (indices) in [low, high); bool masks
  SampleKind kind = SampleKind::plain;
};

// (a + aᵀ) / 2: the generated samples pass an spd input through it, so that
// the gradient checks see the symmetric gradient of a function of symmetric
// matrices (PyTorch's gradcheck wraps Hermitian inputs the same way). The
// values of a symmetric a are unchanged.
inline Tensor symmetrized(const Tensor& a) { return (a + a.transpose(-2, -1)) * 0.5; }

struct OpInfo {
  const char* name;
  bool differentiable;  // has a backward node
  const char* kind;     // kernel, view, composite
  int num_samples;
  std::vector<const char*> dtypes;             // declared in ops.yaml (kernel ops)
  std::vector<const char*> kernel_devices;     // devices with a kernel: "cpu", "cuda" (kernel ops)
  std::vector<const char*> cuda_extra_dtypes;  // what the CUDA kernel adds to dtypes (float16, bfloat16)
};

struct OpSample {
  const char* op;
  const char* variant;  // function, method, inplace, out
  int sample;           // index in the op's samples
  std::vector<TensorSpec> inputs;
  bool check_grad;  // false for out=: outputs are {out, expected}
  std::function<variable_list(const variable_list&)> fn;
  // What gradgradcheck must raise, for an op whose gradient is computed by an
  // op with no derivative (ops.yaml once_differentiable); null otherwise.
  const char* gradgrad_error = nullptr;
};

const std::vector<OpInfo>& all_ops();
const std::vector<OpSample>& all_samples();

// A random input as `s` describes it, on the CPU (drawn from dg::rand, so
// manual_seed makes it reproducible). Floating inputs are drawn in float64
// and converted to `float_dtype`; float64 ones require grad (the gradient
// checks), others do not. Index (int64) and mask (bool) inputs keep their
// dtype whatever `float_dtype` is.
inline Tensor make_input(const TensorSpec& s, ScalarType float_dtype = kFloat64) {
  std::vector<int64_t> stored = s.shape;
  if (s.transposed) std::swap(stored[stored.size() - 1], stored[stored.size() - 2]);
  Tensor u = dg::rand(stored, dg::kFloat64);
  Tensor t;
  if (s.dtype == kFloat64) {
    t = u * (s.high - s.low) + s.low;
    if (s.kind != SampleKind::plain) {
      const int64_t n = stored.back();
      const Tensor eye = dg::eye(n, dg::kFloat64) * static_cast<double>(n);
      t = (s.kind == SampleKind::spd ? dg::matmul(t, t.transpose(-2, -1)) : t) + eye;
    }
    if (float_dtype != kFloat64) t = t.to(float_dtype);
  } else if (s.dtype == kInt64) {
    // Integers uniform in [low, high): indices, class labels.
    t = dg::empty(stored, kInt64);
    const double* src = u.data_ptr<double>();
    int64_t* dst = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < u.numel(); ++i)
      dst[i] = static_cast<int64_t>(std::floor(src[i] * (s.high - s.low) + s.low));
  } else {
    t = dg::empty(stored, kBool);
    const double* src = u.data_ptr<double>();
    bool* dst = t.data_ptr<bool>();
    for (int64_t i = 0; i < u.numel(); ++i) dst[i] = src[i] < 0.5;
  }
  if (s.transposed) t = t.transpose(-1, -2);
  t = t.detach();
  if (s.dtype == kFloat64 && float_dtype == kFloat64) t.requires_grad_();
  return t;
}

inline variable_list make_inputs(const OpSample& s, ScalarType float_dtype = kFloat64) {
  variable_list in;
  for (const auto& spec : s.inputs) in.push_back(make_input(spec, float_dtype));
  return in;
}

// Whether the sample belongs to one of the ops named (an op's overloads and
// its helpers share the prefix: "max_pool2d" covers max_pool2d_backward).
inline bool of_ops(const OpSample& s, std::initializer_list<const char*> prefixes) {
  const std::string op = s.op;
  for (const char* p : prefixes)
    if (op.rfind(p, 0) == 0) return true;
  return false;
}

inline std::string label(const OpSample& s) {
  return std::string(s.op) + " [" + s.variant + ", sample " + std::to_string(s.sample) + "]";
}

}  // namespace dg::testing
