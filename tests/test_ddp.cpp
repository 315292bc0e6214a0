// DistributedDataParallel on 2 (and 3) local ranks over Gloo: each scenario of
// tests/dist/ddp_scenarios.cpp runs in separate processes (tests/dist/launch.h)
// and compares its replica with a one-process reference trained on the whole
// batch. Every launch is bounded in time; a hang is a failure, not a stall.
#include <catch2/catch.hpp>

#include <string>

#include "dist/launch.h"

namespace {

void run_scenario(const std::string& name, int ranks, double timeout_s = 60) {
  const auto result = dg_dist::run_ranks(name, ranks, timeout_s);
  INFO(name << " on " << ranks << " ranks:\n" << result.report());
  CHECK_FALSE(result.timed_out);
  CHECK(result.ok());
}

}  // namespace

TEST_CASE("ddp: SGD on 2 ranks equals one process on the whole batch", "[ddp]") {
  run_scenario("ddp_equivalence", 2);
  run_scenario("ddp_equivalence_small_buckets", 2);
}

TEST_CASE("ddp: 3 ranks, several buckets", "[ddp]") { run_scenario("ddp_equivalence_small_buckets", 3); }

TEST_CASE("ddp: no_sync gradient accumulation", "[ddp]") { run_scenario("ddp_no_sync", 2); }

TEST_CASE("ddp: find_unused_parameters", "[ddp]") {
  run_scenario("ddp_unused_parameters", 2);
  run_scenario("ddp_unused_parameters_error", 2);
}

TEST_CASE("ddp: ranks whose models differ are refused at construction", "[ddp]") {
  run_scenario("ddp_mismatched_models", 2);
}

TEST_CASE("ddp: BatchNorm buffers follow rank 0", "[ddp]") { run_scenario("ddp_batchnorm_buffers", 2); }

TEST_CASE("ddp: a rank that leaves makes the other's backward fail, not hang", "[ddp]") {
  run_scenario("ddp_peer_exits", 2, 30);
}
