// Graph export: to_dot's nodes, edges, saved values and leaf names, and the
// DOT parsed by Graphviz when it is installed.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "dynagrad/dynagrad.h"

using namespace dg;
using Catch::Matchers::Contains;

namespace {
// The DOT id of the box whose label starts with `label`.
std::string id_of(const std::string& dot, const std::string& label) {
  std::smatch m;
  const std::regex re("  (\\w+) \\[label=\"" + label);
  REQUIRE(std::regex_search(dot, m, re));
  return m[1];
}
}  // namespace

TEST_CASE("to_dot draws nodes, saved values, named leaves and edges", "[graph_export]") {
  Tensor w = dg::rand({3, 4}, dg::requires_grad());
  Tensor b = dg::rand({3}, dg::requires_grad());
  Tensor x = dg::rand({2, 4});
  Tensor loss = (dg::linear(x, w, b).tanh()).sum();
  const std::string dot = autograd::to_dot(loss, {{"fc.weight", w}, {"fc.bias", b}});
  CHECK_THAT(dot, Contains("digraph"));
  CHECK_THAT(dot, Contains("SumBackward0"));
  CHECK_THAT(dot, Contains("TanhBackward0"));
  // TanhBackward0 saves its result: shape and dtype shown.
  CHECK_THAT(dot, Contains("TanhBackward0\\lresult: float32[2, 3]"));
  CHECK_THAT(dot, Contains("AccumulateGrad"));
  CHECK_THAT(dot, Contains("fc.weight\\l[3, 4] float32"));
  CHECK_THAT(dot, Contains("fc.bias\\l[3] float32"));
  CHECK_THAT(dot, Contains("output\\l[] float32"));
  // Edges run from inputs to what uses them: tanh -> sum -> output.
  const std::string tanh_id = id_of(dot, "TanhBackward0");
  const std::string sum_id = id_of(dot, "SumBackward0");
  CHECK_THAT(dot, Contains("  " + tanh_id + " -> " + sum_id + ";"));
  CHECK_THAT(dot, Contains("  " + sum_id + " -> out0;"));
  // Each leaf feeds its AccumulateGrad.
  const std::string wid = id_of(dot, "fc.weight");
  CHECK_THAT(dot, Contains("  " + wid + " -> " + wid.substr(0, wid.size() - 5) + ";"));
}

TEST_CASE("to_dot of several outputs, shared nodes once, unnamed leaves by shape", "[graph_export]") {
  Tensor a = dg::rand({2}, dg::requires_grad());
  Tensor h = a.exp();
  Tensor y1 = h.sin();
  Tensor y2 = h.cos();
  const std::string dot = autograd::to_dot(std::vector<Tensor>{y1, y2});
  CHECK_THAT(dot, Contains("out0"));
  CHECK_THAT(dot, Contains("out1"));
  size_t count = 0;
  for (size_t p = dot.find("[label=\"ExpBackward0"); p != std::string::npos;
       p = dot.find("[label=\"ExpBackward0", p + 1))
    ++count;
  CHECK(count == 1);
  CHECK_THAT(dot, Contains("leaf\\l[2] float32"));
  CHECK_THROWS_WITH(autograd::to_dot(Tensor()), Contains("to_dot: root 0 is undefined"));
  // After backward frees the saved tensors the graph still draws.
  y1.sum().backward();
  CHECK_THAT(autograd::to_dot(y1), Contains("saved tensors freed"));
}

TEST_CASE("to_dot output parses with Graphviz dot", "[graph_export]") {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    WARN("graphviz 'dot' not installed: parse check skipped (tools/install-deps.sh installs it)");
    return;
  }
  Tensor w = dg::rand({3, 4}, dg::requires_grad());
  Tensor x = dg::rand({5, 4});
  Tensor loss = dg::matmul(x, w.t()).relu().pow(2).mean();
  const std::string path = "dg_test_graph_export.dot";
  {
    std::ofstream f(path);
    f << autograd::to_dot(loss, {{"weight", w}});
  }
  const int rc = std::system(("dot -Tsvg " + path + " -o dg_test_graph_export.svg").c_str());
  CHECK(rc == 0);
  std::ifstream svg("dg_test_graph_export.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("<svg"));
  CHECK_THAT(text, Contains("weight"));
  std::remove(path.c_str());
  std::remove("dg_test_graph_export.svg");
}
