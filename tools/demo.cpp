// dg_demo: a CNN trained on Fashion-MNIST with dg::nn, dg::optim and dg::data
// (checkpointed, reloaded and re-evaluated), then the autograd examples of the
// seed text. Each step checks its numbers (accuracy >= 90%, the reloaded
// model's accuracy identical, the seed examples against their closed forms),
// so the demo doubles as a smoke test: it exits non-zero when one is off.
#include <dynagrad/dynagrad.h>

#include "fashion_net.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <string>
#include <vector>

namespace {

using dg_demo::FashionNet;
using dg_demo::normalized;
using dg_demo::test_accuracy;

int g_failures = 0;

// Prints `what = got` and whether it matches `want`.
void report(const std::string& what, double got, double want, double tol = 1e-5) {
  const bool ok = std::abs(got - want) <= tol * (1.0 + std::abs(want));
  if (!ok) ++g_failures;
  std::printf("  %-34s = %-12.6g (expected %.6g)%s\n", what.c_str(), got, want, ok ? "" : "  <-- MISMATCH");
}

void section(const char* title) { std::printf("\n== %s\n", title); }

// PyTorch's torch.tensor(2.0, requires_grad=True): a float32 0-dim leaf.
dg::Tensor scalar_leaf(double v) { return dg::tensor(v, dg::TensorOptions().dtype(dg::kFloat32).requires_grad(true)); }

std::string grad_fn_name(const dg::Tensor& t) { return t.grad_fn() ? t.grad_fn()->name() : "None"; }

void dynamic_graph() {
  section("y = x*x + sin(x) at x = 2; y.backward()");
  auto x = scalar_leaf(2.0);
  auto y = x * x + dg::sin(x);
  y.backward();
  std::printf("  y.grad_fn()->name()                = %s\n", grad_fn_name(y).c_str());
  report("y", y.item<double>(), 4.0 + std::sin(2.0));
  report("x.grad  (2x + cos x)", x.grad().item<double>(), 4.0 + std::cos(2.0));
}

void leaves_and_grads() {
  section("w, b leaves; loss = (w*2 + b).sum(); loss.backward()");
  dg::manual_seed(0);
  auto w = dg::randn({10}, dg::requires_grad());
  auto b = dg::zeros({10}, dg::requires_grad());
  auto y = w * 2 + b;
  auto loss = y.sum();
  loss.backward();
  std::printf("  w.is_leaf() = %d, y.is_leaf() = %d, y.grad() defined = %d\n", int(w.is_leaf()), int(y.is_leaf()),
              int(y.grad().defined()));
  // Every element of w.grad is 2 and of b.grad is 1, so their sums say it all.
  report("w.grad().sum()  (10 * 2)", w.grad().sum().item<double>(), 20.0);
  report("b.grad().sum()  (10 * 1)", b.grad().sum().item<double>(), 10.0);
}

void accumulation() {
  section("gradient accumulation: two backward calls");
  auto x = scalar_leaf(2.0);
  for (int call = 1; call <= 2; ++call) {
    auto loss = x * x;  // a fresh graph each time, as in a training loop
    loss.backward();
    report("x.grad after backward #" + std::to_string(call), x.grad().item<double>(), 4.0 * call);
  }
  {
    dg::NoGradGuard no_grad;  // what optimizer.zero_grad() does
    x.mutable_grad().zero_();
  }
  report("x.grad after zero_()", x.grad().item<double>(), 0.0);
}

void no_grad() {
  section("NoGradGuard: no graph is recorded");
  auto x = scalar_leaf(2.0);
  dg::Tensor y;
  {
    dg::NoGradGuard guard;
    y = x * 3;
  }
  auto z = x * 3;
  std::printf("  inside:  y.requires_grad() = %d, grad_fn = %s\n", int(y.requires_grad()), grad_fn_name(y).c_str());
  std::printf("  outside: z.requires_grad() = %d, grad_fn = %s\n", int(z.requires_grad()), grad_fn_name(z).c_str());
  if (y.requires_grad() || !z.requires_grad()) {
    ++g_failures;
    std::printf("  <-- MISMATCH: expected only z to require grad\n");
  }
  report("y (still computed)", y.item<double>(), 6.0);
}

void higher_order() {
  section("higher order: y = x.pow(3), autograd::grad with create_graph");
  auto x = scalar_leaf(2.0);
  auto y = x.pow(3);
  auto dy = dg::autograd::grad({y}, {x}, {}, /*retain_graph=*/std::nullopt, /*create_graph=*/true)[0];
  auto d2y = dg::autograd::grad({dy}, {x})[0];
  std::printf("  dy_dx.grad_fn()->name()            = %s\n", grad_fn_name(dy).c_str());
  report("dy/dx    (3x^2)", dy.item<double>(), 12.0);
  report("d2y/dx2  (6x)", d2y.item<double>(), 12.0);
  std::printf("  x.grad() defined = %d (autograd::grad leaves .grad alone)\n", int(x.grad().defined()));
}

// The seed's custom Function: forward saves x, backward returns 2 * x * grad.
struct Square : dg::autograd::Function<Square> {
  static dg::Tensor forward(dg::autograd::AutogradContext* ctx, dg::Tensor x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static dg::autograd::variable_list backward(dg::autograd::AutogradContext* ctx, dg::autograd::variable_list grads) {
    auto x = ctx->get_saved_variables()[0];
    return {grads[0] * 2 * x};
  }
};

void custom_function() {
  section("custom autograd::Function: Square");
  auto x = scalar_leaf(3.0);
  auto y = Square::apply(x);
  y.backward();
  std::printf("  y.grad_fn()->name()                = %s\n", grad_fn_name(y).c_str());
  report("Square(3)", y.item<double>(), 9.0);
  report("x.grad  (2x)", x.grad().item<double>(), 6.0);
}

// ---- Fashion-MNIST: a small CNN, trained, saved, reloaded ---------------------------

void fashion_mnist(int epochs) {
  section("Fashion-MNIST: CNN (2 conv blocks + BatchNorm + dropout), Adam, cosine schedule");
  dg::manual_seed(0);
  FashionNet model;
  const int64_t batch_size = 64;
  auto train_set = normalized(dg::data::datasets::MNIST::Mode::kTrain);
  const size_t train_size = *train_set.size();
  const size_t batches = train_size / batch_size;
  auto loader = dg::data::make_data_loader<dg::data::samplers::RandomSampler>(
      std::move(train_set), dg::data::DataLoaderOptions().batch_size(batch_size).workers(2).drop_last(true));
  dg::optim::Adam optimizer(model->parameters(), dg::optim::AdamOptions(2e-3));
  dg::optim::CosineAnnealingLR scheduler(optimizer, epochs * batches);
  dg::data::ProgressBar progress(batches);
  const auto start = std::chrono::steady_clock::now();
  double accuracy = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    progress.start_epoch(epoch, epochs);
    for (auto& batch : *loader) {
      optimizer.zero_grad();
      auto loss = dg::nn::functional::cross_entropy(model(batch.data), batch.target);
      loss.backward();
      optimizer.step();
      scheduler.step();
      progress.update(batch.target.size(0), loss.item<double>());
    }
    progress.finish();
    accuracy = test_accuracy(model);
    std::printf("  epoch %d: test accuracy %.2f%%\n", epoch, 100 * accuracy);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  trained %d epochs in %.1f s\n", epochs, seconds);
  report("test accuracy >= 0.90", accuracy >= 0.90 ? 1.0 : 0.0, 1.0);

  const std::string path = "fashion_cnn.safetensors";
  dg::save(model, path);
  FashionNet reloaded;
  dg::load(reloaded, path);
  const double again = test_accuracy(reloaded);
  std::printf("  saved to %s, reloaded into a fresh model: test accuracy %.2f%%\n", path.c_str(), 100 * again);
  report("reloaded accuracy == trained accuracy", again, accuracy, 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  // dg_demo [epochs]: Fashion-MNIST first, then the seed's autograd examples.
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 4;
  try {
    if (epochs > 0) fashion_mnist(epochs);
    dynamic_graph();
    leaves_and_grads();
    accumulation();
    no_grad();
    higher_order();
    custom_function();
  } catch (const dg::Error& e) {
    std::fprintf(stderr, "\ndg_demo: dynagrad error: %s\n", e.what());
    return 2;
  }
  if (g_failures) {
    std::printf("\ndg_demo: %d check(s) FAILED\n", g_failures);
    return 1;
  }
  std::printf("\ndg_demo: all checks passed\n");
  return 0;
}
