// dg_bench_allreduce: all-reduce bus bandwidth of dynagrad's ProcessGroupGloo
// on 2 local ranks, side by side with LibTorch 1.13's c10d::ProcessGroupGloo
// (when built with LibTorch) in the same processes, on the same Gloo
// library and the same loopback.
//
//   dg_bench_allreduce [--min-mib 1] [--max-mib 256] [--iters N]
//
// The program starts its two ranks itself (posix_spawn of itself with
// --rank); rank 0 prints one row per size: the time of one all-reduce (the
// median of the iterations) and the bus bandwidth 2 (n-1)/n bytes / time, as
// NCCL's tests define it, for each library, and their ratio.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dynagrad/distributed.h"
#include "dynagrad/dynagrad.h"

#ifdef DG_HAVE_LIBTORCH
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

extern char** environ;

namespace {
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Args {
  int rank = -1;
  int port = 0;
  int min_mib = 1, max_mib = 256;
  int iters = 0;                 // 0: by size
  bool dg = true, torch = true;  // --only dg / --only torch
};

int iters_for(const Args& a, size_t bytes) {
  if (a.iters > 0) return a.iters;
  return std::max(5, static_cast<int>(std::min<size_t>(40, (512u << 20) / std::max<size_t>(bytes, 1))));
}

int run_rank(const Args& a) {
  namespace c10d = dg::distributed;
  const int world = 2;
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(a.port);
  so.isServer = a.rank == 0;
  so.numWorkers = world;
  so.timeout = std::chrono::seconds(60);
  auto store = dg::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(120));
  opts->hostname = "127.0.0.1";
  auto pg =
      std::make_shared<c10d::ProcessGroupGloo>(dg::make_intrusive<c10d::PrefixStore>("dg", store), a.rank, world, opts);
#ifdef DG_HAVE_LIBTORCH
  ::c10d::TCPStoreOptions tso;
  tso.port = static_cast<uint16_t>(a.port + 1);
  tso.isServer = a.rank == 0;
  tso.numWorkers = world;
  tso.timeout = std::chrono::seconds(60);
  auto tstore = c10::make_intrusive<::c10d::TCPStore>("127.0.0.1", tso);
  auto topts = ::c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(120));
  topts->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  auto tpg = c10::make_intrusive<::c10d::ProcessGroupGloo>(tstore, a.rank, world, topts);
#endif
  if (a.rank == 0) {
    std::printf(
        "all-reduce (sum) of float32 on %d local ranks, Gloo TCP over 127.0.0.1; time = median of the "
        "iterations, busbw = 2(n-1)/n * bytes / time\n",
        world);
    std::printf("%8s %6s %14s %14s %14s %14s %8s\n", "MiB", "iters", "dg ms", "dg GB/s", "torch ms", "torch GB/s",
                "dg/torch");
  }
  for (int mib = a.min_mib; mib <= a.max_mib; mib *= 2) {
    const size_t bytes = static_cast<size_t>(mib) << 20;
    const int64_t n = static_cast<int64_t>(bytes / 4);
    const int iters = iters_for(a, bytes);
    std::vector<dg::Tensor> t{dg::ones({n})};
    std::vector<double> dg_s{0};
    for (int i = 0; a.dg && i < iters + 3; ++i) {
      if (i == 3) dg_s.clear();
      pg->barrier()->wait();
      auto t0 = Clock::now();
      pg->allreduce(t)->wait();
      if (i >= 3) dg_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    double torch_s = 0;
#ifdef DG_HAVE_LIBTORCH
    std::vector<at::Tensor> tt{torch::ones({n})};
    std::vector<double> th_s{0};
    for (int i = 0; a.torch && i < iters + 3; ++i) {
      if (i == 3) th_s.clear();
      tpg->barrier()->wait();
      auto t0 = Clock::now();
      tpg->allreduce(tt)->wait();
      if (i >= 3) th_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    torch_s = median(th_s);
#endif
    const double d = median(dg_s);
    const double factor = 2.0 * (world - 1) / world * static_cast<double>(bytes) / 1e9;
    if (a.rank == 0) {
      if (torch_s > 0)
        std::printf("%8d %6d %14.3f %14.3f %14.3f %14.3f %8.2f\n", mib, iters, d * 1e3, factor / d, torch_s * 1e3,
                    factor / torch_s, torch_s / d);
      else std::printf("%8d %6d %14.3f %14.3f %14s %14s %8s\n", mib, iters, d * 1e3, factor / d, "-", "-", "-");
      std::fflush(stdout);
    }
  }
  pg->barrier()->wait();
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dg_bench_allreduce: %s needs a value\n", s.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (s == "--rank") a.rank = next();
    else if (s == "--port") a.port = next();
    else if (s == "--min-mib") a.min_mib = next();
    else if (s == "--max-mib") a.max_mib = next();
    else if (s == "--iters") a.iters = next();
    else if (s == "--only" && i + 1 < argc) {
      std::string which = argv[++i];
      a.dg = which == "dg";
      a.torch = which == "torch";
    } else {
      std::fprintf(stderr, "usage: dg_bench_allreduce [--min-mib 1] [--max-mib 256] [--iters N] [--only dg|torch]\n");
      return 2;
    }
  }
  if (a.rank >= 0) {
    try {
      return run_rank(a);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank %d: %s\n", a.rank, e.what());
      return 1;
    }
  }
  // The launcher: two ranks of this program on a free pair of ports.
  srand(static_cast<unsigned>(getpid()));
  const int port = 20000 + rand() % 20000;
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    std::vector<std::string> args{argv[0],
                                  "--rank",
                                  std::to_string(r),
                                  "--port",
                                  std::to_string(port),
                                  "--min-mib",
                                  std::to_string(a.min_mib),
                                  "--max-mib",
                                  std::to_string(a.max_mib),
                                  "--iters",
                                  std::to_string(a.iters)};
    if (!a.dg || !a.torch) {
      args.push_back("--only");
      args.push_back(a.dg ? "dg" : "torch");
    }
    std::vector<char*> cargs;
    for (auto& s : args) cargs.push_back(s.data());
    cargs.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, cargs.data(), environ) != 0) {
      std::perror("posix_spawn");
      return 1;
    }
    pids.push_back(pid);
  }
  int rc = 0;
  for (pid_t p : pids) {
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
  }
  return rc;
}
