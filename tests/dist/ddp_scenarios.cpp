// DistributedDataParallel's multi-process scenarios (run by tests/test_ddp.cpp
// through tests/dist/launch.h). Each rank trains its replica on its shard of
// a batch; every rank also trains, in-process and without any group, the
// reference the result must equal: one model on the whole batch (float64,
// relative difference <= 1e-6).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dist/scenario.h"
#include "dynagrad/distributed/ddp.h"
#include "dynagrad/distributed/init.h"
#include "dynagrad/dynagrad.h"
#include "dynagrad/nn.h"
#include "dynagrad/optim.h"

using dg::Tensor;
using dg_dist::dist_check;
namespace nn = dg::nn;
namespace F = dg::nn::functional;
using dg::nn::parallel::DistributedDataParallel;
using dg::nn::parallel::DistributedDataParallelOptions;

namespace {

// Two layers; with `branches` also a branch added to the output when
// forward's `extra` is set, and a layer no forward ever uses.
struct NetImpl : nn::Module {
  explicit NetImpl(bool branches = false, int64_t hidden = 8) {
    fc1 = register_module("fc1", nn::Linear(5, hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, 3));
    if (branches) {
      branch = register_module("branch", nn::Linear(5, 3));
      never = register_module("never", nn::Linear(5, 3));
    }
  }
  Tensor forward(const Tensor& x, bool extra = false) {
    Tensor out = fc2(dg::tanh(fc1(x)));
    return extra ? out + branch(x) : out;
  }
  nn::Linear fc1{nullptr}, fc2{nullptr}, branch{nullptr}, never{nullptr};
};
DG_MODULE(Net);

struct BnNetImpl : nn::Module {
  BnNetImpl() {
    fc1 = register_module("fc1", nn::Linear(5, 6));
    bn = register_module("bn", nn::BatchNorm1d(6));
    fc2 = register_module("fc2", nn::Linear(6, 3));
  }
  Tensor forward(const Tensor& x) { return fc2(dg::relu(bn(fc1(x)))); }
  nn::Linear fc1{nullptr};
  nn::BatchNorm1d bn{nullptr};
  nn::Linear fc2{nullptr};
};
DG_MODULE(BnNet);

// A model in float64 whose initial weights depend on `seed`.
template <typename M, typename... Args>
M make_model(uint64_t seed, Args&&... args) {
  dg::manual_seed(seed);
  M m(std::forward<Args>(args)...);
  m->to(dg::kFloat64);
  return m;
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  const Tensor diff = (a - b).abs().max();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return diff.item<double>() / scale;
}

// The replicas equal the reference, parameter by parameter (named).
void check_same(const nn::Module& got, const nn::Module& want, const std::string& what, double tol = 1e-6) {
  const auto g = got.named_parameters();
  const auto w = want.named_parameters();
  dist_check(g.size() == w.size(), what, ": parameter counts differ");
  for (size_t i = 0; i < g.size(); ++i) {
    const double d = max_rel_diff(g[i].value(), w[i].value());
    dist_check(d <= tol, what, ": parameter ", g[i].key(), " differs by ", d, " (relative)");
  }
}

// The whole batch of step s: rows [rank * B, (rank + 1) * B) are rank's.
struct Data {
  Tensor x, y;
};
std::vector<Data> make_data(int steps, int64_t rows) {
  dg::manual_seed(1234);
  std::vector<Data> out;
  for (int s = 0; s < steps; ++s) {
    out.push_back({dg::randn({rows, 5}, dg::TensorOptions().dtype(dg::kFloat64)),
                   dg::randn({rows, 3}, dg::TensorOptions().dtype(dg::kFloat64))});
  }
  return out;
}

Tensor shard(const Tensor& t, int rank, int world_size) {
  const int64_t b = t.size(0) / world_size;
  return t.narrow(0, rank * b, b);
}

void sgd_step(const std::vector<Tensor>& params, double lr) {
  dg::NoGradGuard no_grad;
  for (const Tensor& p : params) {
    if (p.grad().defined()) p.sub_(p.grad() * lr);
  }
}

void zero_grads(const std::vector<Tensor>& params) {
  for (const Tensor& p : params) p.mutable_grad() = Tensor();
}

// N steps of SGD, DDP on shards against one process on the whole batch;
// with `accumulate`, each step is two micro-batches, the first under no_sync.
void equivalence(int rank, int world_size, double bucket_cap_mb, bool accumulate) {
  dg::distributed::init_process_group("gloo");
  const int steps = 4;
  const int64_t per_rank = 6;
  const double lr = 0.1;
  const auto data = make_data(steps, per_rank * world_size * (accumulate ? 2 : 1));
  Net reference = make_model<Net>(1);                              // rank 0's initial weights
  Net replica = make_model<Net>(static_cast<uint64_t>(1 + rank));  // differs until DDP broadcasts
  DistributedDataParallel<Net> ddp(replica, DistributedDataParallelOptions().bucket_cap_mb(bucket_cap_mb));
  check_same(*replica, *reference, "after construction", 0.0);
  const auto buckets = ddp.reducer().bucket_indices();
  // 600 bytes of float64 gradients: one bucket by default; with a 16-byte
  // cap one a parameter (each is at least 24 bytes).
  const size_t want_buckets = bucket_cap_mb < 0.001 ? 4 : 1;
  dist_check(buckets.size() == want_buckets, "a cap of ", bucket_cap_mb, " MiB gave ", buckets.size(),
             " buckets, expected ", want_buckets);
  // Reverse registration order: the last parameter's bucket goes first.
  dist_check(buckets.front().front() == replica->parameters().size() - 1,
             "the first bucket does not start with the last parameter");
  for (int s = 0; s < steps; ++s) {
    const Data& d = data[static_cast<size_t>(s)];
    // Reference: the mean loss over the whole batch.
    reference->zero_grad(true);
    F::mse_loss(reference(d.x), d.y).backward();
    sgd_step(reference->parameters(), lr);
    // Replica: its shard (two halves when accumulating, each loss halved).
    ddp.zero_grad(true);
    const Tensor x = shard(d.x, rank, world_size);
    const Tensor y = shard(d.y, rank, world_size);
    if (accumulate) {
      const int64_t half = x.size(0) / 2;
      {
        auto guard = ddp.no_sync();
        (F::mse_loss(ddp(x.narrow(0, 0, half)), y.narrow(0, 0, half)) * 0.5).backward();
      }
      (F::mse_loss(ddp(x.narrow(0, half, half)), y.narrow(0, half, half)) * 0.5).backward();
    } else {
      F::mse_loss(ddp(x), y).backward();
    }
    sgd_step(ddp.parameters(), lr);
    check_same(*replica, *reference, "step " + std::to_string(s));
  }
  // The accumulation really skipped communication: a no_sync backward leaves
  // the local gradient, which differs between ranks.
  if (accumulate) {
    ddp.zero_grad(true);
    {
      auto guard = ddp.no_sync();
      F::mse_loss(ddp(shard(data[0].x, rank, world_size)), shard(data[0].y, rank, world_size)).backward();
    }
    std::vector<Tensor> g{replica->fc2->bias.grad().clone()};
    std::vector<Tensor> g0{g[0].clone()};
    ddp.process_group()->broadcast(g0)->wait();
    dist_check(rank == 0 || max_rel_diff(g[0], g0[0]) > 1e-3, "no_sync gradients were averaged");
  }
  dg::distributed::destroy_process_group();
}

}  // namespace

DG_DIST_SCENARIO("ddp_equivalence") { equivalence(rank, world_size, 25.0, false); }
DG_DIST_SCENARIO("ddp_equivalence_small_buckets") { equivalence(rank, world_size, 16.0 / (1024 * 1024), false); }
DG_DIST_SCENARIO("ddp_no_sync") { equivalence(rank, world_size, 16.0 / (1024 * 1024), true); }

// A branch rank 0 uses and rank 1 does not, and a layer nobody uses:
// find_unused_parameters counts them as zeros; `never` keeps no gradient.
DG_DIST_SCENARIO("ddp_unused_parameters") {
  dg::distributed::init_process_group("gloo");
  const int steps = 3;
  const int64_t per_rank = 5;
  const auto data = make_data(steps, per_rank * world_size);
  Net reference = make_model<Net>(1, true);
  Net replica = make_model<Net>(static_cast<uint64_t>(1 + rank), true);
  DistributedDataParallel<Net> ddp(
      replica, DistributedDataParallelOptions().find_unused_parameters(true).bucket_cap_mb(100.0 / (1024 * 1024)));
  const Tensor never_before = replica->never->weight.clone();
  for (int s = 0; s < steps; ++s) {
    const Data& d = data[static_cast<size_t>(s)];
    // Reference: rank 0's rows go through the branch, the others' do not.
    reference->zero_grad(true);
    std::vector<Tensor> outs;
    for (int r = 0; r < world_size; ++r) outs.push_back(reference(shard(d.x, r, world_size), r == 0));
    F::mse_loss(dg::cat(outs), d.y).backward();
    sgd_step(reference->parameters(), 0.1);
    ddp.zero_grad(true);
    F::mse_loss(ddp(shard(d.x, rank, world_size), rank == 0), shard(d.y, rank, world_size)).backward();
    dist_check(!replica->never->weight.grad().defined(), "an unused parameter got a gradient");
    dist_check(replica->branch->weight.grad().defined(), "rank ", rank, ": the branch got no averaged gradient");
    sgd_step(ddp.parameters(), 0.1);
    check_same(*replica, *reference, "step " + std::to_string(s));
  }
  dist_check(dg::equal(replica->never->weight, never_before), "the unused layer changed");
  dg::distributed::destroy_process_group();
}

// Without find_unused_parameters an unused parameter is an error naming it.
DG_DIST_SCENARIO("ddp_unused_parameters_error") {
  dg::distributed::init_process_group("gloo");
  Net replica = make_model<Net>(1, true);
  DistributedDataParallel<Net> ddp(replica);
  std::string message;
  try {
    F::mse_loss(ddp(dg::ones({2, 5}, dg::TensorOptions().dtype(dg::kFloat64))),
                dg::zeros({2, 3}, dg::TensorOptions().dtype(dg::kFloat64)))
        .backward();
  } catch (const dg::Error& e) {
    message = e.what();
  }
  dist_check(message.find("parameter 'branch.weight'") != std::string::npos &&
                 message.find("find_unused_parameters(true)") != std::string::npos,
             "unexpected error: '", message, "'");
  dg::distributed::destroy_process_group();
}

// Rank 1's first layer is wider: refused at construction, on every rank.
DG_DIST_SCENARIO("ddp_mismatched_models") {
  dg::distributed::init_process_group("gloo");
  Net replica = make_model<Net>(1, false, rank == 1 ? 9 : 8);
  std::string message;
  try {
    DistributedDataParallel<Net> ddp(replica);
  } catch (const dg::Error& e) {
    message = e.what();
  }
  dist_check(message.find("the ranks' models differ at parameter 'fc1.weight' (index 0)") != std::string::npos &&
                 message.find("rank 0: shape [8, 5] and dtype float64; rank 1: shape [9, 5] and dtype float64") !=
                     std::string::npos,
             "unexpected error: '", message, "'");
  dg::distributed::destroy_process_group();
}

// BatchNorm: rank 0's running statistics reach every rank at each forward.
// Reference: two copies in one process, copy 1's buffers overwritten by
// copy 0's before each forward, the gradient the mean of the two losses'.
DG_DIST_SCENARIO("ddp_batchnorm_buffers") {
  dg::distributed::init_process_group("gloo");
  dist_check(world_size == 2, "this scenario runs on 2 ranks");
  const int steps = 3;
  const auto data = make_data(steps, 8);
  BnNet copies[2] = {make_model<BnNet>(1), make_model<BnNet>(1)};
  BnNet replica = make_model<BnNet>(static_cast<uint64_t>(1 + rank));
  {
    dg::NoGradGuard no_grad;
    if (rank != 0) replica->bn->running_mean.fill_(0.5);  // differs until the broadcast
  }
  DistributedDataParallel<BnNet> ddp(replica);
  dist_check(dg::equal(replica->bn->running_mean, copies[0]->bn->running_mean), "buffers not broadcast");
  for (int s = 0; s < steps; ++s) {
    const Data& d = data[static_cast<size_t>(s)];
    {
      dg::NoGradGuard no_grad;
      for (const auto& item : copies[0]->named_buffers()) copies[1]->named_buffers()[item.key()].copy_(item.value());
    }
    for (int c = 0; c < 2; ++c) {
      copies[c]->zero_grad(true);
      (F::mse_loss(copies[c](shard(d.x, c, 2)), shard(d.y, c, 2)) * 0.5).backward();
    }
    {
      dg::NoGradGuard no_grad;
      const auto p0 = copies[0]->parameters();
      const auto p1 = copies[1]->parameters();
      for (size_t i = 0; i < p0.size(); ++i) {
        const Tensor sum = p0[i].grad() + p1[i].grad();
        p0[i].mutable_grad() = sum;
        p1[i].mutable_grad() = sum.clone();
      }
    }
    sgd_step(copies[0]->parameters(), 0.1);
    sgd_step(copies[1]->parameters(), 0.1);
    ddp.zero_grad(true);
    F::mse_loss(ddp(shard(d.x, rank, 2)), shard(d.y, rank, 2)).backward();
    sgd_step(ddp.parameters(), 0.1);
    check_same(*replica, *copies[rank], "step " + std::to_string(s));
    for (const auto& item : replica->named_buffers()) {
      const Tensor want = copies[rank]->named_buffers()[item.key()];
      dist_check(max_rel_diff(item.value().to(dg::kFloat64), want.to(dg::kFloat64)) <= 1e-12, "buffer ", item.key(),
                 " differs at step ", s);
    }
  }
  dg::distributed::destroy_process_group();
}

// Rank 1 leaves after one step: rank 0's next backward fails with a dg::Error
// naming the all_reduce and the peer, within the group's timeout, not a hang.
DG_DIST_SCENARIO("ddp_peer_exits") {
  dg::distributed::init_process_group("gloo", std::chrono::milliseconds(10000));
  Net replica = make_model<Net>(1);
  DistributedDataParallel<Net> ddp(replica);
  const auto data = make_data(2, 4 * world_size);
  F::mse_loss(ddp(shard(data[0].x, rank, world_size)), shard(data[0].y, rank, world_size)).backward();
  if (rank == 1) std::_Exit(0);
  const auto start = std::chrono::steady_clock::now();
  std::string message;
  try {
    for (int s = 0; s < 3; ++s) {
      F::mse_loss(ddp(shard(data[1].x, rank, world_size)), shard(data[1].y, rank, world_size)).backward();
    }
  } catch (const dg::Error& e) {
    message = e.what();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  dist_check(seconds < 10.5, "the failure took ", seconds, " s, more than the group's 10 s timeout");
  dist_check(message.find("allreduce") != std::string::npos && message.find("rank 1") != std::string::npos,
             "expected an error naming the all_reduce and rank 1, got '", message, "'");
  std::printf("rank 0 got, after %.2f s: %s\n", seconds, message.c_str());
}
