// dynagrad's half of the GPU benchmark (tools/gpu-check.sh runs it next to
// tools/bench/gpu_bench_torch.py, which times the same cases in PyTorch, and
// prints the two side by side as ratios). Float32 on the current CUDA device.
// Prints one "name value unit" line per case; lower is better for times,
// higher for rates.
//
// Cases:
//   op_record_us    per op: a chain of small ops on a 1-element tensor that
//                   requires grad (graph recording + launch), synchronised at the end
//   op_backward_us  per op: the backward of that chain
//   add_GBps        c = a + b on 2^26 floats: bytes moved / time
//   matmul4096_TFLOPs  4096^2 mm forward + backward (3 products), float32;
//   matmul4096_bf16_TFLOPs the same in bfloat16 (float accumulation)
//   mlp_step_ms     one SGD step of a 1024-4096-4096-10 ReLU MLP, batch 512
//   cnn_step_ms     one SGD step of conv(3->32)-pool-conv(32->64)-pool-linear, batch 128, 32x32
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "dynagrad/dynagrad.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kChain = 1000;

// Median over `reps` timed runs (seconds) after `warm` untimed ones; the
// device is drained before and after each run.
double time_it(int warm, int reps, const std::function<void()>& fn) {
  for (int i = 0; i < warm; ++i) fn();
  dg::cuda::synchronize();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    fn();
    dg::cuda::synchronize();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

dg::TensorOptions cuda() { return dg::TensorOptions().dtype(dg::kFloat32).device(dg::kCUDA); }

dg::Tensor param(std::vector<int64_t> shape, double fan_in) {
  return (dg::randn(shape, cuda()) * (1.0 / std::sqrt(fan_in))).detach().requires_grad_();
}

dg::Tensor targets(int64_t n, int64_t classes) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 7 + 3) % classes;
  return dg::tensor(t).cuda();
}

void sgd(const std::vector<dg::Tensor>& params) {
  dg::NoGradGuard g;
  for (const auto& p : params) p.sub_(p.grad(), 0.01);
}

void step(const std::vector<dg::Tensor>& params, const std::function<dg::Tensor()>& loss) {
  for (const auto& p : params) p.mutable_grad().reset();
  loss().backward();
  sgd(params);
}

}  // namespace

int main() {
  if (!dg::cuda::is_available()) {
    std::printf("skipped: %s\n", dg::cuda::unavailable_reason());
    return 0;
  }
  dg::manual_seed(0);
  // Per-op overhead.
  {
    dg::Tensor x = dg::full({1}, 0.5, cuda()).requires_grad_();
    dg::Tensor w = dg::full({1}, 1.0001, cuda());
    auto chain = [&] {
      dg::Tensor y = x;
      for (int i = 0; i < kChain / 2; ++i) y = (y * w).sin();
      return y;
    };
    const double fwd = time_it(3, 15, [&] { chain(); });
    dg::Tensor y;
    const double both = time_it(3, 15, [&] {
      x.mutable_grad().reset();
      chain().backward();
    });
    std::printf("op_record_us %.3f us\n", fwd / kChain * 1e6);
    std::printf("op_backward_us %.3f us\n", std::max(both - fwd, 0.0) / kChain * 1e6);
  }
  // Bandwidth of a large pointwise op.
  {
    const int64_t n = int64_t(1) << 26;
    dg::Tensor a = dg::randn({n}, cuda()), b = dg::randn({n}, cuda());
    const double t = time_it(3, 20, [&] { dg::Tensor c = a + b; });
    std::printf("add_GBps %.1f GB/s\n", 3.0 * 4.0 * static_cast<double>(n) / t / 1e9);
  }
  // 4096^2 matmul forward + backward, in float32 and in bfloat16.
  for (dg::ScalarType dtype : {dg::kFloat32, dg::kBFloat16}) {
    const int64_t n = 4096;
    const auto o = cuda().dtype(dtype);
    dg::Tensor a = dg::randn({n, n}, o).requires_grad_(), b = dg::randn({n, n}, o).requires_grad_();
    dg::Tensor g = dg::randn({n, n}, o);
    const double t = time_it(2, 10, [&] {
      a.mutable_grad().reset();
      b.mutable_grad().reset();
      a.mm(b).backward(g);
    });
    std::printf("matmul4096%s_TFLOPs %.2f TFLOP/s\n", dtype == dg::kFloat32 ? "" : "_bf16",
                6.0 * double(n) * double(n) * double(n) / t / 1e12);
  }
  // MLP training step.
  {
    std::vector<dg::Tensor> p = {param({4096, 1024}, 1024), dg::zeros({4096}, cuda()).requires_grad_(),
                                 param({4096, 4096}, 4096), dg::zeros({4096}, cuda()).requires_grad_(),
                                 param({10, 4096}, 4096),   dg::zeros({10}, cuda()).requires_grad_()};
    dg::Tensor x = dg::randn({512, 1024}, cuda());
    dg::Tensor t = targets(512, 10);
    auto loss = [&] {
      dg::Tensor h = dg::relu(dg::linear(x, p[0], p[1]));
      h = dg::relu(dg::linear(h, p[2], p[3]));
      return dg::cross_entropy(dg::linear(h, p[4], p[5]), t);
    };
    std::printf("mlp_step_ms %.3f ms\n", time_it(3, 20, [&] { step(p, loss); }) * 1e3);
  }
  // Small CNN training step.
  {
    std::vector<dg::Tensor> p = {param({32, 3, 3, 3}, 27),
                                 dg::zeros({32}, cuda()).requires_grad_(),
                                 param({64, 32, 3, 3}, 288),
                                 dg::zeros({64}, cuda()).requires_grad_(),
                                 param({10, 64 * 8 * 8}, 64 * 8 * 8),
                                 dg::zeros({10}, cuda()).requires_grad_()};
    dg::Tensor x = dg::randn({128, 3, 32, 32}, cuda());
    dg::Tensor t = targets(128, 10);
    auto loss = [&] {
      dg::Tensor h = dg::max_pool2d(dg::relu(dg::conv2d(x, p[0], p[1], {1, 1}, {1, 1})), {2, 2});
      h = dg::max_pool2d(dg::relu(dg::conv2d(h, p[2], p[3], {1, 1}, {1, 1})), {2, 2});
      return dg::cross_entropy(dg::linear(h.flatten(1), p[4], p[5]), t);
    };
    std::printf("cnn_step_ms %.3f ms\n", time_it(3, 20, [&] { step(p, loss); }) * 1e3);
  }
  return 0;
}
