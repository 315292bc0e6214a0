#include "dynagrad/graph_export.h"

#include <sstream>
#include <unordered_map>

#include "dynagrad/autograd_meta.h"
#include "dynagrad/node.h"

namespace dg::autograd {

namespace {

// DOT string literal contents: quotes and backslashes escaped.
std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\l";  // left-justified line break
      continue;
    }
    out += c;
  }
  return out;
}

std::string shape_of(const Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

class DotWriter {
 public:
  explicit DotWriter(const std::map<std::string, Tensor>& params) {
    for (const auto& [name, t] : params)
      if (t.defined()) names_.emplace(t.unsafeGetTensorImpl(), name);
  }

  std::string write(const std::vector<Tensor>& roots) {
    os_ << "digraph dynagrad {\n"
        << "  graph [rankdir=BT];\n"
        << "  node [shape=box, style=filled, fillcolor=lightgrey, fontname=monospace, fontsize=10];\n";
    for (size_t i = 0; i < roots.size(); ++i) {
      const Tensor& r = roots[i];
      DG_CHECK(r.defined(), "to_dot: root ", i, " is undefined");
      std::string id = "out";  // (not "out" + to_string: GCC 12's -Wrestrict false positive)
      id += std::to_string(i);
      os_ << "  " << id << " [label=\"" << escape(label_of_tensor(r, "output")) << "\", fillcolor=darkolivegreen1];\n";
      const NodePtr& fn = r.grad_fn();
      if (fn) {
        const std::string from = visit(fn.get());  // (writes its box first)
        os_ << "  " << from << " -> " << id << ";\n";
      } else if (r.requires_grad()) {
        os_ << "  " << id << " [fillcolor=lightblue];\n";  // a leaf: the output is its own input
      }
    }
    // Iterative: graphs may be deep (a 100k-op chain).
    while (!stack_.empty()) {
      Node* n = stack_.back();
      stack_.pop_back();
      const std::string id = ids_.at(n);  // a copy: visit() below grows ids_
      for (const Edge& e : n->next_edges()) {
        if (!e.is_valid()) continue;
        const std::string from = visit(e.function.get());
        os_ << "  " << from << " -> " << id << ";\n";
      }
    }
    os_ << "}\n";
    return os_.str();
  }

 private:
  std::string label_of_tensor(const Tensor& t, const std::string& fallback) {
    auto it = names_.find(t.unsafeGetTensorImpl());
    std::ostringstream os;
    os << (it != names_.end() ? it->second : fallback) << "\n" << shape_of(t) << " " << t.dtype();
    return os.str();
  }

  // The DOT id of node n, writing its box the first time it is seen.
  std::string visit(Node* n) {
    auto it = ids_.find(n);
    if (it != ids_.end()) return it->second;
    std::string id = "n";
    id += std::to_string(ids_.size());
    ids_.emplace(n, id);
    stack_.push_back(n);
    if (auto* acc = dynamic_cast<AccumulateGrad*>(n)) {
      const Tensor leaf = acc->variable();
      os_ << "  " << id << " [label=\"AccumulateGrad\"];\n";
      if (leaf.defined()) {
        const std::string leaf_id = id + "_leaf";
        os_ << "  " << leaf_id << " [label=\"" << escape(label_of_tensor(leaf, "leaf")) << "\", fillcolor=lightblue];\n"
            << "  " << leaf_id << " -> " << id << ";\n";
      }
      return id;
    }
    std::string label = n->name() + "\n";
    try {
      for (const auto& [name, value] : n->saved_values()) label += name + ": " + value.str() + "\n";
    } catch (const Error&) {
      label += "(saved tensors freed or modified)\n";
    }
    os_ << "  " << id << " [label=\"" << escape(label) << "\"];\n";
    return id;
  }

  std::unordered_map<const TensorImpl*, std::string> names_;
  std::unordered_map<const Node*, std::string> ids_;
  std::vector<Node*> stack_;
  std::ostringstream os_;
};

}  // namespace

std::string to_dot(const std::vector<Tensor>& roots, const std::map<std::string, Tensor>& params) {
  return DotWriter(params).write(roots);
}

std::string to_dot(const Tensor& root, const std::map<std::string, Tensor>& params) {
  return to_dot(std::vector<Tensor>{root}, params);
}

}  // namespace dg::autograd
