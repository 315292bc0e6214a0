// Forward values against a real PyTorch: tests/golden/ops_golden.yaml holds,
// for every op sample PyTorch can run, the inputs and PyTorch's outputs
// (written by tools/golden/make_golden.py). Each case runs the same op through
// the generated sample registry on the same inputs.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <string>

#include "op_registry.h"

using namespace dg;

namespace {

Tensor decode(const YAML::Node& n) {
  std::vector<int64_t> shape = n["shape"].as<std::vector<int64_t>>();
  const std::string dtype = n["dtype"].as<std::string>();
  const YAML::Node& data = n["data"];
  if (dtype == "float64") {
    Tensor t = dg::empty(shape, kFloat64);
    double* p = t.data_ptr<double>();
    for (size_t i = 0; i < data.size(); ++i) p[i] = data[i].as<double>();
    return t;
  }
  if (dtype == "int64") {
    Tensor t = dg::empty(shape, kInt64);
    int64_t* p = t.data_ptr<int64_t>();
    for (size_t i = 0; i < data.size(); ++i) p[i] = data[i].as<int64_t>();
    return t;
  }
  Tensor t = dg::empty(shape, kBool);
  bool* p = t.data_ptr<bool>();
  for (size_t i = 0; i < data.size(); ++i) p[i] = data[i].as<bool>();
  return t;
}

// The registry row that calls the op itself (not its in-place or out= form).
const dg::testing::OpSample* find_sample(const std::string& op, int sample) {
  const std::string base = op.substr(0, op.find('.'));
  const bool inplace_op = base.back() == '_';  // zero_, fill_: their only row is "inplace"
  for (const auto& s : dg::testing::all_samples()) {
    const std::string variant = s.variant;
    if (op == s.op && s.sample == sample &&
        (variant == "function" || variant == "method" || (variant == "inplace" && inplace_op)))
      return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("forward values match PyTorch's on every op sample it can run", "[golden]") {
  // DG_GOLDEN_FILE in the environment overrides the source-tree path the
  // build recorded (tools/gpu-check.sh runs prebuilt tests from elsewhere).
  const char* env = std::getenv("DG_GOLDEN_FILE");
  const YAML::Node root = YAML::LoadFile(env && *env ? env : DG_GOLDEN_FILE);
  const YAML::Node cases = root["cases"];
  REQUIRE(cases.size() > 100);
  std::map<std::string, int> per_op;
  for (const auto& c : cases) {
    const std::string op = c["op"].as<std::string>();
    const int sample = c["sample"].as<int>();
    INFO(op << " sample " << sample);
    const dg::testing::OpSample* s = find_sample(op, sample);
    REQUIRE(s != nullptr);  // regenerate the goldens after changing samples
    variable_list in;
    for (const auto& t : c["inputs"]) in.push_back(decode(t));
    REQUIRE(in.size() == s->inputs.size());
    variable_list out;
    {
      dg::NoGradGuard no_grad;
      out = s->fn(in);
    }
    const YAML::Node expected = c["outputs"];
    REQUIRE(out.size() == expected.size());
    for (size_t k = 0; k < out.size(); ++k) {
      INFO("output " << k);
      Tensor want = decode(expected[k]);
      REQUIRE(out[k].sizes() == want.sizes());
      if (want.dtype() == kFloat64) {
        CHECK(dg::allclose(out[k].to(kFloat64), want, 1e-7, 1e-9, /*equal_nan=*/true));
      } else {
        CHECK(dg::equal(out[k].to(want.dtype()), want));
      }
    }
    ++per_op[op];
  }
  CHECK(per_op.size() > 40);
}

TEST_CASE("every declared dtype of every kernel op has a kernel", "[ops][dtypes]") {
  // Runs each sample (inputs converted) in each dtype the op declares: a
  // missing instantiation or table entry fails here with the op's name.
  int runs = 0;
  for (const auto& info : dg::testing::all_ops()) {
    if (std::string(info.kind) != "kernel") continue;
    for (const char* name : info.dtypes) {
      const std::string dt = name;
      const ScalarType dtype = scalar_type_from_name(name);
      for (const auto& s : dg::testing::all_samples()) {
        if (std::string(s.op) != info.name || std::string(s.variant) == "out") continue;
        INFO(info.name << " in " << dt << " [" << s.variant << "]");
        const variable_list in = dg::testing::make_inputs(s, dtype);
        dg::NoGradGuard no_grad;
        variable_list out;
        CHECK_NOTHROW(out = s.fn(in));
        ++runs;
        break;  // one sample per dtype is enough to reach the kernel
      }
    }
  }
  CHECK(runs > 60);
}
