// Saved tensors are freed after backward, and no pattern PyTorch users rely on
// leaks: the runtime counts live TensorImpls and Nodes, and every scenario must
// bring both back to where they started.
#include <catch2/catch.hpp>

#include "dynagrad/dynagrad.h"

using namespace dg;
using Catch::Matchers::Contains;

namespace {
struct LiveCounts {
  int64_t impls = dg::detail::live_tensor_impls();
  int64_t nodes = dg::detail::live_nodes();
};
void check_back_to(const LiveCounts& before) {
  CHECK(dg::detail::live_tensor_impls() == before.impls);
  CHECK(dg::detail::live_nodes() == before.nodes);
}
}  // namespace

TEST_CASE("saved tensors are freed once their node ran, unless retain_graph", "[memory]") {
  Tensor x = dg::randn({100}, dg::requires_grad());
  Tensor loss = x.exp().exp().exp().sum();  // each exp keeps (an alias of) its output
  const int64_t with_graph = dg::detail::live_tensor_impls();
  loss.backward();
  // Three saved outputs went; x.grad came.
  CHECK(dg::detail::live_tensor_impls() == with_graph - 3 + 1);
  REQUIRE_THROWS_WITH(loss.backward(), Contains("second time") && Contains("retain_graph=true"));
}

TEST_CASE("no leaks: saved outputs, retain_grad, hooks, custom functions, create_graph", "[memory]") {
  const LiveCounts before;
  {
    Tensor x = dg::randn({8}, dg::kFloat64).requires_grad_();
    Tensor other = dg::randn({8}, dg::kFloat64);
    // An op saving its own output, an in-place op on a view, a retained grad.
    Tensor y = x.exp();
    Tensor z = y * 1;
    z.narrow(0, 0, 4).mul_(2.0);
    z.retain_grad();
    // A hook that captures another tensor.
    x.register_hook([other](const Tensor& g) { return g + other * 0; });
    z.sum().backward();
    CHECK(z.grad().defined());
  }
  check_back_to(before);
  {
    struct SaveOutput : dg::autograd::Function<SaveOutput> {
      static Tensor forward(dg::autograd::AutogradContext* ctx, const Tensor& x) {
        Tensor out = x.exp();
        ctx->save_for_backward({out, x});
        return out;
      }
      static variable_list backward(dg::autograd::AutogradContext* ctx, variable_list g) {
        return {g[0] * ctx->get_saved_variables()[0]};
      }
    };
    Tensor x = dg::randn({4}, dg::kFloat64).requires_grad_();
    Tensor y = SaveOutput::apply(x);
    y.sum().backward({}, /*retain_graph=*/true);
  }
  check_back_to(before);
  {
    // create_graph=true accumulates a gradient that has a graph into .grad;
    // that graph saves x itself, and must not keep x alive.
    Tensor x = dg::randn({4}, dg::kFloat64).requires_grad_();
    (x * x * x).sum().backward({}, std::nullopt, /*create_graph=*/true);
    CHECK(x.grad().requires_grad());
    Tensor g2 = dg::autograd::grad({x.grad().sum()}, {x})[0];
    CHECK(dg::allclose(g2, x.detach() * 6));
  }
  check_back_to(before);
  {
    // Double backward through a view rebased by an in-place op.
    Tensor x = dg::randn({3, 3}, dg::kFloat64).requires_grad_();
    Tensor y = x * 1;
    y.select(0, 0).mul_(x.select(0, 1));
    Tensor g = dg::autograd::grad({(y * y).sum()}, {x}, {}, std::nullopt, true)[0];
    g.sum().backward();
  }
  check_back_to(before);
  {
    // An in-place op through a view that saves its own output (exp_): the
    // saved output must not keep the base, whose CopySlices owns the node.
    Tensor x = dg::randn({3, 3}, dg::kFloat64).requires_grad_();
    Tensor y = x * 1;
    y.narrow(1, 0, 2).exp_();
    Tensor g = dg::autograd::grad({(y * x).sum()}, {x}, {}, std::nullopt, true)[0];
    g.sum().backward();
    CHECK(x.grad().defined());
  }
  check_back_to(before);
}
