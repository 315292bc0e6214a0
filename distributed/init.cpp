// The default group: made from a store or from torchrun's environment
// variables (env://), held until destroy_process_group().
#include "dynagrad/distributed/init.h"

#include <cstdlib>
#include <mutex>

#include "dynagrad/distributed/process_group_gloo.h"
#include "dynagrad/distributed/process_group_nccl.h"
#include "dynagrad/error.h"

namespace dg::distributed {

namespace {
std::mutex g_mutex;
std::shared_ptr<ProcessGroup> g_default;

// The variable `name` as an integer; dg::Error naming it when missing or malformed.
int64_t env_int(const char* name, bool required, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    DG_CHECK(!required, "init_process_group: expected the environment variable ", name,
             " (env:// initialization reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as torchrun sets them), "
             "but it is not set");
    return fallback;
  }
  char* end = nullptr;
  long long r = std::strtoll(v, &end, 10);
  DG_CHECK(end && *end == '\0', "init_process_group: expected the environment variable ", name,
           " to be an integer, got '", v, "'");
  return r;
}

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

std::shared_ptr<ProcessGroup> make_group(const std::string& backend, int rank, int world_size,
                                         const intrusive_ptr<Store>& store, std::chrono::milliseconds timeout,
                                         const std::string& listen_host) {
  if (backend == "gloo") {
    auto opts = ProcessGroupGloo::Options::create(timeout);
    opts->hostname = listen_host;
    return std::make_shared<ProcessGroupGloo>(store, rank, world_size, opts);
  }
  if (backend == "nccl") {
    auto opts = ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    return std::make_shared<ProcessGroupNCCL>(store, rank, world_size, opts);
  }
  throw Error(detail::str("init_process_group: expected backend 'gloo' or 'nccl', got '", backend, "'"));
}

std::shared_ptr<ProcessGroup> install(const std::string& backend, int rank, int world_size,
                                      const intrusive_ptr<Store>& store, std::chrono::milliseconds timeout,
                                      const std::string& listen_host) {
  DG_CHECK(world_size >= 1, "init_process_group: expected a world size >= 1, got ", world_size);
  DG_CHECK(rank >= 0 && rank < world_size, "init_process_group: expected a rank in [0, ", world_size, "), got ", rank);
  DG_CHECK(store, "init_process_group: expected a store, got nullptr");
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    DG_CHECK(!g_default, "init_process_group: the default process group is already initialized (call ",
             "destroy_process_group() first)");
  }
  // The default group's keys under their own prefix, as torch.distributed.
  auto prefixed = make_intrusive<PrefixStore>("default_pg", store);
  auto pg = make_group(backend, rank, world_size, prefixed, timeout, listen_host);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_default = pg;
  return pg;
}
}  // namespace

std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend, int rank, int world_size,
                                                 const intrusive_ptr<Store>& store, std::chrono::milliseconds timeout) {
  return install(backend, rank, world_size, store, timeout, "");
}

std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend, std::chrono::milliseconds timeout) {
  DG_CHECK(!is_initialized(), "init_process_group: the default process group is already initialized (call ",
           "destroy_process_group() first)");
  const int rank = static_cast<int>(env_int("RANK", true, 0));
  const int world_size = static_cast<int>(env_int("WORLD_SIZE", true, 1));
  const char* addr = std::getenv("MASTER_ADDR");
  DG_CHECK(addr && *addr, "init_process_group: expected the environment variable MASTER_ADDR (the rank-0 host) ",
           "for env:// initialization, but it is not set");
  const int64_t port = env_int("MASTER_PORT", true, 0);
  DG_CHECK(port > 0 && port < 65536, "init_process_group: expected MASTER_PORT in [1, 65535], got ", port);
  DG_CHECK(world_size >= 1, "init_process_group: expected WORLD_SIZE >= 1, got ", world_size);
  DG_CHECK(rank >= 0 && rank < world_size, "init_process_group: expected RANK in [0, WORLD_SIZE=", world_size,
           "), got ", rank);
  TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.isServer = rank == 0;
  opts.numWorkers = static_cast<size_t>(world_size);
  opts.waitWorkers = false;  // the group's rendezvous waits for the peers, with its own timeout
  opts.timeout = timeout;
  auto store = make_intrusive<TCPStore>(addr, opts);
  // All ranks on one host (MASTER_ADDR loopback): the peers listen on the
  // loopback too, whatever this host's name resolves to.
  return install(backend, rank, world_size, store, timeout, is_loopback(addr) ? "127.0.0.1" : "");
}

bool is_initialized() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_default != nullptr;
}

std::shared_ptr<ProcessGroup> default_group() {
  std::lock_guard<std::mutex> lock(g_mutex);
  DG_CHECK(g_default, "default_group: the default process group is not initialized (call init_process_group first)");
  return g_default;
}

void destroy_process_group() {
  std::shared_ptr<ProcessGroup> pg;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    pg = std::move(g_default);
    g_default = nullptr;
  }
}

int get_rank() { return default_group()->getRank(); }
int get_world_size() { return default_group()->getSize(); }
std::string get_backend() { return default_group()->getBackendName(); }

int local_rank() {
  const char* v = std::getenv("LOCAL_RANK");
  if (!v || !*v) return 0;
  char* end = nullptr;
  long r = std::strtol(v, &end, 10);
  DG_CHECK(end && *end == '\0' && r >= 0, "local_rank: expected LOCAL_RANK to be an integer >= 0, got '", v, "'");
  return static_cast<int>(r);
}

}  // namespace dg::distributed
