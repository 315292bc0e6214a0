// Forward-mode AD (dynagrad/forward_ad.h): dual levels, make_dual and
// unpack_dual, tangents through every op sample of the generated registry
// (against central finite differences and against reverse mode), in-place
// ops and views, custom Functions' jvp, forward-over-reverse Hessian-vector
// products, and the errors of bad input.
#include <catch2/catch.hpp>

#include <string>

#include "dynagrad/cpu_allocator.h"
#include "helpers.h"
#include "op_registry.h"

using namespace dg;
using dg::testing::all_samples;
using dg::testing::check_values;
using dg::testing::close;
using dg::testing::label;
using dg::testing::make_inputs;
using dg::testing::values;
namespace fwAD = dg::autograd::forward_ad;

namespace {

// Central difference of f at x along u, in float64.
Tensor directional_fd(const std::function<Tensor(const Tensor&)>& f, const Tensor& x, const Tensor& u,
                      double eps = 1e-6) {
  NoGradGuard no_grad;
  return (f(x + u * eps) - f(x - u * eps)) / (2 * eps);
}

// Leaves the default generator as it found it, so that the suites after
// this one draw the same values whether or not it ran.
class KeepDefaultRng {
 public:
  KeepDefaultRng() : seed_(dg::default_generator().current_seed()), offset_(dg::default_generator().get_offset()) {}
  ~KeepDefaultRng() {
    Generator g = dg::default_generator();
    g.set_current_seed(seed_);
    g.set_offset(offset_);
  }
  KeepDefaultRng(const KeepDefaultRng&) = delete;
  KeepDefaultRng& operator=(const KeepDefaultRng&) = delete;

 private:
  uint64_t seed_, offset_;
};

}  // namespace

TEST_CASE("generated forward-mode check of every op sample", "[forward_ad][ops]") {
  KeepDefaultRng keep_rng;
  dg::manual_seed(2468);
  int checked = 0;
  for (const auto& s : all_samples()) {
    if (!s.check_grad) continue;
    INFO(label(s));
    variable_list in = make_inputs(s);
    CHECK_NOTHROW(dg::autograd::fwgradcheck(s.fn, in));
    ++checked;
  }
  // Every sample gradcheck sees (test_ops_generated.cpp) is checked here too.
  CHECK(checked > 1000);
}

TEST_CASE("fwgradcheck catches a wrong tangent", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  // A custom Function whose jvp is off by a factor: both comparisons fail.
  struct Twice : dg::autograd::Function<Twice> {
    static Tensor forward(dg::autograd::AutogradContext*, const Tensor& x) { return x * 2; }
    static variable_list backward(dg::autograd::AutogradContext*, variable_list g) { return {g[0] * 2}; }
    static variable_list jvp(dg::autograd::AutogradContext*, variable_list t) { return {t[0] * 3}; }
  };
  Tensor x = dg::randn({4}, kFloat64).requires_grad_();
  auto fn = [](const variable_list& in) -> variable_list { return {Twice::apply(in[0])}; };
  CHECK_THROWS_WITH(dg::autograd::fwgradcheck(fn, {x}), Catch::Contains("Jacobian-vector product mismatch"));
}

TEST_CASE("make_dual and unpack_dual", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({3}, kFloat64), u = dg::randn({3}, kFloat64);
  fwAD::dual_level level;
  CHECK(level.level() == 0);
  Tensor d = fwAD::make_dual(x, u);
  // A view of the primal, sharing its memory.
  CHECK(d.is_view());
  CHECK(d.data_ptr() == x.data_ptr());
  auto up = fwAD::unpack_dual(d);
  CHECK(up.tangent.unsafeGetTensorImpl() == u.unsafeGetTensorImpl());
  CHECK(up.primal.data_ptr() == x.data_ptr());
  CHECK_FALSE(fwAD::unpack_dual(up.primal).tangent.defined());
  // A tensor without a tangent unpacks to itself.
  CHECK_FALSE(fwAD::unpack_dual(x).tangent.defined());
  // Tangents of an expression against finite differences.
  auto f = [](const Tensor& t) { return (t * t).sin() * t.exp() + t.pow(3) / (t.abs() + 1); };
  Tensor y = f(d);
  CHECK(close(fwAD::unpack_dual(y).tangent, directional_fd(f, x, u), 1e-7));
}

TEST_CASE("leaving a dual level drops its tangents", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({3}, kFloat64), u = dg::randn({3}, kFloat64);
  Tensor d, y;
  {
    fwAD::dual_level level;
    d = fwAD::make_dual(x, u);
    y = d.exp();
    CHECK(fwAD::unpack_dual(y).tangent.defined());
  }
  CHECK_FALSE(fwAD::unpack_dual(d).tangent.defined());
  CHECK_FALSE(fwAD::unpack_dual(y).tangent.defined());
  // A new level starts without them; and with forward mode off ops set none.
  {
    fwAD::dual_level level;
    CHECK_FALSE(fwAD::unpack_dual(d).tangent.defined());
    CHECK_FALSE(fwAD::unpack_dual(d.exp()).tangent.defined());
  }
  // enter/exit by hand, as PyTorch's enter_dual_level / exit_dual_level.
  const int64_t l = fwAD::enter_dual_level();
  Tensor e = fwAD::make_dual(x, u, l);
  CHECK(fwAD::unpack_dual(e * 2, l).tangent.defined());
  fwAD::exit_dual_level(l);
  CHECK_FALSE(fwAD::unpack_dual(e).tangent.defined());
}

TEST_CASE("leaving a dual level frees tangents whose graph saves their primal", "[forward_ad]") {
  // Forward-over-reverse: tanh's tangent t * (1 - y^2) is recorded in
  // reverse mode and its graph saves y, the tensor that holds the tangent.
  // Leaving the level must break that cycle (PyTorch's ForwardADLevel drops
  // its tangents); it used to leak every such tensor.
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({256}, kFloat64).requires_grad_();
  Tensor u = dg::randn({256}, kFloat64);
  const size_t before = dg::cpu::memory_allocated();
  {
    fwAD::dual_level level;
    Tensor d = fwAD::make_dual(x, u);
    Tensor y = (d * d).tanh().sigmoid().sum();
    REQUIRE(fwAD::unpack_dual(y).tangent.defined());
    REQUIRE(fwAD::unpack_dual(y).tangent.requires_grad());
  }
  CHECK(dg::cpu::memory_allocated() == before);
}

TEST_CASE("forward mode with LibTorch's low-level spellings", "[forward_ad]") {
  // at::_make_dual / at::_unpack_dual / Tensor::_fw_grad / _fw_primal /
  // _set_fw_grad and ForwardADLevel, as C++ code written against LibTorch uses them.
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({5}, kFloat64), u = dg::randn({5}, kFloat64);
  auto f = [](const Tensor& t) { return t.sin() * t.exp(); };
  const uint64_t level = dg::autograd::ForwardADLevel::get_next_idx();
  Tensor y = f(dg::_make_dual(x, u, static_cast<int64_t>(level)));
  auto [primal, tangent] = dg::_unpack_dual(y, static_cast<int64_t>(level));
  REQUIRE(tangent.defined());
  CHECK(close(tangent, directional_fd(f, x, u), 1e-7));
  CHECK(close(primal, f(x), 0));
  CHECK(y._fw_grad(level).unsafeGetTensorImpl() == tangent.unsafeGetTensorImpl());
  CHECK_FALSE(y._fw_primal(static_cast<int64_t>(level))._fw_grad(level).defined());
  // A tangent set by hand propagates like one from make_dual.
  Tensor z = x.clone();
  z._set_fw_grad(u, level, /*is_inplace_op=*/false);
  CHECK(close(f(z)._fw_grad(level), directional_fd(f, x, u), 1e-7));
  CHECK_THROWS_WITH(z._set_fw_grad(u.narrow(0, 0, 2), level, false),
                    Catch::Contains("_set_fw_grad") && Catch::Contains("size"));
  dg::autograd::ForwardADLevel::release_idx(level);
  CHECK_FALSE(y._fw_grad(level).defined());
  // As LibTorch, no error once the level is gone: no tangent.
  CHECK_FALSE(std::get<1>(dg::_unpack_dual(y, 0)).defined());
  CHECK(close(x._fw_primal(0), x, 0));
}

TEST_CASE("forward mode through views and in-place ops", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({2, 3}, kFloat64), u = dg::randn({2, 3}, kFloat64);
  Tensor b = dg::randn({3}, kFloat64), v = dg::randn({3}, kFloat64);
  fwAD::dual_level level;
  Tensor d = fwAD::make_dual(x, u);
  SECTION("a view's tangent is the same view of the base's") {
    Tensor t = d.transpose(0, 1);
    Tensor tt = fwAD::unpack_dual(t).tangent;
    CHECK(tt.data_ptr() == u.data_ptr());
    check_values(tt, values(u.transpose(0, 1)));
    // An in-place op on the base shows in the view's tangent (and, as in
    // PyTorch, in the tangent tensor make_dual was given, which d holds).
    const std::vector<double> expected = values(u.transpose(0, 1) * 3);
    d.mul_(3);
    check_values(fwAD::unpack_dual(t).tangent, expected);
  }
  SECTION("in-place ops update the tangent in place") {
    Tensor y = d.clone();
    const std::vector<double> u_before = values(u);
    Tensor db = fwAD::make_dual(b, v);
    y.mul_(db).add_(1).sin_();
    // d/ds f(x + s u, b + s v) by finite differences of both.
    Tensor fd;
    {
      NoGradGuard g;
      const double eps = 1e-6;
      fd = (((x + u * eps) * (b + v * eps) + 1).sin() - ((x - u * eps) * (b - v * eps) + 1).sin()) / (2 * eps);
    }
    CHECK(close(fwAD::unpack_dual(y).tangent, fd, 1e-7));
    // y's tangent is its own: d's (the clone's source) is unchanged.
    check_values(fwAD::unpack_dual(d).tangent, u_before);
    // A second in-place op writes y's tangent in place.
    Tensor before = fwAD::unpack_dual(y).tangent;
    y.mul_(2);
    CHECK(fwAD::unpack_dual(y).tangent.unsafeGetTensorImpl() == before.unsafeGetTensorImpl());
    CHECK(close(fwAD::unpack_dual(y).tangent, fd * 2, 1e-7));
  }
  SECTION("an in-place op through a view gives the base a tangent") {
    // PyTorch: w = zeros(2, 3); w[1].copy_(dual) gives w the tangent [0, u].
    Tensor w = dg::zeros({2, 3}, kFloat64);
    Tensor db = fwAD::make_dual(b, v);
    w.select(0, 1).copy_(db);
    Tensor wt = fwAD::unpack_dual(w).tangent;
    REQUIRE(wt.defined());
    check_values(wt, {0, 0, 0, values(v)[0], values(v)[1], values(v)[2]});
  }
}

TEST_CASE("forward mode and reverse mode together", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({4}, kFloat64).requires_grad_();
  Tensor u = dg::randn({4}, kFloat64);
  fwAD::dual_level level;
  Tensor d = fwAD::make_dual(x, u);
  Tensor y = (d * d).tanh().sum();
  // Reverse mode flows through the dual view to x.
  Tensor g = dg::autograd::grad({y}, {x})[0];
  auto f = [](const Tensor& t) { return (t * t).tanh().sum(); };
  Tensor expected = dg::zeros({4}, kFloat64);
  for (int64_t i = 0; i < 4; ++i) {
    Tensor e = dg::zeros({4}, kFloat64);
    e.select(0, i).fill_(1.0);
    expected.select(0, i).copy_(directional_fd(f, x.detach(), e));
  }
  CHECK(close(g, expected, 1e-7));
}

TEST_CASE("forward-over-reverse: Hessian-vector products", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  // hvp = d/ds grad f(x + s u): forward mode over a create_graph backward,
  // against central differences of the gradient.
  Tensor x0 = dg::randn({5}, kFloat64), u = dg::randn({5}, kFloat64);
  Tensor W = dg::randn({5, 5}, kFloat64);
  auto f = [&](const Tensor& t) { return (dg::matmul(W, t).tanh() * t.exp()).sum() + (t * t * t).sum(); };
  auto gradient = [&](const Tensor& t) {
    Tensor leaf = t.detach().requires_grad_();
    return dg::autograd::grad({f(leaf)}, {leaf})[0];
  };
  Tensor hvp;
  {
    fwAD::dual_level level;
    Tensor x = x0.clone().requires_grad_();
    Tensor d = fwAD::make_dual(x, u);
    Tensor g = dg::autograd::grad({f(d)}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    hvp = fwAD::unpack_dual(g).tangent;
  }
  REQUIRE(hvp.defined());
  const double eps = 1e-6;
  Tensor fd = (gradient(x0 + u * eps) - gradient(x0 - u * eps)) / (2 * eps);
  CHECK(close(hvp, fd, 1e-6));
}

namespace {
struct Cube : dg::autograd::Function<Cube> {
  static Tensor forward(dg::autograd::AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static variable_list backward(dg::autograd::AutogradContext* ctx, variable_list g) {
    Tensor x = ctx->get_saved_variables()[0];
    return {g[0] * 3 * x * x};
  }
  static variable_list jvp(dg::autograd::AutogradContext* ctx, variable_list t) {
    Tensor x = ctx->get_saved_variables()[0];
    return {t[0] * 3 * x * x};
  }
};
struct NoJvp : dg::autograd::Function<NoJvp> {
  static Tensor forward(dg::autograd::AutogradContext*, const Tensor& x) { return x * 2; }
  static variable_list backward(dg::autograd::AutogradContext*, variable_list g) { return {g[0] * 2}; }
};
}  // namespace

TEST_CASE("custom Functions and forward mode", "[forward_ad]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({3}, kFloat64).requires_grad_(), u = dg::randn({3}, kFloat64);
  auto fn = [](const variable_list& in) -> variable_list { return {Cube::apply(in[0]).sin()}; };
  CHECK(dg::autograd::fwgradcheck(fn, {x}));
  fwAD::dual_level level;
  Tensor d = fwAD::make_dual(x, u);
  // Without a jvp: PyTorch's error, naming the function.
  CHECK_THROWS_WITH(NoJvp::apply(d), Catch::Contains("NoJvp") && Catch::Contains("does not implement the jvp"));
  // Without tangents it runs as always.
  CHECK_NOTHROW(NoJvp::apply(x));
}

TEST_CASE("forward mode: bad input", "[forward_ad][errors]") {
  KeepDefaultRng keep_rng;
  Tensor x = dg::randn({3}, kFloat64), u = dg::randn({3}, kFloat64);
  // Outside any level.
  CHECK_THROWS_WITH(fwAD::make_dual(x, u), Catch::Contains("make_dual") && Catch::Contains("no dual level"));
  CHECK_THROWS_WITH(fwAD::exit_dual_level(), Catch::Contains("exit_dual_level") && Catch::Contains("no dual level"));
  // unpack_dual with the default level outside one: no tangent (PyTorch); at
  // a level that was exited: an error.
  CHECK_FALSE(fwAD::unpack_dual(x).tangent.defined());
  { fwAD::dual_level level; }
  CHECK_THROWS_WITH(fwAD::unpack_dual(x, 0), Catch::Contains("unpack_dual") && Catch::Contains("exited"));
  CHECK_THROWS_WITH(fwAD::make_dual(x, u, 0), Catch::Contains("make_dual") && Catch::Contains("exited"));

  fwAD::dual_level level;
  // Nested levels: PyTorch 1.13 supports one.
  CHECK_THROWS_WITH(fwAD::enter_dual_level(), Catch::Contains("nested forward mode AD is not supported"));
  CHECK_THROWS_WITH(fwAD::make_dual(x, u, 1), Catch::Contains("make_dual: invalid level 1"));
  CHECK_THROWS_WITH(fwAD::unpack_dual(x, 3), Catch::Contains("unpack_dual: invalid level 3"));
  CHECK_THROWS_WITH(fwAD::exit_dual_level(2), Catch::Contains("exit_dual_level") && Catch::Contains("level 2"));
  // Tangents of the wrong size, dtype, kind, or on a dual tensor already.
  CHECK_THROWS_WITH(fwAD::make_dual(x, dg::randn({4}, kFloat64)),
                    Catch::Contains("make_dual") && Catch::Contains("size [3]") && Catch::Contains("size [4]"));
  CHECK_THROWS_WITH(fwAD::make_dual(x, u.to(kFloat32)), Catch::Contains("make_dual") && Catch::Contains("dtype"));
  CHECK_THROWS_WITH(fwAD::make_dual(dg::arange(3), u),
                    Catch::Contains("make_dual: expected primal to be floating point"));
  CHECK_THROWS_WITH(fwAD::make_dual(x, dg::arange(3)),
                    Catch::Contains("make_dual: expected tangent to be floating point"));
  CHECK_THROWS_WITH(fwAD::make_dual(x, Tensor()), Catch::Contains("make_dual: expected a defined tangent"));
  Tensor d = fwAD::make_dual(x, u);
  CHECK_THROWS_WITH(fwAD::make_dual(d, u), Catch::Contains("already has a tangent"));
  // An op without a forward formula (_ctc_loss_backward, whose derivative is
  // not implemented), the full SVD of a non-square matrix (its extra
  // singular vectors are not unique) and the complete QR of a tall one, as
  // PyTorch.
  Tensor lp = dg::randn({4, 1, 3}, kFloat64).log_softmax(-1);
  Tensor targets = dg::full({1, 2}, 1, TensorOptions().dtype(kInt64));
  auto ctc = dg::_ctc_loss(lp, targets, {4}, {2});
  Tensor dual_lp = fwAD::make_dual(lp, dg::randn({4, 1, 3}, kFloat64));
  CHECK_THROWS_WITH(dg::_ctc_loss_backward(dg::ones({1}, kFloat64), dual_lp, targets, {4}, {2}, std::get<0>(ctc),
                                           std::get<1>(ctc), 0),
                    Catch::Contains("trying to use forward AD with _ctc_loss_backward"));
  Tensor A = fwAD::make_dual(dg::randn({3, 4}, kFloat64), dg::randn({3, 4}, kFloat64));
  CHECK_THROWS_WITH(dg::linalg_svd(A, true), Catch::Contains("linalg_svd") && Catch::Contains("full_matrices"));
  CHECK_NOTHROW(dg::linalg_svd(A, false));
  Tensor tall = A.transpose(0, 1);
  CHECK_THROWS_WITH(dg::linalg_qr(tall, "complete"), Catch::Contains("mode='complete' and nrows > ncols"));
  CHECK_NOTHROW(dg::linalg_qr(tall, "reduced"));
  CHECK_NOTHROW(dg::linalg_qr(A, "complete"));
  if (dg::cuda::is_available()) {
    CHECK_THROWS_WITH(fwAD::make_dual(x, u.to(Device(kCUDA))), Catch::Contains("device"));
  }
}
