#pragma once
// DistributedDataParallel: PyTorch's torch.nn.parallel.DistributedDataParallel
// for a dg::nn::Module. Every rank holds a replica of the model and feeds it
// its own shard of the batch (DistributedRandomSampler); backward leaves in
// each parameter's .grad the average of the ranks' gradients, so one
// optimizer step per rank keeps the replicas equal.
//
//   dg::distributed::init_process_group("gloo");          // RANK, WORLD_SIZE, ... (tools/dgrun)
//   Net net;
//   dg::nn::parallel::DistributedDataParallel<Net> ddp(net);   // rank 0's weights everywhere
//   dg::optim::SGD opt(ddp.parameters(), 0.1);
//   auto loss = dg::nn::functional::cross_entropy(ddp(x), y);
//   loss.backward();                                       // gradients averaged over the ranks
//   opt.step();
//
// Construction checks that every rank's model has the same parameters and
// buffers (count, shapes, dtypes: dg::Error naming the first that differs
// and each rank's shape) and broadcasts rank 0's values. The gradients go
// in buckets of about bucket_cap_mb (the first one 1 MiB, as PyTorch), filled
// in reverse registration order (the order backward produces them); a
// post-accumulate-grad hook on each parameter copies its gradient into its
// bucket, and the bucket's asynchronous all_reduce starts as soon as its last
// gradient is in, while backward goes on. A final callback of the backward
// (Engine::queue_callback) waits for the buckets and writes the averages into
// .grad. Buckets start in the same order on every rank.
//
// no_sync(): while the guard lives, backward only accumulates locally (the
// next synchronised backward averages the accumulated sums).
// find_unused_parameters: a parameter that got no gradient in a backward
// counts as ready with a zero gradient when backward ends; one that no rank
// used keeps its .grad as it was (undefined stays undefined, so optimizers
// skip it). Without it such a parameter is a dg::Error when backward ends.
// broadcast_buffers: rank 0's buffers (BatchNorm's running statistics) are
// copied to every rank at each forward (not inside no_sync).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/arg.h"
#include "dynagrad/distributed/process_group.h"
#include "dynagrad/error.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/removable_handle.h"
#include "dynagrad/tensor.h"

namespace dg::nn::parallel {

struct DistributedDataParallelOptions {
  // The group the gradients are averaged over; nullptr: the default group
  // (dg::distributed::init_process_group).
  DG_ARG(std::shared_ptr<distributed::ProcessGroup>, process_group) = nullptr;
  DG_ARG(double, bucket_cap_mb) = 25.0;
  DG_ARG(bool, find_unused_parameters) = false;
  DG_ARG(bool, broadcast_buffers) = true;
};

// The gradient side of DistributedDataParallel (PyTorch's c10d::Reducer):
// buckets, hooks, the all_reduces and the final write-back. Exposed for
// tests and benchmarks; DistributedDataParallel owns one.
class Reducer {
 public:
  // `params` in registration order (the ones requiring grad), with names for
  // messages. The first bucket holds at most min(first_bucket_bytes,
  // bucket_bytes_cap); each bucket holds one dtype.
  Reducer(std::vector<Tensor> params, std::vector<std::string> names,
          std::shared_ptr<distributed::ProcessGroup> process_group, int64_t bucket_bytes_cap,
          bool find_unused_parameters, int64_t first_bucket_bytes = int64_t{1} << 20);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // false: hooks only accumulate locally (no_sync).
  void set_require_grad_sync(bool on) { require_sync_ = on; }
  bool require_grad_sync() const { return require_sync_; }
  // The parameter indices (registration order) of each bucket, in launch order.
  std::vector<std::vector<size_t>> bucket_indices() const;
  // Seconds from the first gradient of the last synchronised backward to
  // the launch of its last bucket, and from then until every bucket was
  // reduced (what the final callback waited).
  double last_launch_span() const { return last_launch_span_; }
  double last_wait() const { return last_wait_; }

 private:
  struct Bucket {
    std::vector<size_t> params;    // indices into params_
    std::vector<int64_t> offsets;  // element offset of each in `flat`
    Tensor flat;                   // the flattened gradients, reduced in place
    size_t pending = 0;            // parameters not ready yet this backward
    intrusive_ptr<distributed::Work> work;
  };

  void mark_ready(size_t index);
  void copy_into_bucket(size_t index, bool zero);
  void launch_ready_buckets();
  void finalize();
  void reset_iteration();
  Tensor bucket_view(size_t index) const;

  std::vector<Tensor> params_;
  std::vector<std::string> names_;
  std::shared_ptr<distributed::ProcessGroup> pg_;
  bool find_unused_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;       // param -> bucket
  std::vector<size_t> slot_in_bucket_;  // param -> position in its bucket
  std::vector<char> ready_;             // this backward
  std::vector<char> used_;              // got a gradient this backward
  std::vector<RemovableHandle> hooks_;
  size_t next_bucket_ = 0;
  bool callback_queued_ = false;
  bool require_sync_ = true;
  std::chrono::steady_clock::time_point first_ready_{};
  double last_launch_span_ = 0;
  double last_wait_ = 0;
};

namespace detail {
// dg::Error unless every rank's `tensors` (named by `names`, `kinds` saying
// "parameter" or "buffer") agree in count, dtypes and shapes.
void verify_replicas_match(distributed::ProcessGroup& pg, const std::vector<Tensor>& tensors,
                           const std::vector<std::string>& names, const std::vector<std::string>& kinds);
// Copies rank `root`'s values of `tensors` into every rank's (in place, not recorded).
void broadcast_tensors(distributed::ProcessGroup& pg, const std::vector<Tensor>& tensors, int64_t root = 0);
std::shared_ptr<distributed::ProcessGroup> resolve_group(const std::shared_ptr<distributed::ProcessGroup>& pg);
}  // namespace detail

// `ModuleType`: a module holder (DG_MODULE's Net) or a std::shared_ptr to a
// module; forward(...) and operator() pass their arguments to its forward.
template <typename ModuleType>
class DistributedDataParallel {
 public:
  // Restores gradient synchronisation when it goes out of scope.
  class NoSyncGuard {
   public:
    explicit NoSyncGuard(Reducer& reducer) : reducer_(reducer), previous_(reducer.require_grad_sync()) {
      reducer_.set_require_grad_sync(false);
    }
    ~NoSyncGuard() { reducer_.set_require_grad_sync(previous_); }
    NoSyncGuard(const NoSyncGuard&) = delete;
    NoSyncGuard& operator=(const NoSyncGuard&) = delete;

   private:
    Reducer& reducer_;
    bool previous_;
  };

  explicit DistributedDataParallel(ModuleType module,
                                   DistributedDataParallelOptions options = DistributedDataParallelOptions())
      : module_(std::move(module)), options_(std::move(options)) {
    DG_CHECK(static_cast<bool>(module_), "DistributedDataParallel: expected a module, got an empty holder");
    pg_ = detail::resolve_group(options_.process_group());
    DG_CHECK(options_.bucket_cap_mb() > 0, "DistributedDataParallel: bucket_cap_mb must be positive, got ",
             options_.bucket_cap_mb());
    std::vector<Tensor> all;
    std::vector<std::string> names;
    std::vector<std::string> kinds;
    std::vector<Tensor> params;
    std::vector<std::string> param_names;
    for (const auto& item : module_->named_parameters()) {
      all.push_back(item.value());
      names.push_back(item.key());
      kinds.emplace_back("parameter");
      if (item.value().requires_grad()) {
        params.push_back(item.value());
        param_names.push_back(item.key());
      }
    }
    for (const auto& item : module_->named_buffers()) {
      all.push_back(item.value());
      names.push_back(item.key());
      kinds.emplace_back("buffer");
      buffers_.push_back(item.value());
    }
    detail::verify_replicas_match(*pg_, all, names, kinds);
    detail::broadcast_tensors(*pg_, all);
    reducer_ = std::make_unique<Reducer>(std::move(params), std::move(param_names), pg_,
                                         static_cast<int64_t>(options_.bucket_cap_mb() * 1024 * 1024),
                                         options_.find_unused_parameters());
  }

  template <typename... Args>
  decltype(auto) forward(Args&&... args) {
    if (options_.broadcast_buffers() && reducer_->require_grad_sync() && !buffers_.empty()) {
      detail::broadcast_tensors(*pg_, buffers_);
    }
    return module_->forward(std::forward<Args>(args)...);
  }
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) {
    return forward(std::forward<Args>(args)...);
  }

  // Gradient accumulation without communication: `auto guard = ddp.no_sync();`.
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*reducer_); }

  ModuleType& module() { return module_; }
  const ModuleType& module() const { return module_; }
  std::vector<Tensor> parameters(bool recurse = true) const { return module_->parameters(recurse); }
  std::vector<Tensor> buffers(bool recurse = true) const { return module_->buffers(recurse); }
  void train(bool on = true) { module_->train(on); }
  void eval() { module_->eval(); }
  void zero_grad(bool set_to_none = false) { module_->zero_grad(set_to_none); }
  const std::shared_ptr<distributed::ProcessGroup>& process_group() const { return pg_; }
  const DistributedDataParallelOptions& options() const { return options_; }
  Reducer& reducer() { return *reducer_; }

 private:
  ModuleType module_;
  DistributedDataParallelOptions options_;
  std::shared_ptr<distributed::ProcessGroup> pg_;
  std::vector<Tensor> buffers_;
  std::unique_ptr<Reducer> reducer_;
};

}  // namespace dg::nn::parallel
