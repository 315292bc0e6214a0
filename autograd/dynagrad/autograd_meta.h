#pragma once
// The autograd half of a TensorImpl, allocated only for tensors that require
// grad or have history.
#include <memory>
#include <mutex>

#include "dynagrad/node.h"

namespace dg {

// The weak two-way link between a leaf and its AccumulateGrad. Neither owns
// the other: a leaf's .grad may hold a graph (create_graph=true) that reaches
// the accumulator, so an owning pointer either way would be a reference
// cycle. Each side clears its pointer in its destructor, under `mutex`.
// SavedVariables of the leaf share the link so that, unpacked, they route
// gradients to the same accumulator without keeping the leaf alive.
struct LeafLink {
  std::mutex mutex;
  TensorImpl* leaf = nullptr;
  AccumulateGrad* accumulator = nullptr;
};

struct AutogradMeta {
  AutogradMeta() = default;
  ~AutogradMeta();
  AutogradMeta(const AutogradMeta&) = delete;
  AutogradMeta& operator=(const AutogradMeta&) = delete;
  static void* operator new(size_t nbytes) { return detail::small_alloc(nbytes); }
  static void operator delete(void* p, size_t nbytes) noexcept { detail::small_free(p, nbytes); }

  Tensor grad;                          // .grad() of a leaf
  NodePtr grad_fn;                      // null for leaves
  std::shared_ptr<LeafLink> leaf_link;  // leaves that require grad, made on first use
  std::shared_ptr<TensorHooks> hooks;
  std::mutex mutex;  // guards grad and leaf_link creation
  uint32_t output_nr = 0;
  bool requires_grad = false;   // only meaningful for leaves
  bool owns_leaf_link = false;  // false for aliases a SavedVariable unpacked
};

namespace detail {
// A Default view whose memory was written in place since its grad_fn was
// made gets a new one, rebuilt from its base's current history.
void refresh_view_history(TensorImpl* impl);
inline void maybe_refresh_view(TensorImpl* impl) {
  if (impl->view_history_stale()) refresh_view_history(impl);
}
// The tensor's history changes (an in-place op, a refreshed view): the hooks
// registered so far stay with the old grad_fn, new ones go to `node`, and a
// retained gradient moves to it.
void new_hooks_version(AutogradMeta& m, const NodePtr& node, uint32_t output_nr);
// Sets m's grad_fn and output_nr, starting a new hooks version if it had both.
inline void set_grad_fn(AutogradMeta& m, const NodePtr& node, uint32_t output_nr) {
  if (m.hooks && m.grad_fn && m.grad_fn != node) new_hooks_version(m, node, output_nr);
  m.grad_fn = node;
  m.output_nr = output_nr;
}
}  // namespace detail

namespace autograd {
// The edge a gradient for `t` flows along: (grad_fn, output_nr) for a
// non-leaf, (accumulator, 0) for a leaf that requires grad, invalid otherwise.
Edge gradient_edge(const Tensor& t);
// The leaf's AccumulateGrad, made on first use.
NodePtr grad_accumulator(const Tensor& t);
}  // namespace autograd

}  // namespace dg
