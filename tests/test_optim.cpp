// dg::optim against PyTorch 1.13: tests/golden/optim_golden.json (written by
// tools/golden/make_optim_golden.py) holds, for a fixed small problem, the
// parameters torch.optim reaches after each step, LBFGS's path on the
// Rosenbrock function, and the learning rates of PyTorch's schedulers (and
// of LibTorch's StepLR). Also: parameter groups, zero_grad, the version
// counter, bad options, and checkpoints (save / load, resumed training equal
// to uninterrupted training bit for bit).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "dynagrad/optim.h"

using namespace dg;
using Catch::Matchers::Contains;

namespace {

std::string golden_path() {
  // DG_GOLDEN_FILE names tests/golden/ops_golden.yaml; ours lies next to it.
  const char* env = std::getenv("DG_GOLDEN_FILE");
  std::string path = env && *env ? env : DG_GOLDEN_FILE;
  return path.substr(0, path.find_last_of('/') + 1) + "optim_golden.json";
}

const YAML::Node& golden() {
  static const YAML::Node root = YAML::LoadFile(golden_path());
  return root;
}

ScalarType dtype_named(const std::string& name) { return name == "float32" ? kFloat32 : kFloat64; }

Tensor make(const YAML::Node& values, const std::vector<int64_t>& shape, ScalarType dtype) {
  return dg::tensor(values.as<std::vector<double>>(), TensorOptions().dtype(kFloat64)).reshape(shape).to(dtype);
}

// The golden problem: sum((p - t) * (p - t) * s) + 0.1 * sum(p * p * p) over the parameters.
Tensor loss_of(const std::vector<Tensor>& params, const std::vector<Tensor>& targets,
               const std::vector<Tensor>& scales) {
  Tensor total;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor d = params[i] - targets[i];
    const Tensor term = (d * d * scales[i]).sum() + (params[i] * params[i] * params[i]).sum() * 0.1;
    total = total.defined() ? total + term : term;
  }
  return total;
}

double num(const YAML::Node& options, const char* key, double fallback) {
  return options[key] ? options[key].as<double>() : fallback;
}
bool flag(const YAML::Node& options, const char* key, bool fallback) {
  return options[key] ? options[key].as<bool>() : fallback;
}

// Options of `kind` from PyTorch's keywords in `options`, over `base`.
template <typename Options>
Options adam_like(const YAML::Node& o, Options base) {
  if (o["lr"]) base.lr(o["lr"].as<double>());
  if (o["betas"]) base.betas(std::make_tuple(o["betas"][0].as<double>(), o["betas"][1].as<double>()));
  if (o["eps"]) base.eps(o["eps"].as<double>());
  if (o["weight_decay"]) base.weight_decay(o["weight_decay"].as<double>());
  if (o["amsgrad"]) base.amsgrad(o["amsgrad"].as<bool>());
  return base;
}

std::unique_ptr<optim::OptimizerOptions> options_for(const std::string& kind, const YAML::Node& o,
                                                     const optim::OptimizerOptions* base) {
  if (kind == "SGD") {
    optim::SGDOptions s = base ? static_cast<const optim::SGDOptions&>(*base) : optim::SGDOptions(num(o, "lr", 0));
    if (o["lr"]) s.lr(o["lr"].as<double>());
    s.momentum(num(o, "momentum", s.momentum())).dampening(num(o, "dampening", s.dampening()));
    s.weight_decay(num(o, "weight_decay", s.weight_decay())).nesterov(flag(o, "nesterov", s.nesterov()));
    return std::make_unique<optim::SGDOptions>(s);
  }
  if (kind == "Adam")
    return std::make_unique<optim::AdamOptions>(
        adam_like(o, base ? static_cast<const optim::AdamOptions&>(*base) : optim::AdamOptions()));
  if (kind == "AdamW")
    return std::make_unique<optim::AdamWOptions>(
        adam_like(o, base ? static_cast<const optim::AdamWOptions&>(*base) : optim::AdamWOptions()));
  if (kind == "RMSprop") {
    optim::RMSpropOptions r = base ? static_cast<const optim::RMSpropOptions&>(*base) : optim::RMSpropOptions();
    r.lr(num(o, "lr", r.lr())).alpha(num(o, "alpha", r.alpha())).eps(num(o, "eps", r.eps()));
    r.weight_decay(num(o, "weight_decay", r.weight_decay())).momentum(num(o, "momentum", r.momentum()));
    r.centered(flag(o, "centered", r.centered()));
    return std::make_unique<optim::RMSpropOptions>(r);
  }
  REQUIRE(kind == "Adagrad");
  optim::AdagradOptions a = base ? static_cast<const optim::AdagradOptions&>(*base) : optim::AdagradOptions();
  a.lr(num(o, "lr", a.lr())).lr_decay(num(o, "lr_decay", a.lr_decay()));
  a.weight_decay(num(o, "weight_decay", a.weight_decay())).eps(num(o, "eps", a.eps()));
  a.initial_accumulator_value(num(o, "initial_accumulator_value", a.initial_accumulator_value()));
  return std::make_unique<optim::AdagradOptions>(a);
}

template <typename Opt, typename Options>
std::unique_ptr<optim::Optimizer> build(std::vector<optim::OptimizerParamGroup> groups,
                                        const optim::OptimizerOptions& defaults) {
  return std::make_unique<Opt>(std::move(groups), static_cast<const Options&>(defaults));
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& kind,
                                                 std::vector<optim::OptimizerParamGroup> groups,
                                                 const optim::OptimizerOptions& defaults) {
  if (kind == "SGD") return build<optim::SGD, optim::SGDOptions>(std::move(groups), defaults);
  if (kind == "Adam") return build<optim::Adam, optim::AdamOptions>(std::move(groups), defaults);
  if (kind == "AdamW") return build<optim::AdamW, optim::AdamWOptions>(std::move(groups), defaults);
  if (kind == "RMSprop") return build<optim::RMSprop, optim::RMSpropOptions>(std::move(groups), defaults);
  return build<optim::Adagrad, optim::AdagradOptions>(std::move(groups), defaults);
}

// One golden case's problem: parameters (leaves that require grad), targets, scales.
struct Problem {
  std::vector<Tensor> params, targets, scales;
};

Problem problem_of(const YAML::Node& c) {
  const ScalarType dtype = dtype_named(c["dtype"].as<std::string>());
  Problem p;
  for (size_t i = 0; i < c["shapes"].size(); ++i) {
    const auto shape = c["shapes"][i].as<std::vector<int64_t>>();
    p.params.push_back(make(c["start"][i], shape, dtype).requires_grad_());
    p.targets.push_back(make(c["targets"][i], shape, dtype));
    p.scales.push_back(make(c["scales"][i], shape, dtype));
  }
  return p;
}

std::unique_ptr<optim::Optimizer> optimizer_of(const YAML::Node& c, const std::vector<Tensor>& params) {
  const std::string kind = c["optimizer"].as<std::string>();
  const auto defaults = options_for(kind, c["options"], nullptr);
  std::vector<optim::OptimizerParamGroup> groups;
  if (!c["groups"] || c["groups"].IsNull()) {
    groups.emplace_back(params);
  } else {
    for (size_t k = 0; k < c["groups"].size(); ++k)
      groups.emplace_back(std::vector<Tensor>{params[k]}, options_for(kind, c["groups"][k], defaults.get()));
  }
  return make_optimizer(kind, std::move(groups), *defaults);
}

void train_step(optim::Optimizer& opt, const Problem& p) {
  opt.zero_grad();
  loss_of(p.params, p.targets, p.scales).backward();
  opt.step();
}

void check_close(const Tensor& got, const YAML::Node& want, double rtol, double atol) {
  const Tensor w = make(want, got.sizes().vec(), kFloat64);
  INFO("got " << got << "\nwant " << w);
  CHECK(dg::allclose(got.detach().to(kFloat64), w, rtol, atol));
}

const YAML::Node* find_case(const char* section, const std::string& name) {
  static std::vector<YAML::Node> keep;
  for (const auto& c : golden()[section])
    if (c["name"].as<std::string>() == name) {
      keep.push_back(c);
      return &keep.back();
    }
  FAIL("no golden case " << name << " in " << section << "; rerun tools/golden/make_optim_golden.py");
  return nullptr;
}

}  // namespace

TEST_CASE("optimizers match PyTorch 1.13 step by step", "[optim]") {
  int cases = 0;
  for (const auto& c : golden()["optimizers"]) {
    const std::string name = c["name"].as<std::string>();
    INFO("case " << name);
    Problem p = problem_of(c);
    auto opt = optimizer_of(c, p.params);
    const bool f32 = c["dtype"].as<std::string>() == "float32";
    for (size_t s = 0; s < c["after"].size(); ++s) {
      INFO("after step " << s + 1);
      train_step(*opt, p);
      for (size_t i = 0; i < p.params.size(); ++i) {
        INFO("parameter " << i);
        check_close(p.params[i], c["after"][s][i], f32 ? 2e-6 : 1e-11, f32 ? 2e-7 : 1e-13);
      }
    }
    ++cases;
  }
  CHECK(cases >= 20);
}

TEST_CASE("add_param_group: groups added later take their own options or the defaults", "[optim]") {
  const YAML::Node& c = *find_case("optimizers", "sgd_groups");
  Problem p = problem_of(c);
  // Group 0 at construction with its own options, group 1 added afterwards.
  optim::SGD opt(std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(
                     {p.params[0]}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.01).momentum(0.9)))},
                 optim::SGDOptions(0.1));
  opt.add_param_group(optim::OptimizerParamGroup(
      {p.params[1]}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.1).momentum(0.5).nesterov(true))));
  REQUIRE(opt.param_groups().size() == 2);
  for (size_t s = 0; s < c["after"].size(); ++s) {
    train_step(opt, p);
    for (size_t i = 0; i < 2; ++i) check_close(p.params[i], c["after"][s][i], 1e-11, 1e-13);
  }
  // Without options a group takes a copy of the defaults.
  Tensor extra = dg::zeros({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  opt.add_param_group(optim::OptimizerParamGroup({extra}));
  const auto& added = static_cast<const optim::SGDOptions&>(opt.param_groups()[2].options());
  CHECK(added == static_cast<const optim::SGDOptions&>(opt.defaults()));
  CHECK(&opt.param_groups()[2].options() != &opt.defaults());
  CHECK(opt.size() == 3);
  // A parameter already held is refused.
  REQUIRE_THROWS_WITH(opt.add_param_group(optim::OptimizerParamGroup({p.params[0]})),
                      Contains("add_param_group") && Contains("one group only"));
  CHECK(opt.param_groups().size() == 3);
  // Options are per group: lr() read and set through the base class.
  opt.param_groups()[1].options().set_lr(0.25);
  CHECK(opt.param_groups()[1].options().get_lr() == 0.25);
  CHECK(opt.param_groups()[0].options().get_lr() == 0.01);
  opt.param_groups()[0].options().lr(0.5);
  CHECK(opt.param_groups()[0].options().lr() == 0.5);
  CHECK(static_cast<const optim::SGDOptions&>(opt.param_groups()[0].options()).lr() == 0.5);
  CHECK(opt.param_groups()[1].options().lr() == 0.25);
}

TEST_CASE("zero_grad zeros the gradients (LibTorch 1.13) or drops them", "[optim]") {
  Tensor w = dg::ones({3}, TensorOptions().dtype(kFloat64).requires_grad(true));
  Tensor b = dg::ones({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  optim::SGD opt({w, b}, optim::SGDOptions(0.1));
  (w * w).sum().backward();
  REQUIRE(w.grad().defined());
  REQUIRE_FALSE(b.grad().defined());
  opt.zero_grad();
  REQUIRE(w.grad().defined());
  CHECK(w.grad().abs().sum().item<double>() == 0.0);
  CHECK_FALSE(b.grad().defined());
  (w * 3).sum().backward();
  CHECK(w.grad().sum().item<double>() == 9.0);  // accumulated onto the zeros
  opt.zero_grad(/*set_to_none=*/true);
  CHECK_FALSE(w.grad().defined());
  // A parameter without a gradient is left alone by step().
  Tensor before = b.clone();
  opt.step();
  CHECK(dg::equal(b, before));
}

TEST_CASE("a step bumps each updated parameter's version once, as an in-place op", "[optim]") {
  const auto run = [](auto make_opt) {
    Tensor w = dg::full({4, 3}, 0.5, TensorOptions().dtype(kFloat64).requires_grad(true));
    Tensor unused = dg::ones({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
    auto opt = make_opt(std::vector<Tensor>{w, unused});
    for (int k = 1; k <= 3; ++k) {
      opt->zero_grad();
      (w * w).sum().backward();
      const uint32_t v0 = w._version(), u0 = unused._version();
      opt->step();
      CHECK(w._version() == v0 + 1);
      CHECK(unused._version() == u0);  // no gradient, no update
    }
    // A graph that saved w before the step refuses to run backward after it.
    Tensor y = w * w;
    opt->step();
    CHECK_THROWS_WITH(y.sum().backward(), Contains("version"));
  };
  run([](std::vector<Tensor> ps) { return std::make_unique<optim::SGD>(ps, optim::SGDOptions(0.1).momentum(0.9)); });
  run([](std::vector<Tensor> ps) { return std::make_unique<optim::Adam>(ps, optim::AdamOptions(0.1).amsgrad(true)); });
  run([](std::vector<Tensor> ps) { return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions(0.1)); });
  run([](std::vector<Tensor> ps) {
    return std::make_unique<optim::RMSprop>(ps, optim::RMSpropOptions(0.1).centered(true).momentum(0.5));
  });
  run([](std::vector<Tensor> ps) { return std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions(0.1)); });
}

TEST_CASE("the fused steps give the same values on strided, large and small tensors", "[optim]") {
  // One Adam step on a large tensor (threads and SIMD rows with a tail), on
  // a transposed view, and element block by block on small slices.
  dg::manual_seed(7);
  const int64_t n = 200003;
  for (ScalarType dtype : {kFloat32, kFloat64}) {
    const Tensor p0 = dg::randn({n}, TensorOptions().dtype(dtype));
    const Tensor g = dg::randn({n}, TensorOptions().dtype(dtype));
    const Tensor m0 = dg::randn({n}, TensorOptions().dtype(dtype)) * 0.1;
    const Tensor v0 = dg::rand({n}, TensorOptions().dtype(dtype));
    const Tensor vm0 = dg::rand({n}, TensorOptions().dtype(dtype));
    Tensor p = p0.clone(), m = m0.clone(), v = v0.clone(), vm = vm0.clone();
    dg::_fused_adam_(p, g, m, v, vm, 0.01, 0.9, 0.999, 1e-8, 0.1, true, false, 3);
    Tensor ps = p0.clone(), ms = m0.clone(), vs = v0.clone(), vms = vm0.clone();
    for (int64_t b = 0; b < n; b += 37) {
      const int64_t e = std::min(n, b + 37);
      dg::_fused_adam_(ps.slice(0, b, e), g.slice(0, b, e), ms.slice(0, b, e), vs.slice(0, b, e), vms.slice(0, b, e),
                       0.01, 0.9, 0.999, 1e-8, 0.1, true, false, 3);
    }
    CHECK(dg::equal(p, ps));
    CHECK(dg::equal(m, ms));
    CHECK(dg::equal(v, vs));
    CHECK(dg::equal(vm, vms));
    // Strided: the same values read through a transposed view.
    const int64_t r = 400, k = 500;  // the first r * k elements, as a transposed [r, k] matrix
    auto mat = [&](const Tensor& t) { return t.slice(0, 0, r * k).reshape({k, r}).clone().t(); };
    Tensor pt = mat(p0), mt = mat(m0), vt = mat(v0), vmt = mat(vm0);
    REQUIRE_FALSE(pt.is_contiguous());
    dg::_fused_adam_(pt, mat(g).contiguous(), mt, vt, vmt, 0.01, 0.9, 0.999, 1e-8, 0.1, true, false, 3);
    CHECK(dg::equal(pt, mat(p)));
    CHECK(dg::equal(vmt, mat(vm)));
  }
}

TEST_CASE("the fused ops check their tensors", "[optim]") {
  Tensor p = dg::zeros({3, 4}, TensorOptions().dtype(kFloat64));
  Tensor g = dg::zeros({3, 4}, TensorOptions().dtype(kFloat64));
  CHECK_THROWS_WITH(
      dg::_fused_sgd_(p, dg::zeros({4, 3}, TensorOptions().dtype(kFloat64)), p, 0.1, 0, 0, 0, false, false),
      Contains("_fused_sgd_") && Contains("grad") && Contains("[3, 4]") && Contains("[4, 3]"));
  CHECK_THROWS_WITH(dg::_fused_adam_(p, g, g, dg::zeros({3, 4}), g, 0.1, 0.9, 0.99, 1e-8, 0, false, false, 1),
                    Contains("_fused_adam_") && Contains("exp_avg_sq") && Contains("float32"));
  CHECK_THROWS_WITH(dg::_fused_adam_(p, g, g, g, g, 0.1, 0.9, 0.99, 1e-8, 0, false, false, 0),
                    Contains("_fused_adam_") && Contains("step >= 1"));
  CHECK_THROWS_WITH(
      dg::_fused_adagrad_(dg::zeros({2}, TensorOptions().dtype(kInt64)), dg::zeros({2}, TensorOptions().dtype(kInt64)),
                          dg::zeros({2}, TensorOptions().dtype(kInt64)), 0.1, 0, 1e-10),
      Contains("_fused_adagrad_") && Contains("int64"));
}

TEST_CASE("bad options give LibTorch's errors", "[optim]") {
  Tensor w = dg::zeros({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  const std::vector<Tensor> ps{w};
  CHECK_THROWS_WITH(optim::SGD(ps, optim::SGDOptions(-0.1)),
                    Contains("SGD") && Contains("Invalid learning rate: -0.1"));
  CHECK_THROWS_AS(optim::SGD(ps, optim::SGDOptions(-0.1)), dg::Error);
  CHECK_THROWS_AS(optim::Adam(ps, optim::AdamOptions(-0.1)), dg::Error);
  CHECK_THROWS_WITH(optim::SGD(ps, optim::SGDOptions(0.1).momentum(-1)), Contains("Invalid momentum value: -1"));
  CHECK_THROWS_WITH(optim::SGD(ps, optim::SGDOptions(0.1).weight_decay(-1)), Contains("Invalid weight_decay value"));
  CHECK_THROWS_WITH(optim::SGD(ps, optim::SGDOptions(0.1).nesterov(true)),
                    Contains("Nesterov momentum requires a momentum and zero dampening"));
  CHECK_THROWS_WITH(optim::SGD(ps, optim::SGDOptions(0.1).nesterov(true).momentum(0.9).dampening(0.1)),
                    Contains("Nesterov momentum requires a momentum and zero dampening"));
  CHECK_THROWS_WITH(optim::Adam(ps, optim::AdamOptions(-1)), Contains("Adam") && Contains("Invalid learning rate"));
  CHECK_THROWS_WITH(optim::Adam(ps, optim::AdamOptions().eps(-1)), Contains("Invalid epsilon value: -1"));
  CHECK_THROWS_WITH(optim::Adam(ps, optim::AdamOptions().betas(std::make_tuple(1.0, 0.9))),
                    Contains("Invalid beta parameter at index 0: 1"));
  CHECK_THROWS_WITH(optim::AdamW(ps, optim::AdamWOptions().betas(std::make_tuple(0.9, -0.1))),
                    Contains("AdamW") && Contains("Invalid beta parameter at index 1: -0.1"));
  CHECK_THROWS_WITH(optim::AdamW(ps, optim::AdamWOptions().weight_decay(-0.5)), Contains("Invalid weight_decay value"));
  CHECK_THROWS_WITH(optim::RMSprop(ps, optim::RMSpropOptions().alpha(-1)), Contains("Invalid alpha value: -1"));
  CHECK_THROWS_WITH(optim::RMSprop(ps, optim::RMSpropOptions().momentum(-1)), Contains("Invalid momentum value"));
  CHECK_THROWS_WITH(optim::RMSprop(ps, optim::RMSpropOptions().eps(-1)), Contains("Invalid epsilon value"));
  CHECK_THROWS_WITH(optim::Adagrad(ps, optim::AdagradOptions().lr_decay(-1)), Contains("Invalid lr_decay value: -1"));
  CHECK_THROWS_WITH(optim::Adagrad(ps, optim::AdagradOptions().initial_accumulator_value(-1)),
                    Contains("Invalid initial_accumulator_value value: -1"));
  CHECK_THROWS_WITH(optim::LBFGS(ps, optim::LBFGSOptions(-1)), Contains("LBFGS") && Contains("Invalid learning rate"));
  CHECK_THROWS_WITH(optim::LBFGS(ps, optim::LBFGSOptions().line_search_fn("backtracking")),
                    Contains("only 'strong_wolfe' is supported"));
  CHECK_THROWS_WITH(optim::LBFGS(std::vector<optim::OptimizerParamGroup>{
                        optim::OptimizerParamGroup({w}), optim::OptimizerParamGroup({w.detach().requires_grad_()})}),
                    Contains("LBFGS doesn't support per-parameter options"));
  // Group options are checked as the defaults are.
  CHECK_THROWS_WITH(optim::SGD(std::vector<optim::OptimizerParamGroup>{optim::OptimizerParamGroup(
                                   {w}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(-2)))},
                               optim::SGDOptions(0.1)),
                    Contains("Invalid learning rate: -2"));
  // Non-leaf tensors are not parameters.
  CHECK_THROWS_WITH(optim::SGD(std::vector<Tensor>{w * 2}, optim::SGDOptions(0.1)), Contains("leaf"));
  // LBFGS needs a closure.
  optim::LBFGS lbfgs(ps);
  CHECK_THROWS_WITH(lbfgs.step(nullptr), Contains("closure"));
}

TEST_CASE("LBFGS matches PyTorch on the Rosenbrock function", "[optim]") {
  for (const auto& c : golden()["lbfgs"]) {
    const std::string name = c["name"].as<std::string>();
    INFO("case " << name);
    const YAML::Node& o = c["options"];
    Tensor x = make(c["start"], {2}, kFloat64).requires_grad_();
    optim::LBFGSOptions options(o["lr"].as<double>());
    options.max_iter(o["max_iter"].as<int64_t>()).history_size(o["history_size"].as<int64_t>());
    if (o["line_search_fn"]) options.line_search_fn(o["line_search_fn"].as<std::string>());
    optim::LBFGS opt({x}, options);
    CHECK(static_cast<const optim::LBFGSOptions&>(opt.defaults()).max_eval() == o["max_iter"].as<int64_t>() * 5 / 4);
    auto closure = [&] {
      opt.zero_grad();
      Tensor a = 1 - x[0];
      Tensor b = x[1] - x[0] * x[0];
      Tensor loss = a * a + 100 * (b * b);  // as Python evaluates (1 - x0)**2 + 100 * (x1 - x0**2)**2
      loss.backward();
      return loss;
    };
    for (size_t s = 0; s < c["points"].size(); ++s) {
      INFO("step " << s + 1);
      const double loss = opt.step(closure).item<double>();
      CHECK(loss == Approx(c["losses"][s].as<double>()).epsilon(1e-6).margin(1e-12));
      check_close(x, c["points"][s], 1e-6, 1e-9);
    }
    const auto& st = static_cast<const optim::LBFGSParamState&>(*opt.state().at(optim::param_state_key(x)));
    CHECK(st.func_evals() == c["func_evals"].as<int64_t>());
    CHECK(st.n_iter() == c["n_iter"].as<int64_t>());
  }
}

namespace {

// The schedulers' golden optimizer: two groups, lr and 3 lr (SGD) or 2 lr (Adam).
struct TwoGroups {
  Tensor w = dg::zeros({2}, TensorOptions().requires_grad(true));
  Tensor v = dg::zeros({2}, TensorOptions().requires_grad(true));
  std::unique_ptr<optim::Optimizer> sgd(double lr, double momentum = 0) {
    std::vector<optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<Tensor>{w});
    groups.emplace_back(std::vector<Tensor>{v},
                        std::make_unique<optim::SGDOptions>(optim::SGDOptions(lr * 3).momentum(momentum)));
    return std::make_unique<optim::SGD>(std::move(groups), optim::SGDOptions(lr).momentum(momentum));
  }
  std::unique_ptr<optim::Optimizer> adam(double lr) {
    std::vector<optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<Tensor>{w});
    groups.emplace_back(std::vector<Tensor>{v}, std::make_unique<optim::AdamOptions>(optim::AdamOptions(lr * 2)));
    return std::make_unique<optim::Adam>(std::move(groups), optim::AdamOptions(lr));
  }
};

std::vector<double> lrs_of(const optim::Optimizer& opt) {
  std::vector<double> out;
  for (const auto& g : opt.param_groups()) out.push_back(g.options().get_lr());
  return out;
}

void check_values(const std::vector<double>& got, const YAML::Node& want, double rtol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("group " << i);
    CHECK(got[i] == Approx(want[i].as<double>()).epsilon(rtol).margin(1e-15));
  }
}

// Runs `step` after checking the values at construction, then once per golden row.
template <typename Step>
void check_sequence(const YAML::Node& c, optim::Optimizer& opt, Step step, double rtol = 1e-12,
                    std::function<std::vector<double>()> momenta = nullptr) {
  for (size_t k = 0; k < c["lrs"].size(); ++k) {
    INFO("after step " << k);
    if (k > 0) step(k - 1);
    check_values(lrs_of(opt), c["lrs"][k], rtol);
    if (momenta) check_values(momenta(), c["momenta"][k], rtol);
  }
}

}  // namespace

TEST_CASE("schedulers' learning rates match PyTorch's (StepLR: LibTorch's)", "[optim][scheduler]") {
  SECTION("StepLR") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    optim::StepLR s(*opt, 3, 0.5);
    check_sequence(*find_case("schedulers", "step_lr"), *opt, [&](size_t) { s.step(); });
    CHECK(s.get_last_lr() == lrs_of(*opt));
  }
  SECTION("MultiStepLR") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    optim::MultiStepLR s(*opt, {2, 5, 5, 8}, 0.5);
    check_sequence(*find_case("schedulers", "multi_step_lr"), *opt, [&](size_t) { s.step(); });
  }
  SECTION("ExponentialLR") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    optim::ExponentialLR s(*opt, 0.9);
    check_sequence(*find_case("schedulers", "exponential_lr"), *opt, [&](size_t) { s.step(); });
    // get_last_lr is what step() set, not what the optimizer holds since.
    const std::vector<double> last = s.get_last_lr();
    CHECK(last == lrs_of(*opt));
    opt->param_groups()[0].options().set_lr(1.0);
    CHECK(s.get_last_lr() == last);
  }
  SECTION("CosineAnnealingLR, beyond T_max") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    optim::CosineAnnealingLR s(*opt, 5, 0.001);
    check_sequence(*find_case("schedulers", "cosine_annealing_lr"), *opt, [&](size_t) { s.step(); });
  }
  SECTION("LinearLR up and down") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    optim::LinearLR s(*opt, 0.25, 1.0, 4);
    check_sequence(*find_case("schedulers", "linear_lr"), *opt, [&](size_t) { s.step(); });
    TwoGroups t2;
    auto opt2 = t2.sgd(0.1);
    optim::LinearLR s2(*opt2, 1.0, 0.1, 5);
    check_sequence(*find_case("schedulers", "linear_lr_down"), *opt2, [&](size_t) { s2.step(); });
    CHECK_THROWS_WITH(optim::LinearLR(*opt2, 0.0), Contains("LinearLR") && Contains("Starting multiplicative factor"));
    CHECK_THROWS_WITH(optim::LinearLR(*opt2, 0.5, 1.5), Contains("Ending multiplicative factor"));
  }
  SECTION("OneCycleLR with SGD's momentum") {
    TwoGroups t;
    auto opt = t.sgd(0.1, 0.9);
    optim::OneCycleLR s(*opt, 0.5, 12);
    auto momenta = [&] {
      std::vector<double> m;
      for (const auto& g : opt->param_groups())
        m.push_back(static_cast<const optim::SGDOptions&>(g.options()).momentum());
      return m;
    };
    const YAML::Node& c = *find_case("schedulers", "one_cycle_lr");
    check_sequence(
        c, *opt, [&](size_t) { s.step(); }, 1e-12, momenta);
    CHECK_THROWS_WITH(s.step(), Contains("OneCycleLR") && Contains("Tried to step 13 times"));
  }
  SECTION("OneCycleLR three-phase linear with Adam's beta1") {
    TwoGroups t;
    auto opt = t.adam(0.01);
    optim::OneCycleLR s(*opt, std::vector<double>{0.2, 0.4}, std::nullopt, 3, 5, 0.25, "linear", true, {0.85}, {0.95},
                        10.0, 100.0, true);
    auto momenta = [&] {
      std::vector<double> m;
      for (const auto& g : opt->param_groups())
        m.push_back(std::get<0>(static_cast<const optim::AdamOptions&>(g.options()).betas()));
      return m;
    };
    check_sequence(
        *find_case("schedulers", "one_cycle_lr_three_phase"), *opt, [&](size_t) { s.step(); }, 1e-12, momenta);
    CHECK_THROWS_WITH(optim::OneCycleLR(*opt, 0.1), Contains("total_steps OR (epochs AND steps_per_epoch)"));
    CHECK_THROWS_WITH(optim::OneCycleLR(*opt, 0.1, 10, std::nullopt, std::nullopt, 0.3, "square"),
                      Contains("anneal_strategy"));
  }
  SECTION("ReduceLROnPlateauScheduler") {
    TwoGroups t;
    auto opt = t.sgd(0.1);
    using R = optim::ReduceLROnPlateauScheduler;
    R s(*opt, R::min, 0.5f, 2, 0.01, R::rel, 1, {0.0f, 0.05f});
    const YAML::Node& c = *find_case("schedulers", "reduce_lr_on_plateau");
    check_sequence(
        c, *opt, [&](size_t k) { s.step(c["metrics"][k].as<float>()); }, 1e-6);
    CHECK(s.get_last_lr() == lrs_of(*opt));
    CHECK_THROWS_WITH(R(*opt, R::min, 1.5f), Contains("Factor should be < 1.0"));
  }
}

namespace {

std::string temp_file(const std::string& tag) {
  return (std::filesystem::temp_directory_path() / ("dg_test_optim_" + tag + ".safetensors")).string();
}

// Trains `total` steps uninterrupted, and `split` steps, a checkpoint of the
// parameters and the optimizer, then the rest in a fresh optimizer on fresh
// parameters loaded from it: the two runs must agree bit for bit. `tweak`
// changes the options mid-run (a scheduler would), before the checkpoint.
template <typename MakeOpt>
void check_resume(const std::string& tag, MakeOpt make_opt, int split = 3, int total = 7) {
  INFO("optimizer " << tag);
  const YAML::Node& c = *find_case("optimizers", "adam");
  Problem a = problem_of(c);
  auto opt_a = make_opt(a.params);
  for (int k = 0; k < total; ++k) {
    if (k == split) opt_a->param_groups()[0].options().set_lr(opt_a->param_groups()[0].options().get_lr() * 0.37);
    train_step(*opt_a, a);
  }

  Problem b = problem_of(c);
  auto opt_b = make_opt(b.params);
  for (int k = 0; k < split; ++k) train_step(*opt_b, b);
  opt_b->param_groups()[0].options().set_lr(opt_b->param_groups()[0].options().get_lr() * 0.37);
  const std::string params_file = temp_file(tag + "_params"), opt_file = temp_file(tag);
  dg::save(b.params, params_file);
  dg::save(*opt_b, opt_file);

  Problem r = problem_of(c);  // fresh parameters, overwritten from the checkpoint
  for (auto& p : r.params) p = p.detach().mul(0).requires_grad_();
  std::vector<Tensor> loaded;
  dg::load(loaded, params_file);
  REQUIRE(loaded.size() == r.params.size());
  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < r.params.size(); ++i) r.params[i].copy_(loaded[i]);
  }
  auto opt_r = make_opt(r.params);
  dg::load(*opt_r, opt_file);
  CHECK(opt_r->param_groups()[0].options().get_lr() == opt_b->param_groups()[0].options().get_lr());
  for (int k = split; k < total; ++k) train_step(*opt_r, r);
  for (size_t i = 0; i < a.params.size(); ++i) {
    INFO("parameter " << i);
    CHECK(dg::equal(r.params[i], a.params[i]));
  }
  std::remove(params_file.c_str());
  std::remove(opt_file.c_str());
}

}  // namespace

TEST_CASE("checkpoints: resumed training equals uninterrupted training bit for bit", "[optim][serialize]") {
  using P = std::vector<Tensor>;
  check_resume("sgd", [](const P& ps) {
    return std::make_unique<optim::SGD>(ps, optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.01));
  });
  check_resume("adam", [](const P& ps) {
    return std::make_unique<optim::Adam>(ps, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
  });
  check_resume("adamw", [](const P& ps) { return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions(0.01)); });
  check_resume("rmsprop", [](const P& ps) {
    return std::make_unique<optim::RMSprop>(ps, optim::RMSpropOptions(0.01).centered(true).momentum(0.5));
  });
  check_resume("adagrad", [](const P& ps) {
    return std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions(0.1).lr_decay(0.01));
  });
}

TEST_CASE("checkpoints: options and state round-trip; mismatched optimizers are refused", "[optim][serialize]") {
  Tensor w = dg::ones({3}, TensorOptions().dtype(kFloat64).requires_grad(true));
  Tensor b = dg::ones({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<Tensor>{w});
  groups.emplace_back(
      std::vector<Tensor>{b},
      std::make_unique<optim::AdamOptions>(optim::AdamOptions(0.125).betas(std::make_tuple(0.5, 0.75)).amsgrad(true)));
  optim::Adam opt(std::move(groups), optim::AdamOptions(0.1).eps(1e-3).weight_decay(0.3));
  (w * w).sum().backward();
  opt.step();  // only w has a gradient: only w has state
  const std::string file = temp_file("roundtrip");
  dg::save(opt, file);

  Tensor w2 = dg::zeros({3}, TensorOptions().dtype(kFloat64).requires_grad(true));
  Tensor b2 = dg::zeros({2}, TensorOptions().dtype(kFloat64).requires_grad(true));
  std::vector<optim::OptimizerParamGroup> groups2;
  groups2.emplace_back(std::vector<Tensor>{w2});
  groups2.emplace_back(std::vector<Tensor>{b2});
  optim::Adam opt2(std::move(groups2), optim::AdamOptions(0.5));
  dg::load(opt2, file);
  for (size_t g = 0; g < 2; ++g) {
    CHECK(static_cast<const optim::AdamOptions&>(opt2.param_groups()[g].options()) ==
          static_cast<const optim::AdamOptions&>(opt.param_groups()[g].options()));
  }
  REQUIRE(opt2.state().size() == 1);
  const auto& s1 = static_cast<const optim::AdamParamState&>(*opt.state().at(optim::param_state_key(w)));
  const auto& s2 = static_cast<const optim::AdamParamState&>(*opt2.state().at(optim::param_state_key(w2)));
  CHECK(s1 == s2);
  CHECK(s2.step() == 1);

  // Another number of groups or parameters: refused, nothing changed.
  optim::Adam one({w2}, optim::AdamOptions(0.5));
  CHECK_THROWS_WITH(dg::load(one, file),
                    Contains("Optimizer::load") && Contains("1 parameter groups") && Contains("got 2"));
  CHECK(one.param_groups()[0].options().get_lr() == 0.5);
  std::remove(file.c_str());
}

TEST_CASE("checkpoints: LBFGS's history round-trips and resumes bit for bit", "[optim][serialize]") {
  auto run = [](Tensor& x, optim::LBFGS& opt) {
    auto closure = [&] {
      opt.zero_grad();
      Tensor a = 1 - x[0];
      Tensor b = x[1] - x[0] * x[0];
      Tensor loss = a * a + 100 * (b * b);
      loss.backward();
      return loss;
    };
    opt.step(closure);
  };
  const auto options = optim::LBFGSOptions(0.5).max_iter(5).history_size(3).line_search_fn("strong_wolfe");
  Tensor xa = dg::tensor(std::vector<double>{-1.5, 2.0}, TensorOptions().dtype(kFloat64)).requires_grad_();
  optim::LBFGS a({xa}, options);
  for (int k = 0; k < 3; ++k) run(xa, a);

  Tensor xb = dg::tensor(std::vector<double>{-1.5, 2.0}, TensorOptions().dtype(kFloat64)).requires_grad_();
  optim::LBFGS b({xb}, options);
  run(xb, b);
  const std::string file = temp_file("lbfgs");
  dg::save(b, file);

  Tensor xr = xb.detach().clone().requires_grad_();
  optim::LBFGS r({xr}, optim::LBFGSOptions());
  dg::load(r, file);
  CHECK(static_cast<const optim::LBFGSOptions&>(r.param_groups()[0].options()) ==
        static_cast<const optim::LBFGSOptions&>(b.param_groups()[0].options()));
  const auto& sb = static_cast<const optim::LBFGSParamState&>(*b.state().at(optim::param_state_key(xb)));
  const auto& sr = static_cast<const optim::LBFGSParamState&>(*r.state().at(optim::param_state_key(xr)));
  CHECK(sr == sb);
  CHECK(sr.old_dirs().size() == sb.old_dirs().size());
  CHECK(sr.al().has_value() == sb.al().has_value());
  for (int k = 1; k < 3; ++k) run(xr, r);
  CHECK(dg::equal(xr, xa));
  std::remove(file.c_str());
}
