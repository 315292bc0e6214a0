// Saved-tensor hooks and activation checkpointing: gradients equal to the
// plain run's (which gradcheck covers elsewhere), dropout masks replayed,
// create_graph, nesting, retain_graph, and the memory it saves.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using Catch::Matchers::Contains;

namespace {
// A small MLP as a list of functions over fixed float64 weights.
struct Mlp {
  std::vector<Tensor> w, b;
  Mlp(int64_t layers, int64_t width) {
    dg::manual_seed(7);
    for (int64_t i = 0; i < layers; ++i) {
      w.push_back((dg::randn({width, width}, kFloat64) / std::sqrt(double(width))).requires_grad_());
      b.push_back((dg::randn({width}, kFloat64) * 0.1).requires_grad_());
    }
  }
  std::vector<std::function<Tensor(const Tensor&)>> layers(double dropout = 0.0) const {
    std::vector<std::function<Tensor(const Tensor&)>> fs;
    for (size_t i = 0; i < w.size(); ++i) {
      Tensor wi = w[i], bi = b[i];
      fs.push_back([wi, bi, dropout](const Tensor& x) {
        Tensor y = dg::tanh(dg::linear(x, wi, bi));
        return dropout > 0 ? dg::dropout(y, dropout, true) : y;
      });
    }
    return fs;
  }
  variable_list params() const {
    variable_list p = w;
    p.insert(p.end(), b.begin(), b.end());
    return p;
  }
};

Tensor run_plain(const std::vector<std::function<Tensor(const Tensor&)>>& fs, Tensor x) {
  for (const auto& f : fs) x = f(x);
  return x;
}

void check_all_close(const variable_list& a, const variable_list& b, double tol = 1e-12) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].defined());
    REQUIRE(b[i].defined());
    CHECK(close(a[i], b[i], tol));
  }
}
}  // namespace

TEST_CASE("saved_tensors_hooks: pack and unpack see every saved tensor; gradients unchanged", "[checkpoint][hooks]") {
  Tensor x = leaf({4});
  Tensor w = leaf({4});
  int packed = 0, unpacked = 0;
  Tensor y;
  {
    autograd::graph::saved_tensors_hooks hooks(
        [&](const Tensor& t) -> std::any {
          ++packed;
          CHECK_FALSE(t.requires_grad());  // data only, no history
          return t.clone();
        },
        [&](const std::any& p) {
          ++unpacked;
          return std::any_cast<Tensor>(p);
        });
    y = (dg::sin(x) * w).sum();  // sin saves x; mul saves sin(x) and w
  }
  CHECK(packed == 3);
  variable_list g = autograd::grad({y}, {x, w});
  CHECK(unpacked == 3);
  CHECK(close(g[0], dg::cos(x.detach()) * w.detach(), 1e-12));
  CHECK(close(g[1], dg::sin(x.detach()), 1e-12));
}

TEST_CASE("saved_tensors_hooks: nested guards, the innermost in force; bad unpack results refused",
          "[checkpoint][hooks]") {
  Tensor x = leaf({3});
  int outer = 0, inner = 0;
  Tensor y1, y2;
  auto id_unpack = [](const std::any& p) { return std::any_cast<Tensor>(p); };
  {
    autograd::graph::saved_tensors_hooks a(
        [&](const Tensor& t) -> std::any {
          ++outer;
          return t;
        },
        id_unpack);
    {
      autograd::graph::saved_tensors_hooks b(
          [&](const Tensor& t) -> std::any {
            ++inner;
            return t;
          },
          id_unpack);
      y1 = dg::exp(x);
    }
    y2 = dg::sin(x);
  }
  CHECK(inner == 1);
  CHECK(outer == 1);
  Tensor z;
  {
    autograd::graph::saved_tensors_hooks bad([](const Tensor& t) -> std::any { return t; },
                                             [](const std::any& p) { return std::any_cast<Tensor>(p).sum(); });
    z = dg::sin(x).sum();
  }
  CHECK_THROWS_WITH(z.backward(), Contains("unpack hook returned a"));
}

TEST_CASE("save_on_cpu keeps CPU tensors as they are", "[checkpoint][hooks]") {
  Tensor x = leaf({5});
  Tensor y;
  {
    autograd::graph::save_on_cpu keep;
    y = (x * x * x).sum();
  }
  Tensor g = autograd::grad({y}, {x})[0];
  CHECK(close(g, x.detach() * x.detach() * 3, 1e-12));
}

TEST_CASE("checkpoint gives the gradients of the plain run", "[checkpoint]") {
  Mlp m(4, 8);
  Tensor x = leaf({3, 8});
  auto fs = m.layers();
  variable_list inputs = m.params();
  inputs.push_back(x);
  variable_list plain = autograd::grad({run_plain(fs, x).pow(2).sum()}, inputs);
  Tensor y = utils::checkpoint([&](const Tensor& in) { return run_plain(fs, in); }, x);
  CHECK(y.grad_fn());
  variable_list ck = autograd::grad({y.pow(2).sum()}, inputs);
  check_all_close(plain, ck);
}

TEST_CASE("checkpoint replays dropout's mask and restores the generator", "[checkpoint]") {
  Mlp m(3, 8);
  Tensor x = leaf({4, 8});
  auto fs = m.layers(/*dropout=*/0.5);
  dg::manual_seed(123);
  variable_list plain = autograd::grad({run_plain(fs, x).sum()}, {x});
  const Tensor after_plain = dg::rand({4}, kFloat64);
  dg::manual_seed(123);
  Tensor y = utils::checkpoint([&](const Tensor& in) { return run_plain(fs, in); }, x);
  variable_list ck = autograd::grad({y.sum()}, {x});
  // The recomputation in backward did not move the stream the user sees.
  const Tensor after_ck = dg::rand({4}, kFloat64);
  check_all_close(plain, ck);
  CHECK(close(after_plain, after_ck, 0));
}

TEST_CASE("checkpoint works with create_graph, retain_graph and nesting", "[checkpoint]") {
  Tensor x = leaf({5});
  auto f = [](const Tensor& t) { return dg::sin(t) * t * t; };
  // Second derivative through a checkpoint equals the plain one.
  Tensor g_plain = autograd::grad({f(x).sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor gg_plain = autograd::grad({g_plain.sum()}, {x})[0];
  Tensor y = utils::checkpoint(f, x);
  Tensor g = autograd::grad({y.sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  CHECK(close(g, g_plain, 1e-12));
  CHECK(close(gg, gg_plain, 1e-12));

  // retain_graph: the second backward recomputes again.
  Tensor z = utils::checkpoint(f, x).sum();
  Tensor g1 = autograd::grad({z}, {x}, {}, /*retain_graph=*/true)[0];
  Tensor g2 = autograd::grad({z}, {x})[0];
  CHECK(close(g1, g2, 0));

  // Nested: a checkpoint inside a checkpointed function.
  Tensor n = utils::checkpoint([&](const Tensor& t) { return dg::exp(utils::checkpoint(f, t)) * 2; }, x);
  Tensor gn = autograd::grad({n.sum()}, {x})[0];
  Tensor gn_plain = autograd::grad({(dg::exp(f(x)) * 2).sum()}, {x})[0];
  CHECK(close(gn, gn_plain, 1e-12));
}

TEST_CASE("checkpoint refuses a function whose outputs need no grad", "[checkpoint]") {
  Tensor x = dg::randn({3}, kFloat64);
  CHECK_THROWS_WITH(utils::checkpoint([](const Tensor& t) { return t * 2; }, x),
                    Contains("returned no tensor that requires grad"));
  NoGradGuard no_grad;  // nothing to save: fine
  CHECK(utils::checkpoint([](const Tensor& t) { return t * 2; }, x).defined());
}

TEST_CASE("checkpoint_sequential: same gradients, and only segment boundaries kept", "[checkpoint]") {
  // Activations (512 x 32 doubles, 128 KiB per layer) dominate; weights
  // and their gradients (8 KiB each) do not.
  const int64_t layers = 32, width = 32, batch = 512, segments = 8;
  Mlp m(layers, width);
  Tensor x = dg::randn({batch, width}, kFloat64);
  auto fs = m.layers();
  const variable_list params = m.params();

  auto step = [&](bool ckpt) {
    cpu::reset_peak_memory_stats();
    const size_t base = cpu::memory_allocated();
    Tensor out = ckpt ? utils::checkpoint_sequential(fs, segments, x) : run_plain(fs, x);
    variable_list g = autograd::grad({out.pow(2).mean()}, params);
    return std::make_pair(g, cpu::max_memory_allocated() - base);
  };
  auto [g_plain, peak_plain] = step(false);
  auto [g_ck, peak_ck] = step(true);
  check_all_close(g_plain, g_ck);
  // Plain: each layer keeps its tanh output (the next layer's input): 32
  // activations. Checkpointed: 7 segment inputs + the last segment's 4 + the
  // 4 of the segment being recomputed: 15, a ratio near 0.5.
  INFO("peak plain " << peak_plain << " B, checkpointed " << peak_ck << " B");
  CHECK(double(peak_ck) < 0.6 * double(peak_plain));
  CHECK(double(peak_ck) > 0.3 * double(peak_plain));  // what checkpointing cannot beat
  CHECK_THROWS_WITH(utils::checkpoint_sequential(fs, 0, x), Contains("segments"));
}
