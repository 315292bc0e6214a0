// Prints the backward graph of a small classifier's loss in Graphviz DOT
// (dg::autograd::to_dot), parameters named as the module names them:
//   build/tools/dg_graph_example | tools/dg-dot - docs/graph_export.svg
#include <iostream>
#include <map>

#include "dynagrad/dynagrad.h"

int main() {
  dg::manual_seed(0);
  dg::nn::Sequential net(dg::nn::Linear(4, 3), dg::nn::ReLU(), dg::nn::Linear(3, 2));
  const dg::Tensor x = dg::randn({5, 4});
  const dg::Tensor target = dg::tensor(std::vector<int64_t>{0, 1, 1, 0, 1});
  const dg::Tensor loss = dg::cross_entropy(net->forward(x), target);
  std::map<std::string, dg::Tensor> params;
  for (const auto& [name, p] : net->named_parameters().pairs()) params.emplace(name, p);
  std::cout << dg::autograd::to_dot(loss, params);
  return 0;
}
