// The autograd API details PyTorch's own C++ autograd tests rely on (issue
// 14's "wrong today" list), each checked against what LibTorch 1.13 does:
// hooks across in-place ops, reentrant backward depth, custom Function
// details, empty `inputs`, warnings, IValue saved_data, node hooks.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
using namespace dg::autograd;
using Catch::Matchers::Contains;

namespace {
// Collects warnings instead of printing them.
struct CollectWarnings : WarningHandler {
  std::vector<std::string> msgs;
  void process(const Warning& w) override { msgs.push_back(w.msg()); }
};
}  // namespace

TEST_CASE("tensor hooks registered before an in-place op stay with the old value, each fires once",
          "[autograd][hooks]") {
  // LibTorch 1.13: h1 sees 2 (d sum(2y)/dy), h2 sees 1, each once, h2 first.
  Tensor y = dg::ones({5}, dg::requires_grad()).clone();
  int h1 = 0, h2 = 0;
  std::vector<int> order;
  y.register_hook([&](const Tensor& g) {
    ++h1;
    order.push_back(1);
    check_values(g.to(kFloat64), {2, 2, 2, 2, 2});
  });
  y.mul_(2);
  y.register_hook([&](const Tensor& g) {
    ++h2;
    order.push_back(2);
    check_values(g.to(kFloat64), {1, 1, 1, 1, 1});
  });
  y.sum().backward();
  CHECK(h1 == 1);
  CHECK(h2 == 1);
  CHECK(order == std::vector<int>{2, 1});
}

TEST_CASE("retain_grad follows the tensor through in-place ops", "[autograd][hooks]") {
  // LibTorch 1.13 gives 1 in both cases (the gradient of the latest version).
  Tensor a = dg::tensor({1.0}, dg::requires_grad()).clone();
  a.retain_grad();
  a.mul_(2);
  a.sum().backward();
  check_values(a.grad().to(kFloat64), {1});

  Tensor b = dg::tensor({1.0}, dg::requires_grad()).clone();
  b.mul_(2);
  b.retain_grad();
  b.mul_(3);
  b.sum().backward();
  check_values(b.grad().to(kFloat64), {1});
}

TEST_CASE("remove_hook works for hooks of older versions and refuses a second removal", "[autograd][hooks]") {
  Tensor y = dg::ones({3}, dg::requires_grad()).clone();
  int calls = 0;
  unsigned h0 = y.register_hook([&](const Tensor&) { ++calls; });
  y.add_(1);
  unsigned h1 = y.register_hook([&](const Tensor&) { ++calls; });
  CHECK(h0 != h1);
  y.remove_hook(h0);
  CHECK_THROWS_WITH(y.remove_hook(h0), Contains("already removed"));
  CHECK_THROWS_WITH(y.remove_hook(99), Contains("no hook with handle 99"));
  y.sum().backward();
  CHECK(calls == 1);
}

TEST_CASE("a hook returning a gradient of another shape is an error naming the hook", "[autograd][hooks]") {
  Tensor x = dg::ones({3}, dg::requires_grad());
  Tensor y = x * 2;
  y.register_hook([](const Tensor& g) { return g.sum(); });
  CHECK_THROWS_WITH(y.sum().backward(), Contains("changed the size of value"));
  Tensor z = x * 3;
  z.grad_fn()->register_prehook([](const variable_list& g) { return variable_list{g[0], g[0]}; });
  CHECK_THROWS_WITH(z.sum().backward(), Contains("pre-hook of MulBackward1 returned 2 gradients; expected 1"));
}

namespace {
// PyTorch's DeepReentrant test, re-expressed: each backward runs a forward
// and a backward of the same function one step shallower.
struct DeepReenter : Function<DeepReenter> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    {
      AutoGradMode enable_grad(true);
      ctx->saved_data["x"] = x.clone().requires_grad_() - 1;
    }
    return ctx->saved_data["x"].toTensor().detach();
  }
  static variable_list backward(AutogradContext* ctx, variable_list go) {
    if (!ctx->saved_data["x"].toTensor().is_nonzero()) return go;
    {
      AutoGradMode enable_grad(true);
      apply(ctx->saved_data["x"].toTensor()).sum().backward();
      return {ctx->saved_data["x"].toTensor().grad()};
    }
  }
};
}  // namespace

TEST_CASE("reentrant backward nested 8000 deep does not overflow the stack", "[autograd][reentrant]") {
  // Non-leaf .grad reads warn (as LibTorch): keep them quiet here.
  CollectWarnings quiet;
  WarningUtils::WarningHandlerGuard guard(&quiet);
  Tensor v = dg::tensor({8193.0f}, dg::requires_grad());
  DeepReenter::apply(v).sum().backward();
  SUCCEED("no crash");
}

namespace {
struct Identity : Function<Identity> {
  static Tensor forward(AutogradContext*, Tensor x) { return x.view_as(x); }
  static variable_list backward(AutogradContext*, variable_list g) {
    REQUIRE(g[0].defined());  // materialized
    CHECK(g[0].sum().item<double>() == 0);
    return {g[0] + 1};
  }
};
// Returns an undefined gradient for its input.
struct DropGrad : Function<DropGrad> {
  static Tensor forward(AutogradContext*, Tensor x) { return x.view_as(x); }
  static variable_list backward(AutogradContext*, variable_list) { return {Tensor()}; }
};
}  // namespace

TEST_CASE("a custom backward receiving no gradient is called with zeros (set_materialize_grads default)",
          "[autograd][function]") {
  Tensor x = dg::ones({2}, dg::requires_grad());
  DropGrad::apply(Identity::apply(x)).sum().backward();
  // Identity's backward ran (its +1 reached x).
  check_values(x.grad().to(kFloat64), {1, 1});
}

namespace {
struct WriteInPlace : Function<WriteInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor v) {
    v.data_ptr<float>()[0] = 2;
    ctx->mark_dirty({v});
    return v;
  }
  static variable_list backward(AutogradContext*, variable_list g) { return g; }
};
struct AddInPlace : Function<AddInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor v) {
    v.add_(1);
    ctx->mark_dirty({v});
    return v;
  }
  static variable_list backward(AutogradContext*, variable_list g) { return g; }
};
}  // namespace

TEST_CASE("mark_dirty bumps the version counter", "[autograd][function]") {
  // LibTorch 1.13: 0 -> 1 for a raw write, 0 -> 2 for add_ + mark_dirty.
  Tensor x = dg::randn({3}, dg::requires_grad());
  Tensor c = x.clone();
  CHECK(c._version() == 0);
  WriteInPlace::apply(c);
  CHECK(c._version() == 1);
  Tensor c2 = x.clone();
  AddInPlace::apply(c2);
  CHECK(c2._version() == 2);
}

namespace {
struct ScaleBy : Function<ScaleBy> {
  static Tensor forward(AutogradContext* ctx, Tensor v, int64_t n) {
    ctx->saved_data["n"] = n;
    return v * n;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    // One more gradient than arguments, undefined: dropped (LibTorch's tutorial).
    return {g[0] * ctx->saved_data["n"].toInt(), Tensor(), Tensor()};
  }
};
struct TooMany : Function<TooMany> {
  static Tensor forward(AutogradContext*, Tensor v) { return v * 1; }
  static variable_list backward(AutogradContext*, variable_list g) { return {g[0], g[0]}; }
};
struct ListAndOptional : Function<ListAndOptional> {
  static Tensor forward(AutogradContext* ctx, std::vector<Tensor> xs, std::optional<Tensor> w, double s) {
    ctx->saved_data["s"] = s;
    return (xs[0] + xs[1] * 2 + w.value() * 3) * s;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const double s = ctx->saved_data["s"].toDouble();
    CHECK(ctx->needs_input_grad({IndexRange{0, 2}}));
    return {g[0] * s, g[0] * 2 * s, g[0] * 3 * s, Tensor()};
  }
};
}  // namespace

TEST_CASE("custom backward: extra undefined gradients are dropped, extra defined ones refused",
          "[autograd][function]") {
  Tensor x = dg::randn({3}, dg::requires_grad());
  ScaleBy::apply(x, 3).sum().backward();
  check_values(x.grad().to(kFloat64), {3, 3, 3}, 1e-6);
  Tensor y = dg::randn({3}, dg::requires_grad());
  CHECK_THROWS_WITH(TooMany::apply(y).sum().backward(), Contains("returned an incorrect number of gradients"));
}

TEST_CASE("custom functions taking std::vector<Tensor> and std::optional<Tensor> give them gradients",
          "[autograd][function]") {
  Tensor a = dg::randn({2}, dg::requires_grad()), b = dg::randn({2}, dg::requires_grad());
  Tensor w = dg::randn({2}, dg::requires_grad());
  ListAndOptional::apply(std::vector<Tensor>{a, b}, std::optional<Tensor>(w), 0.5).sum().backward();
  check_values(a.grad().to(kFloat64), {0.5, 0.5}, 1e-6);
  check_values(b.grad().to(kFloat64), {1, 1}, 1e-6);
  check_values(w.grad().to(kFloat64), {1.5, 1.5}, 1e-6);
  // The same, checked numerically.
  Tensor a64 = leaf({2}), b64 = leaf({2}), w64 = leaf({2});
  CHECK(gradcheck(
      [](const variable_list& in) {
        return variable_list{
            ListAndOptional::apply(std::vector<Tensor>{in[0], in[1]}, std::optional<Tensor>(in[2]), 0.5)};
      },
      {a64, b64, w64}));
}

namespace {
struct OnceDiff : Function<OnceDiff> {
  static constexpr bool once_differentiable = true;
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {g[0] * 2 * ctx->get_saved_variables()[0]};
  }
};
}  // namespace

TEST_CASE("once_differentiable functions give a first gradient and refuse a second", "[autograd][function]") {
  Tensor x = leaf({3});
  Tensor g = autograd::grad({OnceDiff::apply(x).sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(close(g, x.detach() * 2, 1e-12));
  CHECK(g.requires_grad());
  CHECK_THROWS_WITH(g.sum().backward(), Contains("once_differentiable"));
}

TEST_CASE("empty `inputs` are refused as LibTorch does; a braced list compiles", "[autograd]") {
  Tensor w = dg::randn({3}, dg::requires_grad());
  CHECK_THROWS_WITH(autograd::grad({(w * 2).sum()}, {}), Contains("grad requires non-empty inputs"));
  CHECK_THROWS_WITH((w * 2).sum().backward({}, std::nullopt, false, std::vector<Tensor>{}),
                    Contains("'inputs' argument to backward cannot be empty"));
  Tensor v = dg::randn({3}, dg::requires_grad());
  (w * 3 + v).sum().backward({}, std::nullopt, false, {w});
  check_values(w.grad().to(kFloat64), {3, 3, 3}, 1e-6);
  CHECK_FALSE(v.grad().defined());
}

TEST_CASE("warnings go to the thread's handler and can become errors", "[autograd][warnings]") {
  CollectWarnings collect;
  WarningUtils::WarningHandlerGuard guard(&collect);
  Tensor x = dg::randn({3}, dg::requires_grad());
  Tensor y = x * 2;
  (void)y.grad();
  REQUIRE(collect.msgs.size() == 1);
  CHECK_THAT(collect.msgs[0], Contains("not a leaf Tensor is being accessed"));
  y.retain_grad();
  (void)y.grad();  // retained: no warning
  CHECK(collect.msgs.size() == 1);

  WarningUtils::set_warnAlways(true);
  Tensor w = dg::randn({3}, dg::requires_grad());
  (w * w).sum().backward({}, std::nullopt, /*create_graph=*/true);
  WarningUtils::set_warnAlways(false);
  REQUIRE(collect.msgs.size() == 2);
  CHECK_THAT(collect.msgs[1], Contains("create_graph=True will create a reference cycle"));
  w.mutable_grad() = Tensor();  // break the cycle the warning is about

  WarningUtils::set_warnings_as_errors(true);
  CHECK_THROWS_WITH((void)(x * 3).grad(), Contains("not a leaf Tensor"));
  WarningUtils::set_warnings_as_errors(false);
}

TEST_CASE("IValue accessors and their errors", "[autograd][ivalue]") {
  std::unordered_map<std::string, IValue> d;
  d["d"] = 2.5;
  d["i"] = 3;
  d["b"] = true;
  d["s"] = "name";
  d["t"] = dg::ones({2});
  d["il"] = std::vector<int64_t>{1, 2};
  d["tl"] = std::vector<Tensor>{dg::ones({1}), dg::zeros({1})};
  CHECK(d["d"].toDouble() == 2.5);
  CHECK(d["i"].toInt() == 3);
  CHECK(d["b"].toBool());
  CHECK(d["s"].toStringRef() == "name");
  CHECK(d["t"].toTensor().numel() == 2);
  CHECK(d["il"].toIntVector() == std::vector<int64_t>{1, 2});
  CHECK(d["tl"].toTensorVector().size() == 2);
  CHECK(d["x"].isNone());
  CHECK_THROWS_WITH(d["i"].toDouble(), Contains("expected Double but got Int"));
  CHECK_THROWS_WITH(d["d"].toTensor(), Contains("expected Tensor but got Double"));
}

TEST_CASE("set_requires_grad and AutoGradMode", "[autograd]") {
  Tensor x = dg::ones({2});
  x.set_requires_grad(true);
  CHECK(x.requires_grad());
  {
    AutoGradMode off(false);
    CHECK_FALSE((x * 2).requires_grad());
    AutoGradMode on(true);
    CHECK((x * 2).requires_grad());
  }
  CHECK(GradMode::is_enabled());
}

TEST_CASE("node hooks: next_functions, pre- and post-hooks with removable handles", "[autograd][hooks]") {
  Tensor a = leaf({3});
  Tensor b = leaf({3});
  Tensor c = a * b;
  const NodePtr& fn = c.grad_fn();
  REQUIRE(fn->next_functions().size() == 2);
  CHECK(fn->next_functions()[0].function->name() == "AccumulateGrad");
  CHECK(fn->name() == "MulBackward0");

  int pre = 0, post = 0;
  RemovableHandle hpre = fn->register_prehook([&](const variable_list& g) {
    ++pre;
    return variable_list{g[0] * 10};  // scales what MulBackward0 sees
  });
  RemovableHandle hpost = fn->register_hook([&](const variable_list& grad_inputs, const variable_list& grad_outputs) {
    ++post;
    CHECK(grad_inputs.size() == 2);
    CHECK(grad_outputs.size() == 1);
    return variable_list{grad_inputs[0], Tensor()};  // b gets no gradient
  });
  c.sum().backward({}, /*retain_graph=*/true);
  CHECK(pre == 1);
  CHECK(post == 1);
  CHECK(close(a.grad(), b.detach() * 10, 1e-12));
  CHECK_FALSE(b.grad().defined());

  hpre.remove();
  hpost.remove();
  CHECK_THROWS_WITH(hpre.remove(), Contains("already removed"));
  a.mutable_grad() = Tensor();
  c.sum().backward();
  CHECK(pre == 1);
  CHECK(close(a.grad(), b.detach(), 1e-12));
  CHECK(close(b.grad(), a.detach(), 1e-12));
}

TEST_CASE("hooks on AccumulateGrad and post-accumulate-grad hooks", "[autograd][hooks]") {
  Tensor w = leaf({2});
  Tensor y = (w * 3).sum();
  NodePtr acc = y.grad_fn()->next_functions()[0].function->next_functions()[0].function;
  REQUIRE(acc->name() == "AccumulateGrad");
  int acc_pre = 0;
  acc->register_prehook([&](const variable_list& g) {
    ++acc_pre;
    check_values(g[0], {3, 3});
    return variable_list{};
  });
  std::vector<double> seen;
  RemovableHandle h = w.register_post_accumulate_grad_hook([&](const Tensor& p) {
    // Runs after .grad was written: an optimizer step could go here.
    seen = values(p.grad());
  });
  y.backward();
  CHECK(acc_pre == 1);
  CHECK(seen == std::vector<double>{3, 3});
  h.remove();
  CHECK_THROWS_WITH(h.remove(), Contains("already removed"));
  Tensor nonleaf = w * 2;
  CHECK_THROWS_WITH(nonleaf.register_post_accumulate_grad_hook([](const Tensor&) {}), Contains("non-leaf"));
}
