// Faults: a rank that exits mid-run, peers that never arrive, a store that
// is not there, a port already taken. Each scenario expects its dg::Error
// (and checks what it says) and fails if the error does not come.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "dist/helpers.h"

namespace c10d = dg::distributed;
using dg_dist::dist_check;

namespace {
std::chrono::milliseconds short_timeout() {
  const char* v = std::getenv("DG_TEST_TIMEOUT_MS");
  return std::chrono::milliseconds(v ? std::atol(v) : 4000);
}

// Runs f, which must throw dg::Error whose message contains every part.
template <typename F>
std::string expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const dg::Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts) dist_check(msg.find(p) != std::string::npos, "error without '", p, "': ", msg);
    std::printf("expected error: %s\n", msg.c_str());
    return msg;
  }
  throw dg::Error("expected a dg::Error, got none");
}
}  // namespace

// The last rank leaves after one all-reduce; the next all-reduce must fail
// on every other rank with the collective and the peer named, well before
// the group's timeout.
DG_DIST_SCENARIO("rank_exits") {
  auto pg = c10d::init_process_group("gloo", std::chrono::seconds(20));
  std::vector<dg::Tensor> t{dg::ones({1000})};
  pg->allreduce(t)->wait();
  const int leaver = world_size - 1;
  if (rank == leaver) std::_Exit(0);
  const auto start = std::chrono::steady_clock::now();
  std::vector<dg::Tensor> u{dg::ones({1 << 20})};
  auto msg = expect_error([&] { pg->allreduce(u)->wait(); }, {"ProcessGroupGloo::allreduce", "peer rank"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  dist_check(s < 10, "the error took ", s, " s");
  // The neighbours of the leaver name it.
  if (world_size == 2 || rank == 0 || rank == leaver - 1)
    dist_check(msg.find("peer rank " + std::to_string(leaver)) != std::string::npos, "peer not named: ", msg);
  std::fflush(stdout);
  // Hold the broken group a moment before closing it: a survivor that closes
  // its connections at once would be the first failure its other
  // neighbours see (they would name it, rightly, instead of the leaver).
  std::this_thread::sleep_for(std::chrono::seconds(1));
  c10d::destroy_process_group();  // a broken group still shuts down cleanly
}

// A collective that a peer never joins ends at the group's timeout.
DG_DIST_SCENARIO("collective_timeout") {
  auto pg = c10d::init_process_group("gloo", short_timeout());
  if (rank == 1) {
    pg->barrier()->wait();  // then never joins the all-reduce; waits for rank 0 to finish
    std::this_thread::sleep_for(short_timeout() * 2);
    std::_Exit(0);
  }
  pg->barrier()->wait();
  std::vector<dg::Tensor> t{dg::ones({10})};
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { pg->allreduce(t)->wait(); }, {"ProcessGroupGloo::allreduce", "rank 0 of 2"});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  dist_check(s < short_timeout().count() / 1000.0 + 3, "the timeout took ", s, " s");
  std::fflush(stdout);
  std::_Exit(0);
}

// Started with fewer processes than WORLD_SIZE: init fails within the timeout.
DG_DIST_SCENARIO("wrong_world_size") {
  expect_error([&] { c10d::init_process_group("gloo", short_timeout()); },
               {"ProcessGroupGloo: rank " + std::to_string(rank) + " of " + std::to_string(world_size),
                "WORLD_SIZE=" + std::to_string(world_size)});
}

// No store at MASTER_ADDR:MASTER_PORT (a rank other than 0 alone).
DG_DIST_SCENARIO("unreachable_store") {
  expect_error(
      [&] { c10d::init_process_group("gloo", std::chrono::milliseconds(1500)); },
      {"TCPStore: cannot connect to the store at 127.0.0.1:" + std::string(std::getenv("MASTER_PORT")), "MASTER_ADDR"});
}

// Rank 0 cannot host the store: MASTER_PORT is taken.
DG_DIST_SCENARIO("port_in_use") {
  const int port = std::atoi(std::getenv("MASTER_PORT"));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  dist_check(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(fd, 1) == 0,
             "could not take the port");
  expect_error([&] { c10d::init_process_group("gloo", short_timeout()); },
               {"cannot listen on port " + std::to_string(port), "MASTER_PORT"});
  ::close(fd);
}

// Bad arguments are refused at the call, on the caller's thread.
DG_DIST_SCENARIO("bad_arguments") {
  auto pg = c10d::init_process_group("gloo", short_timeout());
  std::vector<dg::Tensor> two{dg::ones({2}), dg::ones({2})};
  expect_error([&] { pg->allreduce(two); }, {"ProcessGroupGloo::allreduce", "exactly one tensor", "got 2"});
  std::vector<dg::Tensor> f{dg::ones({2})};
  expect_error([&] { pg->allreduce(f, c10d::AllreduceOptions{c10d::ReduceOp::BAND}); },
               {"ProcessGroupGloo::allreduce", "BAND", "float32"});
  std::vector<dg::Tensor> i{dg::ones({2}, dg::TensorOptions().dtype(dg::kInt64))};
  expect_error([&] { pg->allreduce(i, c10d::AllreduceOptions{c10d::ReduceOp::AVG}); },
               {"ProcessGroupGloo::allreduce", "AVG", "int64"});
  c10d::BroadcastOptions bo;
  bo.rootRank = world_size;
  expect_error([&] { pg->broadcast(f, bo); }, {"ProcessGroupGloo::broadcast", "root rank"});
  expect_error([&] { pg->send(f, rank, 0); }, {"ProcessGroupGloo::send", "destination rank"});
  std::vector<std::vector<dg::Tensor>> out(1, std::vector<dg::Tensor>{dg::ones({2})});
  expect_error([&] { pg->allgather(out, f); }, {"ProcessGroupGloo::allgather", "output tensors"});
  expect_error([&] { c10d::init_process_group("gloo", short_timeout()); }, {"already initialized"});
  c10d::destroy_process_group();
  expect_error([&] { c10d::get_rank(); }, {"not initialized"});
  expect_error([&] { c10d::init_process_group("mpi", 0, 1, dg::make_intrusive<c10d::HashStore>()); },
               {"init_process_group", "'gloo' or 'nccl'", "'mpi'"});
}
