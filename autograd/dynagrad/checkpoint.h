#pragma once
// Activation checkpointing (PyTorch's torch.utils.checkpoint, the
// non-reentrant form): `dg::utils::checkpoint(fn, args...)` runs fn(args...)
// keeping none of the tensors its ops save for backward; backward runs fn
// again (with grad mode on and the random generator rewound to where the
// forward found it, so dropout draws the same mask) and uses the recomputed
// tensors. Memory of a segment's activations is traded for one more forward.
//
//   auto y = dg::utils::checkpoint([&](const dg::Tensor& x) { return block->forward(x); }, x);
//
// Works with create_graph (the recomputed values carry the original graph's
// history), retain_graph (a second backward recomputes again) and nesting.
// fn must compute the same thing when run again: same control flow, inputs
// not modified in place in between. In grad mode, fn must return at least one
// tensor that requires grad (otherwise checkpointing saves nothing and its
// gradients would silently be missing).
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "dynagrad/grad_mode.h"
#include "dynagrad/node.h"

namespace dg::utils {

struct CheckpointOptions {
  // Rewind the default generator for the recomputation (PyTorch's default).
  bool preserve_rng_state = true;
  // PyTorch's reentrant form is not provided: only false is accepted.
  bool use_reentrant = false;
};

namespace detail {
class CheckpointFrame;
// Runs `forward` under the frame's saved-tensor hooks; `recompute` is what
// backward runs to get the tensors back. Returns the frame, which the graph
// keeps alive for as long as it may need it.
class CheckpointScope {
 public:
  CheckpointScope(std::function<void()> recompute, const CheckpointOptions& options);
  ~CheckpointScope();
  CheckpointScope(const CheckpointScope&) = delete;
  CheckpointScope& operator=(const CheckpointScope&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
void check_outputs(const variable_list& outputs);
template <typename T>
void collect(variable_list&, const T&) {}
inline void collect(variable_list& out, const Tensor& t) { out.push_back(t); }
inline void collect(variable_list& out, const std::vector<Tensor>& ts) { out.insert(out.end(), ts.begin(), ts.end()); }
template <typename... Ts>
void collect(variable_list& out, const std::tuple<Ts...>& t) {
  std::apply([&](const auto&... e) { (collect(out, e), ...); }, t);
}
}  // namespace detail

template <typename F, typename... Args>
auto checkpoint(const CheckpointOptions& options, F&& fn, Args&&... args) {
  DG_CHECK(!options.use_reentrant,
           "checkpoint: use_reentrant=true (PyTorch's reentrant form) is not provided; use the non-reentrant form "
           "(use_reentrant=false), which supports more (create_graph, autograd::grad, nesting)");
  if (!GradMode::is_enabled()) return fn(args...);  // nothing is saved: nothing to recompute
  // The recomputation calls fn again on copies of the same arguments (tensors
  // share memory with the caller's).
  auto again = [f = fn, tup = std::make_tuple(std::decay_t<Args>(args)...)]() mutable { std::apply(f, tup); };
  using R = decltype(fn(args...));
  R result;
  {
    detail::CheckpointScope scope(std::move(again), options);
    result = fn(args...);
  }
  variable_list outs;
  detail::collect(outs, result);
  detail::check_outputs(outs);
  return result;
}

template <typename F, typename... Args,
          typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, CheckpointOptions>>>
auto checkpoint(F&& fn, Args&&... args) {
  return checkpoint(CheckpointOptions{}, std::forward<F>(fn), std::forward<Args>(args)...);
}

// Splits `functions` (applied in order) into `segments` runs of equal length
// and checkpoints every run but the last, as PyTorch's checkpoint_sequential:
// only the inputs of the segments are kept between forward and backward.
Tensor checkpoint_sequential(const std::vector<std::function<Tensor(const Tensor&)>>& functions, int64_t segments,
                             const Tensor& input, const CheckpointOptions& options = {});

}  // namespace dg::utils
