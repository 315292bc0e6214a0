// dg_bench_ddp: how much of DistributedDataParallel's communication hides
// behind backward, on the MLP bench model (784-512-512-10, batch 128 per
// rank, float32, SGD), as issue 15 defines it:
//
//   exposed = (step with DDP - the same step without communication)
//             / (the all_reduces of the same buckets alone)
//   hidden  = 1 - exposed
//
// Each time is the median, over rounds of 10 steps of each kind in turn, of
// the slowest rank's median step; every step starts together (a barrier). Run it with the launcher:
//
//   tools/dgrun --nproc 2 build/tools/dg_bench_ddp [--iters N] [--bucket-mb M]
#include <dynagrad/distributed/ddp.h>
#include <dynagrad/distributed/init.h>
#include <dynagrad/dynagrad.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of `fn` over `iters` runs (after `warmup`), each run
// started on every rank together.
double time_steps(dg::distributed::ProcessGroup& pg, int warmup, int iters, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int i = 0; i < warmup + iters; ++i) {
    pg.barrier()->wait();
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (i >= warmup) times.push_back(s);
  }
  // The slowest rank's median: the step is as long as its last rank.
  std::vector<dg::Tensor> t{dg::tensor(std::vector<double>{median(times)}, dg::TensorOptions().dtype(dg::kFloat64))};
  dg::distributed::AllreduceOptions opts;
  opts.reduceOp = dg::distributed::ReduceOp::MAX;
  pg.allreduce(t, opts)->wait();
  return t[0].item<double>();
}

dg::nn::Sequential make_mlp() {
  dg::manual_seed(0);
  return dg::nn::Sequential(dg::nn::Linear(784, 512), dg::nn::ReLU(), dg::nn::Linear(512, 512), dg::nn::ReLU(),
                            dg::nn::Linear(512, 10));
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 50;
  double bucket_mb = 25.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iters") == 0) iters = std::max(10, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--bucket-mb") == 0) bucket_mb = std::atof(argv[i + 1]);
  }
  auto pg = dg::distributed::init_process_group("gloo");
  const int rank = pg->getRank();
  const int world = pg->getSize();
  dg::manual_seed(100 + static_cast<uint64_t>(rank));
  const dg::Tensor x = dg::randn({128, 784});
  const dg::Tensor y = dg::randint(10, {128});
  const int warmup = 5;

  // The step without communication: the same model, no DDP.
  dg::nn::Sequential plain = make_mlp();
  dg::optim::SGD plain_opt(plain->parameters(), dg::optim::SGDOptions(0.01));
  auto local_step = [&] {
    plain_opt.zero_grad();
    dg::nn::functional::cross_entropy(plain->forward(x), y).backward();
    plain_opt.step();
  };

  dg::nn::Sequential model = make_mlp();
  dg::nn::parallel::DistributedDataParallel<dg::nn::Sequential> ddp(
      model, dg::nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(bucket_mb));
  dg::optim::SGD opt(ddp.parameters(), dg::optim::SGDOptions(0.01));
  double wait_sum = 0;
  auto ddp_step = [&] {
    opt.zero_grad();
    dg::nn::functional::cross_entropy(ddp(x), y).backward();
    wait_sum += ddp.reducer().last_wait();
    opt.step();
  };

  // The all_reduces alone: one flat buffer per bucket, launched together and
  // waited for, as the reducer does.
  const auto buckets = ddp.reducer().bucket_indices();
  const auto params = model->parameters();
  std::vector<dg::Tensor> flats;
  double megabytes = 0;
  for (const auto& b : buckets) {
    int64_t n = 0;
    for (size_t i : b) n += params[i].numel();
    flats.push_back(dg::randn({n}));
    megabytes += static_cast<double>(n) * 4 / (1024.0 * 1024.0);
  }
  auto allreduce_alone = [&] {
    std::vector<dg::intrusive_ptr<dg::distributed::Work>> works;
    for (dg::Tensor& f : flats) {
      std::vector<dg::Tensor> t{f};
      works.push_back(pg->allreduce(t));
    }
    for (auto& w : works) w->wait();
  };

  // The three interleaved, in rounds of 10, so that a change in the
  // machine's load (other processes) touches all three alike.
  double local = 0, with_ddp = 0, allreduce = 0;
  {
    std::vector<double> l, d, a;
    for (int round = 0; round < iters / 10; ++round) {
      l.push_back(time_steps(*pg, round == 0 ? warmup : 0, 10, local_step));
      d.push_back(time_steps(*pg, round == 0 ? warmup : 0, 10, ddp_step));
      a.push_back(time_steps(*pg, round == 0 ? warmup : 0, 10, allreduce_alone));
    }
    local = median(l);
    with_ddp = median(d);
    allreduce = median(a);
  }

  if (rank == 0) {
    const double exposed = (with_ddp - local) / allreduce;
    std::printf(
        "DDP overlap, MLP 784-512-512-10, batch 128 per rank, float32, %d ranks (gloo), %zu buckets "
        "(%.2f MiB of gradients, bucket cap %.1f MiB), %d steps each, interleaved in rounds of 10 (median of the "
        "rounds' medians):\n",
        world, buckets.size(), megabytes, bucket_mb, iters);
    std::printf("  step without communication  %8.3f ms\n", 1e3 * local);
    std::printf("  step with DDP               %8.3f ms\n", 1e3 * with_ddp);
    std::printf("  all_reduces alone           %8.3f ms\n", 1e3 * allreduce);
    std::printf("  exposed communication       %8.3f ms (%.0f%% of the all_reduces)\n", 1e3 * (with_ddp - local),
                100 * exposed);
    std::printf("  hidden behind backward      %.0f%% (target >= 50%%)\n", 100 * (1 - exposed));
    std::printf("  (mean wait in the final callback: %.3f ms)\n", 1e3 * wait_sum / (warmup + (iters / 10) * 10));
  }
  pg->barrier()->wait();
  dg::distributed::destroy_process_group();
  return 0;
}
