// Runtime semantics beyond the seed: graph inspection, grad options, hooks,
// retain_grad, deep graphs, threads, broadcasting in backward.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "dynagrad/dynagrad.h"

using namespace dg;
using Catch::Matchers::Contains;

TEST_CASE("grad_fn names and next edges describe the graph", "[autograd]") {
  Tensor a = dg::ones({2}, dg::requires_grad());
  Tensor b = dg::ones({2}, dg::requires_grad());
  Tensor c = a * b;
  REQUIRE(c.grad_fn());
  CHECK(c.grad_fn()->name() == "MulBackward0");
  REQUIRE(c.grad_fn()->next_edges().size() == 2);
  CHECK(c.grad_fn()->next_edges()[0].function->name() == "AccumulateGrad");
  Tensor d = c.exp().sum();
  CHECK(d.grad_fn()->name() == "SumBackward0");
  CHECK(d.grad_fn()->next_edges()[0].function->name() == "ExpBackward0");
  CHECK(a.grad_fn() == nullptr);
  CHECK_FALSE((dg::ones({2}) * 3).requires_grad());
}

TEST_CASE("broadcast gradients are summed back to each input's shape", "[autograd]") {
  Tensor a = dg::randn({2, 1, 3}, dg::TensorOptions().dtype(kFloat64).requires_grad(true));
  Tensor b = dg::randn({4, 3}, dg::TensorOptions().dtype(kFloat64).requires_grad(true));
  (a * b).sum().backward();
  REQUIRE(a.grad().sizes() == IntArrayRef({2, 1, 3}));
  REQUIRE(b.grad().sizes() == IntArrayRef({4, 3}));
  // d/da sum(a*b) = sum of b over its rows, broadcast over a's first dim.
  Tensor expected_a = b.detach().sum({0}, true).unsqueeze(0).expand({2, 1, 3});
  CHECK(dg::allclose(a.grad(), expected_a));
  Tensor expected_b = a.detach().sum({0}).expand({4, 3});
  CHECK(dg::allclose(b.grad(), expected_b));
}

TEST_CASE("autograd::grad: inputs, allow_unused, grad_outputs, create_graph", "[autograd]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor z = dg::tensor({5.0}, dg::requires_grad());
  Tensor y = x * x;
  REQUIRE_THROWS_WITH(dg::autograd::grad({y.sum()}, {x, z}, {}, true), Contains("allow_unused"));
  variable_list g = dg::autograd::grad({y}, {x, z}, {dg::tensor({1.0, 10.0})}, true, false, /*allow_unused=*/true);
  CHECK(dg::allclose(g[0], dg::tensor({2.0, 40.0})));
  CHECK_FALSE(g[1].defined());
  CHECK_FALSE(g[0].requires_grad());
  REQUIRE_THROWS_WITH(dg::autograd::grad({dg::ones({1})}, {x}), Contains("does not require grad"));
}

TEST_CASE("backward(inputs=) accumulates only into the given tensors", "[autograd]") {
  Tensor a = dg::tensor({1.0}, dg::requires_grad());
  Tensor b = dg::tensor({2.0}, dg::requires_grad());
  (a * b).sum().backward({}, std::nullopt, false, TensorList{a});
  CHECK(dg::allclose(a.grad(), dg::tensor({2.0})));
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("double backward of tanh matches the analytic second derivative", "[autograd]") {
  Tensor x = dg::tensor({0.3, -0.7}, dg::requires_grad());
  Tensor g = dg::autograd::grad({x.tanh().sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor h = dg::autograd::grad({g.sum()}, {x})[0];
  for (int i = 0; i < 2; ++i) {
    double v = i == 0 ? 0.3 : -0.7, t = std::tanh(v);
    CHECK(g[i].item<double>() == Approx(1 - t * t));
    CHECK(h[i].item<double>() == Approx(-2 * t * (1 - t * t)));
  }
}

TEST_CASE("create_graph accumulation into .grad keeps a graph", "[autograd]") {
  Tensor x = dg::tensor(3.0, dg::requires_grad());
  (x * x * x).backward({}, std::nullopt, /*create_graph=*/true);
  REQUIRE(x.grad().requires_grad());
  Tensor g = x.grad();
  CHECK(g.item<double>() == Approx(27.0));
  Tensor g2 = dg::autograd::grad({g}, {x})[0];
  CHECK(g2.item<double>() == Approx(18.0));
}

TEST_CASE("tensor hooks: order, replacement, removal, leaves and non-leaves", "[autograd][hooks]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  std::vector<int> order;
  x.register_hook([&](const Tensor&) { order.push_back(1); });
  unsigned h2 = x.register_hook([&](const Tensor& g) {
    order.push_back(2);
    return g * 10;
  });
  Tensor y = x * 3;
  y.register_hook([&](const Tensor& g) {
    order.push_back(0);
    return g + 1;  // y's gradient becomes 2 instead of 1
  });
  y.sum().backward();
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK(dg::allclose(x.grad(), dg::tensor({60.0, 60.0})));
  x.remove_hook(h2);
  x.mutable_grad().zero_();
  order.clear();
  (x * 3).sum().backward();
  CHECK(order == std::vector<int>{1});
  CHECK(dg::allclose(x.grad(), dg::tensor({3.0, 3.0})));
  REQUIRE_THROWS_WITH(dg::ones({1}).register_hook([](const Tensor& g) { return g; }), Contains("require"));
}

TEST_CASE("retain_grad keeps a non-leaf's gradient and accumulates it", "[autograd]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor y = x * x;
  y.retain_grad();
  CHECK(y.retains_grad());
  Tensor z = (y * 3).sum();
  z.backward({}, true);
  CHECK(dg::allclose(y.grad(), dg::tensor({3.0, 3.0})));
  z.backward();
  CHECK(dg::allclose(y.grad(), dg::tensor({6.0, 6.0})));
  CHECK(dg::allclose(x.grad(), dg::tensor({12.0, 24.0})));
}

TEST_CASE("detach and requires_grad_ rules", "[autograd]") {
  Tensor x = dg::ones({2}, dg::requires_grad());
  Tensor y = x * 2;
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data_ptr() == y.data_ptr());
  CHECK(d.is_leaf());
  REQUIRE_THROWS_WITH(dg::ones({2}, dg::kInt64).requires_grad_(), Contains("floating point"));
  REQUIRE_THROWS_AS(dg::ones({2}, dg::TensorOptions().dtype(kInt64).requires_grad(true)), dg::Error);
}

TEST_CASE("destroying a graph 150,000 nodes deep does not overflow the stack", "[autograd][deep]") {
  Tensor x = dg::ones({1}, dg::requires_grad());
  Tensor y = x;
  for (int i = 0; i < 150000; ++i) y = y * 1.0;
  CHECK(y.grad_fn());
  y.reset();  // the whole chain goes here
  SUCCEED("destroyed");
}

TEST_CASE("backward through a 20,000-node chain", "[autograd][deep]") {
  Tensor x = dg::tensor({1.0}, dg::requires_grad());
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 0.5;
  y = y * 2.0;
  y.sum().backward();
  CHECK(x.grad().item<double>() == 2.0);
  CHECK(y.item<double>() == Approx(2.0 * (1.0 + 10000.0)));
}

TEST_CASE("backward from several threads: independent graphs and one shared leaf", "[autograd][threads]") {
  Tensor shared = dg::tensor({1.0, 2.0, 3.0}, dg::requires_grad());
  constexpr int kThreads = 4, kIters = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kIters; ++i) {
          Tensor own = dg::tensor({double(t)}, dg::requires_grad());
          Tensor loss = (shared * 2).sum() + (own * own).sum();
          loss.backward();
          if (own.grad().item<double>() != 2.0 * t) failures++;
        }
      } catch (...) {
        failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  CHECK(dg::allclose(shared.grad(), dg::full({3}, 2.0 * kThreads * kIters, dg::kFloat64)));
}

TEST_CASE("in-place ops bump the version counter once and record history", "[autograd][inplace]") {
  Tensor w = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor a = w * 1;
  uint32_t v = a._version();
  a.mul_(3.0);
  CHECK(a._version() == v + 1);
  CHECK(a.grad_fn()->name() == "MulBackward1");
  a.sum().backward();
  CHECK(dg::allclose(w.grad(), dg::tensor({3.0, 3.0})));

  // An in-place op whose backward needs the overwritten value (self) still
  // gets it right: d/dw of (w*1) *= w is 2w.
  Tensor w2 = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor b = w2 * 1;
  b.mul_(w2);
  b.sum().backward();
  CHECK(dg::allclose(w2.grad(), dg::tensor({2.0, 4.0})));
}

TEST_CASE("copy_ and fill_ route gradients like PyTorch", "[autograd][inplace]") {
  Tensor src = dg::tensor({1.0, 2.0, 3.0}, dg::requires_grad());
  Tensor dst = dg::zeros({2, 3}, dg::kFloat64);
  dst.copy_(src);  // broadcast copy: src's gradient is summed over the rows
  (dst * 2).sum().backward();
  CHECK(dg::allclose(src.grad(), dg::full({3}, 4.0, dg::kFloat64)));

  Tensor x = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor y = x * 1;
  y.fill_(5.0);
  (y * x).sum().backward();  // through fill_, y no longer depends on x
  CHECK(dg::allclose(x.grad(), dg::tensor({5.0, 5.0})));
}

TEST_CASE("to(dtype) is differentiable", "[autograd]") {
  Tensor x = dg::tensor({1.0, 2.0}, dg::dtype(dg::kFloat64).requires_grad(true));
  Tensor y = x.to(dg::kFloat32);
  CHECK(y.dtype() == dg::kFloat32);
  (y * y).sum().backward();
  REQUIRE(x.grad().dtype() == dg::kFloat64);
  CHECK(dg::allclose(x.grad(), dg::tensor({2.0, 4.0})));
}

TEST_CASE("custom Function: needs_input_grad, mark_dirty, non-differentiable outputs", "[autograd][function]") {
  struct ScaleInPlace : dg::autograd::Function<ScaleInPlace> {
    static Tensor forward(dg::autograd::AutogradContext* ctx, Tensor x, double k) {
      ctx->saved_data["k"] = k;
      x.mul_(k);
      ctx->mark_dirty({x});
      return x;
    }
    static variable_list backward(dg::autograd::AutogradContext* ctx, variable_list g) {
      CHECK(ctx->needs_input_grad(0));
      return {g[0] * ctx->saved_data["k"].toDouble(), Tensor()};
    }
  };
  Tensor w = dg::tensor({1.0, 2.0}, dg::requires_grad());
  Tensor a = w * 1;
  uint32_t v = a._version();
  Tensor b = ScaleInPlace::apply(a, 4.0);
  // mul_ bumps once and mark_dirty once more (LibTorch 1.13 does the same).
  CHECK(a._version() == v + 2);
  CHECK(dg::allclose(b, dg::tensor({4.0, 8.0})));
  b.sum().backward();
  CHECK(dg::allclose(w.grad(), dg::tensor({4.0, 4.0})));
}
