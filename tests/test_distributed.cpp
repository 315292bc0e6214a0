// dg::distributed: stores in one process, and the process groups' collectives
// across processes (tests/dist: each scenario runs in dg_dist_worker
// processes started by run_ranks, on 127.0.0.1, bounded in time).
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "dist/launch.h"
#include "dynagrad/distributed.h"
#include "dynagrad/dynagrad.h"

namespace c10d = dg::distributed;
using dg_dist::run_ranks;

namespace {
std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string str(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

// Runs the scenario on n ranks and requires every rank to succeed.
void require_ranks(const std::string& scenario, int n, double timeout_s = 30) {
  auto r = run_ranks(scenario, n, timeout_s);
  INFO(scenario << " on " << n << " ranks:\n" << r.report());
  REQUIRE(r.ok());
}
}  // namespace

TEST_CASE("distributed: collectives on 2 ranks, every dtype, contiguous and not", "[distributed]") {
  for (const char* s : {"allreduce", "broadcast_reduce", "gather_scatter", "p2p_barrier"}) require_ranks(s, 2);
}

TEST_CASE("distributed: collectives on 4 ranks, every dtype, contiguous and not", "[distributed]") {
  for (const char* s : {"allreduce", "broadcast_reduce", "gather_scatter", "p2p_barrier"}) require_ranks(s, 4);
}
