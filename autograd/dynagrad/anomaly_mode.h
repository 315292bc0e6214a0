#pragma once
// Anomaly detection (LibTorch's torch/csrc/autograd/anomaly_mode.h names).
// While it is on, every node records the C++ stack of the code that created
// it; a backward node that returns NaN raises a dg::Error naming the node
// ("Function 'SqrtBackward0' returned nan values in its 0th output.") and
// showing that forward trace, and any dg::Error thrown in a backward node is
// re-thrown with the forward trace appended. Off (the default), the cost is
// one relaxed load when a node is made and one per node run by the engine.
//
//   {
//     dg::autograd::DetectAnomalyGuard detect_anomaly;
//     auto y = (-x).sqrt().sum();
//     y.backward();   // dg::Error: Function 'SqrtBackward0' returned nan values ...
//   }
#include <any>
#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "dynagrad/node.h"

namespace dg::autograd {

struct AnomalyMode {
  static bool is_enabled() { return enabled_.load(std::memory_order_relaxed); }
  static bool should_check_nan() { return check_nan_.load(std::memory_order_relaxed); }
  static void set_enabled(bool enabled, bool check_nan = true);

 private:
  static inline std::atomic<bool> enabled_{false};
  static inline std::atomic<bool> check_nan_{true};
};

// PyTorch's torch.autograd.set_detect_anomaly(mode, check_nan) and
// torch.is_anomaly_enabled(). Global to all threads, like LibTorch's.
void set_detect_anomaly(bool enabled, bool check_nan = true);
bool is_anomaly_enabled();
bool is_anomaly_check_nan_enabled();

// Turns anomaly mode on for its scope and restores the previous setting.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool check_nan = true);
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_enabled_;
  bool prev_check_nan_;
};

// What Node::metadata() holds.
struct AnomalyMetadata {
  // Records the current C++ call stack (raw addresses: cheap; names are
  // looked up only when a trace is printed).
  void store_stack();
  // The recorded stack, one frame a line ("  #3 make_graph() in dg_tests"),
  // with the forward traces of the parents below it; empty if none.
  std::string traceback() const;
  // Writes the traceback to std::cerr with the node's name (LibTorch warns).
  void print_stack(const std::string& current_node_name) const;
  // The node whose backward created this one (nodes made under create_graph).
  void assign_parent(const NodePtr& parent_node) { parent_ = parent_node; }
  const NodePtr& parent() const { return parent_; }
  // Free key -> value store (PyTorch's grad_fn.metadata dict).
  std::unordered_map<std::string, std::any>& dict() { return dict_; }
  const std::unordered_map<std::string, std::any>& dict() const { return dict_; }

 private:
  std::vector<uintptr_t> frames_;
  NodePtr parent_;
  std::unordered_map<std::string, std::any> dict_;
};

namespace detail {
// The engine's side: runs while anomaly mode is on.
// The node now running backward on this thread (parent of nodes made meanwhile).
const Node* anomaly_current_node();
class AnomalyRunningNode {
 public:
  explicit AnomalyRunningNode(const Node* n);
  ~AnomalyRunningNode();

 private:
  const Node* prev_;
};
// Throws "Function 'X' returned nan values in its i-th output." with the
// node's forward trace when an output holds NaN.
void anomaly_check_nan(const Node& node, const variable_list& outputs);
// `what` with the node's forward trace appended.
std::string anomaly_annotate(const Node& node, const std::string& what);
// The current C++ stack, `skip` innermost frames left out.
std::vector<uintptr_t> capture_stack(int skip);
// Symbol names for the frames, one a line.
std::string symbolize_stack(const std::vector<uintptr_t>& frames);
}  // namespace detail

}  // namespace dg::autograd
