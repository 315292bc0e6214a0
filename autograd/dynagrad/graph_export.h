#pragma once
// The backward graph in Graphviz DOT (torchviz's make_dot role): one box per
// node with its name and what it saved (tensors as dtype and shape, other
// values by value), the leaves with their names (from `params`) and shapes,
// and the outputs. Render with `dot -Tsvg` or tools/dg-dot.
//
//   std::cout << dg::autograd::to_dot(loss, {{"weight", w}, {"bias", b}});
#include <map>
#include <string>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::autograd {

// `params`: names for leaves (a module's named parameters); a leaf without
// a name is labelled by its shape alone.
std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& params = {});
std::string to_dot(const std::vector<Tensor>& roots, const std::map<std::string, Tensor>& params = {});

}  // namespace dg::autograd
