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

TEST_CASE("distributed: differentiable all_reduce and all_gather match one process's autograd", "[distributed]") {
  require_ranks("functional", 2);
  require_ranks("functional", 3);
}

TEST_CASE("distributed: rendezvous through a FileStore, and a TCPStore across processes", "[distributed]") {
  const std::string path = std::filesystem::temp_directory_path() / ("dg_file_store_" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  auto r = run_ranks("file_store_init", 3, 30, {{"DG_TEST_FILE", path}});
  INFO(r.report());
  REQUIRE(r.ok());
  CHECK_FALSE(std::filesystem::exists(path));  // the last of the 3 workers removed it
  require_ranks("tcp_store", 3);
}

TEST_CASE("distributed: a rank that exits mid-run fails the others with the peer named, not a hang", "[distributed]") {
  for (int n : {2, 3}) {
    auto r = run_ranks("rank_exits", n, 30);
    INFO(r.report());
    REQUIRE(r.ok());
    for (int k = 0; k < n - 1; ++k)
      CHECK(r.ranks[k].output.find("expected error: ProcessGroupGloo::allreduce") != std::string::npos);
    CHECK(r.seconds < 20);
  }
}

TEST_CASE("distributed: a collective a peer never joins ends at the group's timeout", "[distributed]") {
  auto r = run_ranks("collective_timeout", 2, 30, {{"DG_TEST_TIMEOUT_MS", "2000"}});
  INFO(r.report());
  REQUIRE(r.ok());
  CHECK(r.ranks[0].output.find("Timed out") != std::string::npos);
}

TEST_CASE("distributed: start-up errors: wrong WORLD_SIZE, unreachable store, port in use", "[distributed]") {
  // Two processes of a group of three: both give up at the timeout.
  auto wrong = run_ranks("wrong_world_size", 2, 30, {{"WORLD_SIZE", "3"}, {"DG_TEST_TIMEOUT_MS", "2000"}});
  INFO(wrong.report());
  REQUIRE(wrong.ok());
  CHECK(wrong.ranks[0].output.find("rank(s) 2 never arrived") != std::string::npos);
  CHECK(wrong.ranks[1].output.find("rank(s) 2 never arrived") != std::string::npos);
  // Rank 1 alone: nobody hosts the store.
  auto unreachable = run_ranks("unreachable_store", 1, 30, {{"RANK", "1"}, {"WORLD_SIZE", "2"}});
  INFO(unreachable.report());
  REQUIRE(unreachable.ok());
  auto in_use = run_ranks("port_in_use", 1, 30);
  INFO(in_use.report());
  REQUIRE(in_use.ok());
  auto bad = run_ranks("bad_arguments", 2, 30);
  INFO(bad.report());
  REQUIRE(bad.ok());
}

TEST_CASE("distributed: run_ranks kills ranks past the timeout and reports failures", "[distributed]") {
  // A scenario that does not exist: every rank exits with 2.
  auto missing = run_ranks("no_such_scenario", 2, 10);
  CHECK_FALSE(missing.ok());
  CHECK(missing.ranks[0].exit_code == 2);
  // Fewer ranks than WORLD_SIZE with a long timeout: killed at 1.5 s.
  auto hung = run_ranks("wrong_world_size", 1, 1.5, {{"WORLD_SIZE", "2"}, {"DG_TEST_TIMEOUT_MS", "60000"}});
  CHECK(hung.timed_out);
  CHECK(hung.ranks[0].signal == SIGKILL);
  CHECK(hung.seconds < 5);
}

// ---- stores in one process -------------------------------------------------------------

namespace {
// The Store contract every store shares.
void check_store_basics(c10d::Store& s) {
  s.setTimeout(std::chrono::milliseconds(300));
  CHECK(s.getTimeout() == std::chrono::milliseconds(300));
  CHECK_FALSE(s.check({"a"}));
  s.set("a", bytes("alpha"));
  CHECK(str(s.get("a")) == "alpha");
  s.set("a", bytes("beta"));
  CHECK(str(s.get("a")) == "beta");
  CHECK(s.check({"a"}));
  CHECK(s.add("n", 5) == 5);
  CHECK(s.add("n", -2) == 3);
  CHECK(str(s.get("n")) == "3");  // counters are stored as decimal text, as LibTorch's
  CHECK_THROWS_WITH(s.add("a", 1), Catch::Contains("add") && Catch::Contains("a'") && Catch::Contains("integer"));
  CHECK(s.compareSet("c", {}, bytes("new")) == bytes("new"));          // absent, expected empty: set
  CHECK(s.compareSet("c", bytes("old"), bytes("x")) == bytes("new"));  // mismatch: unchanged
  CHECK(s.compareSet("c", bytes("new"), bytes("x")) == bytes("x"));
  CHECK(s.getNumKeys() == 3);
  CHECK(s.deleteKey("c"));
  CHECK_FALSE(s.deleteKey("c"));
  CHECK(s.getNumKeys() == 2);
  s.wait({"a", "n"});
  CHECK_THROWS_WITH(s.wait({"a", "missing"}, std::chrono::milliseconds(50)),
                    Catch::Contains("wait") && Catch::Contains("missing'") && !Catch::Contains("a'"));
  CHECK_THROWS_WITH(s.get("missing"), Catch::Contains("missing"));
  // A key set later by another thread ends a wait.
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    s.set("late", bytes("ok"));
  });
  s.wait({"late"}, std::chrono::milliseconds(5000));
  setter.join();
  CHECK(str(s.get("late")) == "ok");
}
}  // namespace

TEST_CASE("distributed: HashStore", "[distributed]") {
  c10d::HashStore s;
  check_store_basics(s);
}

TEST_CASE("distributed: FileStore: two stores on one file see each other's keys; the last one removes it",
          "[distributed]") {
  const std::string path = std::filesystem::temp_directory_path() / ("dg_fs_unit_" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  {
    c10d::FileStore a(path, 2);
    check_store_basics(a);
    c10d::FileStore b(path, 2);
    CHECK(str(b.get("a")) == "beta");
    CHECK(b.add("n", 10) == 13);
    CHECK(a.add("n", 0) == 13);
    CHECK(b.getNumKeys() == 3);
    CHECK(a.getPath() == path);
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_WITH(c10d::FileStore("/nonexistent-dir/x", 1),
                    Catch::Contains("FileStore") && Catch::Contains("/nonexistent-dir/x"));
}

TEST_CASE("distributed: PrefixStore", "[distributed]") {
  auto base = dg::make_intrusive<c10d::HashStore>();
  c10d::PrefixStore p("grp", base);
  check_store_basics(p);
  CHECK(base->check({"grp/a", "grp/n"}));
  CHECK_FALSE(base->check({"a"}));
  CHECK(p.getUnderlyingStore() == dg::intrusive_ptr<c10d::Store>(base));
  CHECK_THROWS_WITH(c10d::PrefixStore("x", nullptr), Catch::Contains("PrefixStore"));
}

TEST_CASE("distributed: TCPStore server and clients in one process", "[distributed]") {
  c10d::TCPStoreOptions so;
  so.port = 0;  // a free port, read back with getPort()
  so.isServer = true;
  so.numWorkers = 2;
  so.waitWorkers = false;
  so.timeout = std::chrono::seconds(10);
  c10d::TCPStore server("127.0.0.1", so);
  REQUIRE(server.getPort() != 0);
  c10d::TCPStoreOptions co;
  co.port = server.getPort();
  co.timeout = std::chrono::seconds(10);
  c10d::TCPStore client("127.0.0.1", co);
  server.waitForWorkers();
  check_store_basics(client);
  client.set("from_client", bytes("hi"));
  CHECK(str(server.get("from_client")) == "hi");
  CHECK(server.getNumKeys() == client.getNumKeys());
  // Nobody listening: a clear error once the timeout passes.
  c10d::TCPStoreOptions none;
  none.port = static_cast<uint16_t>(dg_dist::free_port());
  none.timeout = std::chrono::milliseconds(200);
  CHECK_THROWS_WITH(c10d::TCPStore("127.0.0.1", none),
                    Catch::Contains("cannot connect") && Catch::Contains(std::to_string(none.port)));
  // The port of a running server is taken.
  c10d::TCPStoreOptions again = so;
  again.port = server.getPort();
  CHECK_THROWS_WITH(c10d::TCPStore("127.0.0.1", again),
                    Catch::Contains("cannot listen on port " + std::to_string(server.getPort())));
}

TEST_CASE("distributed: Work, ReduceOp and the default group without one", "[distributed]") {
  CHECK(c10d::opTypeToString(c10d::OpType::ALLREDUCE) == "ALLREDUCE");
  c10d::ReduceOp op = c10d::ReduceOp::MAX;
  CHECK(op == c10d::ReduceOp::MAX);
  CHECK(c10d::reduce_op_name(op) == "MAX");
  CHECK_FALSE(c10d::is_initialized());
  CHECK_THROWS_WITH(c10d::default_group(), Catch::Contains("not initialized"));
  // dg::c10d is dg::distributed (LibTorch code ports by the namespace change).
  dg::c10d::AllreduceOptions o;
  CHECK(o.reduceOp == dg::c10d::ReduceOp::SUM);
  CHECK(o.timeout == c10d::kUnsetTimeout);
  // One rank alone is a valid group.
  auto pg = std::make_shared<c10d::ProcessGroupGloo>(dg::make_intrusive<c10d::HashStore>(), 0, 1,
                                                     c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(5)));
  std::vector<dg::Tensor> t{dg::arange(4.0)};
  auto w = pg->allreduce(t);
  CHECK(w->wait());
  CHECK(dg::equal(t[0], dg::arange(4.0)));
  CHECK(pg->getBackendName() == "gloo");
  CHECK_THROWS_WITH(w->abort(), Catch::Contains("abort"));
}

TEST_CASE("distributed: ProcessGroupNCCL says where it cannot run", "[distributed][cuda]") {
  if (!c10d::ProcessGroupNCCL::is_built()) {
    CHECK_THROWS_WITH(c10d::ProcessGroupNCCL(dg::make_intrusive<c10d::HashStore>(), 0, 1), Catch::Contains("no NCCL"));
    return;
  }
  if (!dg::cuda::is_available()) {
    WARN("skipped: ProcessGroupNCCL needs a CUDA device (" << dg::cuda::unavailable_reason() << ")");
    CHECK_THROWS_WITH(c10d::ProcessGroupNCCL(dg::make_intrusive<c10d::HashStore>(), 0, 1),
                      Catch::Contains("CUDA device"));
    return;
  }
  require_ranks("nccl_collectives", std::min(2, dg::cuda::device_count()), 60);
}
