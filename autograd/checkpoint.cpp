// Non-reentrant checkpointing on saved-tensor hooks. The forward packs each
// saved tensor as a Holder (its index in the forward's order) and keeps
// nothing else. The first unpack that finds its tensor missing reruns the
// function with "storage" hooks that record, by the same order, the tensors
// the rerun saves, for the Holders still alive; each unpack then takes its
// tensor out of the storage (so the memory goes as backward proceeds).
#include "dynagrad/checkpoint.h"

#include <unordered_map>

#include "dynagrad/generator.h"
#include "dynagrad/graph.h"

namespace dg::utils::detail {

namespace {
struct Holder {
  size_t index;
};
}  // namespace

class CheckpointFrame {
 public:
  CheckpointFrame(std::function<void()> recompute, const CheckpointOptions& options)
      : recompute_(std::move(recompute)), options_(options) {
    const Generator& gen = default_generator();
    seed_ = gen.current_seed();
    offset_ = gen.get_offset();
  }

  std::any pack() {
    auto h = std::make_shared<Holder>(Holder{holders_.size()});
    holders_.push_back(h);
    return h;
  }

  Tensor unpack(const std::any& packed) {
    const auto& h = std::any_cast<const std::shared_ptr<Holder>&>(packed);
    auto it = storage_.find(h->index);
    if (it == storage_.end()) {
      recompute();
      it = storage_.find(h->index);
      DG_CHECK(it != storage_.end(), "checkpoint: the recomputation of the checkpointed function saved ", count_,
               " tensors for backward where the forward saved ", holders_.size(), " (tensor ", h->index,
               " is missing): the function must do the same computation when run again "
               "(same control flow, inputs not modified in place since)");
    }
    Tensor t = std::move(it->second);
    storage_.erase(it);
    return t;
  }

 private:
  void recompute() {
    storage_.clear();
    count_ = 0;
    Generator gen = default_generator();
    const uint64_t seed_now = gen.current_seed(), offset_now = gen.get_offset();
    if (options_.preserve_rng_state) {
      gen.set_current_seed(seed_);
      gen.set_offset(offset_);
    }
    struct Restore {
      Generator gen;
      uint64_t seed, offset;
      bool on;
      ~Restore() {
        if (!on) return;
        gen.set_current_seed(seed);
        gen.set_offset(offset);
      }
    } restore{gen, seed_now, offset_now, options_.preserve_rng_state};
    autograd::graph::saved_tensors_hooks store(
        [this](const Tensor& t) -> std::any {
          const size_t i = count_++;
          if (i < holders_.size() && !holders_[i].expired()) storage_[i] = t;
          return std::any();
        },
        [](const std::any&) -> Tensor {
          throw Error(
              "checkpoint: backward reached a tensor saved while the checkpointed function was being recomputed; "
              "the recomputed graph is not meant to be differentiated");
        });
    EnableGradGuard grad_mode;
    recompute_();
  }

  std::function<void()> recompute_;
  CheckpointOptions options_;
  uint64_t seed_ = 0, offset_ = 0;
  std::vector<std::weak_ptr<Holder>> holders_;
  std::unordered_map<size_t, Tensor> storage_;
  size_t count_ = 0;
};

struct CheckpointScope::Impl {
  std::shared_ptr<CheckpointFrame> frame;
  autograd::graph::saved_tensors_hooks hooks;
  explicit Impl(std::shared_ptr<CheckpointFrame> f)
      : frame(f), hooks([f](const Tensor&) { return f->pack(); }, [f](const std::any& p) { return f->unpack(p); }) {}
};

CheckpointScope::CheckpointScope(std::function<void()> recompute, const CheckpointOptions& options)
    : impl_(std::make_unique<Impl>(std::make_shared<CheckpointFrame>(std::move(recompute), options))) {}

CheckpointScope::~CheckpointScope() = default;

void check_outputs(const variable_list& outputs) {
  for (const auto& t : outputs)
    if (t.defined() && t.requires_grad()) return;
  throw Error(
      "checkpoint: the checkpointed function returned no tensor that requires grad (none of its inputs or the "
      "parameters it uses require grad?); its gradients would be missing. Call it without checkpoint, or under "
      "dg::NoGradGuard");
}

}  // namespace dg::utils::detail

namespace dg::utils {

Tensor checkpoint_sequential(const std::vector<std::function<Tensor(const Tensor&)>>& functions, int64_t segments,
                             const Tensor& input, const CheckpointOptions& options) {
  const int64_t n = static_cast<int64_t>(functions.size());
  DG_CHECK(segments >= 1 && segments <= n, "checkpoint_sequential: expected 1 <= segments <= ", n,
           " (the number of functions), got ", segments);
  auto run = [&functions](int64_t begin, int64_t end, Tensor x) {
    for (int64_t j = begin; j < end; ++j) x = functions[j](x);
    return x;
  };
  const int64_t size = n / segments;
  Tensor x = input;
  int64_t begin = 0;
  for (; begin + size <= size * (segments - 1); begin += size) {
    // The segment's functions are copied: backward may run them after this returns.
    std::vector<std::function<Tensor(const Tensor&)>> seg(functions.begin() + begin, functions.begin() + begin + size);
    x = checkpoint(
        options,
        [seg](const Tensor& in) {
          Tensor y = in;
          for (const auto& f : seg) y = f(y);
          return y;
        },
        x);
  }
  return run(begin, n, x);
}

}  // namespace dg::utils
