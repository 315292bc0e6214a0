#include "dynagrad/distributed/ddp.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "dynagrad/distributed/init.h"
#include "dynagrad/engine.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg::nn::parallel {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One tensor's description in the replicas' check: dtype, dim, sizes.
struct TensorMeta {
  int64_t dtype = -1;
  std::vector<int64_t> sizes;
  bool operator==(const TensorMeta& o) const { return dtype == o.dtype && sizes == o.sizes; }
};

std::string describe(const TensorMeta& m) {
  std::ostringstream os;
  os << "shape [";
  for (size_t i = 0; i < m.sizes.size(); ++i) os << (i ? ", " : "") << m.sizes[i];
  os << "] and dtype " << scalar_type_name(static_cast<ScalarType>(m.dtype));
  return os.str();
}

// [count, (dtype, dim, sizes...)...] -> metas; a rank's encoding is padded with -1.
std::vector<TensorMeta> decode(const int64_t* data) {
  std::vector<TensorMeta> out(static_cast<size_t>(data[0]));
  size_t at = 1;
  for (TensorMeta& m : out) {
    m.dtype = data[at++];
    const int64_t dim = data[at++];
    m.sizes.assign(data + at, data + at + dim);
    at += static_cast<size_t>(dim);
  }
  return out;
}

}  // namespace

namespace detail {

std::shared_ptr<distributed::ProcessGroup> resolve_group(const std::shared_ptr<distributed::ProcessGroup>& pg) {
  if (pg) return pg;
  DG_CHECK(distributed::is_initialized(),
           "DistributedDataParallel: no process_group given and the default group is not initialized (call "
           "dg::distributed::init_process_group first)");
  return distributed::default_group();
}

void verify_replicas_match(distributed::ProcessGroup& pg, const std::vector<Tensor>& tensors,
                           const std::vector<std::string>& names, const std::vector<std::string>& kinds) {
  const int world = pg.getSize();
  std::vector<int64_t> mine{static_cast<int64_t>(tensors.size())};
  for (const Tensor& t : tensors) {
    mine.push_back(static_cast<int64_t>(t.scalar_type()));
    mine.push_back(t.dim());
    for (int64_t s : t.sizes()) mine.push_back(s);
  }
  // Every rank's length first, then the encodings padded to the longest.
  std::vector<Tensor> length{dg::tensor(std::vector<int64_t>{static_cast<int64_t>(mine.size())})};
  std::vector<std::vector<Tensor>> lengths(1);
  for (int r = 0; r < world; ++r) lengths[0].push_back(dg::zeros({1}, TensorOptions().dtype(kInt64)));
  pg.allgather(lengths, length)->wait();
  int64_t longest = 0;
  for (const Tensor& l : lengths[0]) longest = std::max(longest, l.item<int64_t>());
  mine.resize(static_cast<size_t>(longest), -1);
  std::vector<Tensor> encoded{dg::tensor(mine)};
  std::vector<std::vector<Tensor>> gathered(1);
  for (int r = 0; r < world; ++r) gathered[0].push_back(dg::zeros({longest}, TensorOptions().dtype(kInt64)));
  pg.allgather(gathered, encoded)->wait();

  std::vector<std::vector<TensorMeta>> metas;
  for (const Tensor& g : gathered[0]) metas.push_back(decode(g.contiguous().data_ptr<int64_t>()));
  const int rank = pg.getRank();
  const std::vector<TensorMeta>& own = metas[static_cast<size_t>(rank)];
  for (int r = 0; r < world; ++r) {
    DG_CHECK(metas[static_cast<size_t>(r)].size() == own.size(),
             "DistributedDataParallel: the ranks' models differ: rank ", rank, " has ", own.size(),
             " parameters and buffers, rank ", r, " has ", metas[static_cast<size_t>(r)].size());
  }
  for (size_t i = 0; i < own.size(); ++i) {
    bool same = true;
    for (int r = 0; r < world; ++r) same = same && metas[static_cast<size_t>(r)][i] == own[i];
    if (same) continue;
    std::ostringstream os;
    for (int r = 0; r < world; ++r) {
      os << (r ? "; " : "") << "rank " << r << ": " << describe(metas[static_cast<size_t>(r)][i]);
    }
    DG_CHECK(false, "DistributedDataParallel: the ranks' models differ at ", kinds[i], " '", names[i], "' (index ", i,
             "): ", os.str());
  }
}

void broadcast_tensors(distributed::ProcessGroup& pg, const std::vector<Tensor>& tensors, int64_t root) {
  NoGradGuard no_grad;
  distributed::BroadcastOptions opts;
  opts.rootRank = root;
  // One flat buffer per dtype: one collective each, whatever the count.
  std::map<ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < tensors.size(); ++i) by_dtype[tensors[i].scalar_type()].push_back(i);
  for (const auto& [dtype, indices] : by_dtype) {
    std::vector<Tensor> flat_parts;
    for (size_t i : indices) flat_parts.push_back(tensors[i].detach().reshape({-1}));
    std::vector<Tensor> flat{dg::cat(flat_parts)};
    pg.broadcast(flat, opts)->wait();
    int64_t offset = 0;
    for (size_t i : indices) {
      const Tensor& t = tensors[i];
      t.detach().copy_(flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace detail

Reducer::Reducer(std::vector<Tensor> params, std::vector<std::string> names,
                 std::shared_ptr<distributed::ProcessGroup> process_group, int64_t bucket_bytes_cap,
                 bool find_unused_parameters, int64_t first_bucket_bytes)
    : params_(std::move(params)),
      names_(std::move(names)),
      pg_(std::move(process_group)),
      find_unused_(find_unused_parameters) {
  DG_CHECK(pg_ != nullptr, "Reducer: expected a process group, got nullptr");
  DG_CHECK(bucket_bytes_cap > 0, "Reducer: bucket_bytes_cap must be positive, got ", bucket_bytes_cap);
  const size_t n = params_.size();
  for (size_t i = 0; i < n; ++i) {
    DG_CHECK(params_[i].is_leaf() && params_[i].requires_grad(), "Reducer: parameter '", names_[i],
             "' must be a leaf that requires grad");
  }
  // Reverse registration order, one open bucket per dtype; a bucket closes
  // once it holds its limit (the first of each dtype a smaller one, so the
  // first all_reduce starts early).
  struct Open {
    std::vector<size_t> params;
    int64_t bytes = 0;
    bool first = true;
  };
  std::map<ScalarType, Open> open;
  std::vector<std::vector<size_t>> closed;
  for (size_t k = n; k-- > 0;) {
    const Tensor& p = params_[k];
    Open& b = open[p.scalar_type()];
    b.params.push_back(k);
    b.bytes += p.numel() * static_cast<int64_t>(p.element_size());
    const int64_t limit = b.first ? std::min(first_bucket_bytes, bucket_bytes_cap) : bucket_bytes_cap;
    if (b.bytes >= limit) {
      closed.push_back(std::move(b.params));
      b = Open{{}, 0, false};
    }
  }
  for (auto& [dtype, b] : open) {
    if (!b.params.empty()) closed.push_back(std::move(b.params));
  }
  // Launch order: by the bucket's first gradient in the reverse order.
  std::sort(closed.begin(), closed.end(), [](const auto& a, const auto& b) { return a.front() > b.front(); });
  bucket_of_.resize(n);
  slot_in_bucket_.resize(n);
  for (auto& indices : closed) {
    Bucket bucket;
    int64_t total = 0;
    for (size_t slot = 0; slot < indices.size(); ++slot) {
      bucket_of_[indices[slot]] = buckets_.size();
      slot_in_bucket_[indices[slot]] = slot;
      bucket.offsets.push_back(total);
      total += params_[indices[slot]].numel();
    }
    const Tensor& first = params_[indices.front()];
    bucket.flat = dg::zeros({total}, TensorOptions().dtype(first.scalar_type()).device(first.device()));
    bucket.params = std::move(indices);
    bucket.pending = bucket.params.size();
    buckets_.push_back(std::move(bucket));
  }
  ready_.assign(n, 0);
  used_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    hooks_.push_back(params_[i].register_post_accumulate_grad_hook([this, i](const Tensor&) { mark_ready(i); }));
  }
}

Reducer::~Reducer() {
  for (RemovableHandle& h : hooks_) {
    if (!h.removed()) h.remove();
  }
}

std::vector<std::vector<size_t>> Reducer::bucket_indices() const {
  std::vector<std::vector<size_t>> out;
  for (const Bucket& b : buckets_) out.push_back(b.params);
  return out;
}

Tensor Reducer::bucket_view(size_t index) const {
  const Bucket& b = buckets_[bucket_of_[index]];
  const Tensor& p = params_[index];
  return b.flat.narrow(0, b.offsets[slot_in_bucket_[index]], p.numel()).view(p.sizes());
}

void Reducer::copy_into_bucket(size_t index, bool zero) {
  NoGradGuard no_grad;
  Tensor view = bucket_view(index);
  const Tensor& grad = params_[index].grad();
  if (zero || !grad.defined()) {
    view.zero_();
  } else {
    view.copy_(grad);
  }
}

void Reducer::mark_ready(size_t index) {
  if (!require_sync_) return;
  if (!callback_queued_) {
    callback_queued_ = true;
    first_ready_ = std::chrono::steady_clock::now();
    autograd::Engine::get_default_engine().queue_callback([this] { finalize(); });
  }
  DG_CHECK(!ready_[index], "DistributedDataParallel: parameter '", names_[index],
           "' was marked ready twice in one backward (is it used by a reentrant backward, or shared?)");
  ready_[index] = 1;
  used_[index] = 1;
  copy_into_bucket(index, false);
  Bucket& b = buckets_[bucket_of_[index]];
  if (--b.pending == 0) launch_ready_buckets();
}

// In bucket order only: every rank starts the same collectives in the same order.
void Reducer::launch_ready_buckets() {
  const double world = static_cast<double>(pg_->getSize());
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& b = buckets_[next_bucket_];
    {
      NoGradGuard no_grad;
      b.flat.div_(world);
    }
    std::vector<Tensor> tensors{b.flat};
    b.work = pg_->allreduce(tensors);
    ++next_bucket_;
  }
}

void Reducer::reset_iteration() {
  std::fill(ready_.begin(), ready_.end(), 0);
  std::fill(used_.begin(), used_.end(), 0);
  for (Bucket& b : buckets_) {
    b.pending = b.params.size();
    b.work.reset();
  }
  next_bucket_ = 0;
  callback_queued_ = false;
}

void Reducer::finalize() {
  // Whatever happens below, the next backward starts afresh.
  struct Reset {
    Reducer* r;
    ~Reset() { r->reset_iteration(); }
  } reset{this};
  for (size_t i = 0; i < params_.size(); ++i) {
    if (ready_[i]) continue;
    if (!find_unused_) {
      // Still wait for what was started, so no collective outlives this call.
      for (Bucket& b : buckets_) {
        if (b.work) b.work->wait();
      }
      DG_CHECK(false, "DistributedDataParallel: parameter '", names_[i], "' (index ", i,
               ") got no gradient in this backward, so its bucket cannot be reduced. If some parameters are not used "
               "in every forward, construct DistributedDataParallel with find_unused_parameters(true)");
    }
    ready_[i] = 1;
    copy_into_bucket(i, true);
    --buckets_[bucket_of_[i]].pending;
  }
  launch_ready_buckets();
  const auto launched = std::chrono::steady_clock::now();
  last_launch_span_ = std::chrono::duration<double>(launched - first_ready_).count();
  // Which parameters some rank used (only asked with find_unused_parameters).
  std::vector<char> used_anywhere(params_.size(), 1);
  if (find_unused_) {
    std::vector<Tensor> used{dg::zeros({static_cast<int64_t>(params_.size())}, TensorOptions().dtype(kInt32))};
    int32_t* u = used[0].data_ptr<int32_t>();
    for (size_t i = 0; i < params_.size(); ++i) u[i] = used_[i];
    pg_->allreduce(used)->wait();
    for (size_t i = 0; i < params_.size(); ++i) used_anywhere[i] = used[0].data_ptr<int32_t>()[i] > 0;
  }
  for (Bucket& b : buckets_) b.work->wait();
  last_wait_ = seconds_since(launched);
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!used_anywhere[i]) continue;  // no rank computed a gradient: .grad stays as it was
    Tensor& grad = params_[i].mutable_grad();
    const Tensor view = bucket_view(i);
    if (grad.defined()) {
      grad.copy_(view);
    } else {
      grad = view.clone();
    }
  }
}

}  // namespace dg::nn::parallel
