// Rendezvous through a FileStore on a shared path (DG_TEST_FILE) instead
// of env://, then the stores across processes: every rank adds to a
// counter and reads every other rank's key.
#include <cstdlib>

#include "dist/helpers.h"

namespace c10d = dg::distributed;
using dg_dist::dist_check;

DG_DIST_SCENARIO("file_store_init") {
  const char* path = std::getenv("DG_TEST_FILE");
  dist_check(path != nullptr, "DG_TEST_FILE not set");
  auto store = dg::make_intrusive<c10d::FileStore>(path, world_size);
  store->setTimeout(std::chrono::seconds(20));
  auto pg = c10d::init_process_group("gloo", rank, world_size, store, std::chrono::seconds(20));
  std::vector<dg::Tensor> t{dg::full({3}, rank + 1.0)};
  pg->allreduce(t)->wait();
  dist_check(dg::allclose(t[0], dg::full({3}, world_size * (world_size + 1) / 2.0)), "allreduce over a FileStore");
  store->set("key" + std::to_string(rank), {uint8_t(rank)});
  const int64_t n = store->add("counter", 1);
  dist_check(n >= 1 && n <= world_size, "add returned ", n);
  for (int r = 0; r < world_size; ++r) dist_check(store->get("key" + std::to_string(r))[0] == r, "get key", r);
  pg->barrier()->wait();
  dist_check(store->add("counter", 0) == world_size, "counter");
  c10d::destroy_process_group();
}

DG_DIST_SCENARIO("tcp_store") {
  const uint16_t port = static_cast<uint16_t>(std::atoi(std::getenv("MASTER_PORT")));
  c10d::TCPStoreOptions o;
  o.port = port;
  o.isServer = rank == 0;
  o.numWorkers = world_size;
  o.timeout = std::chrono::seconds(20);
  c10d::TCPStore store("127.0.0.1", o);  // the server waits for every worker
  store.set("key" + std::to_string(rank), {uint8_t(rank), 7});
  store.add("counter", rank + 1);
  for (int r = 0; r < world_size; ++r) {
    auto v = store.get("key" + std::to_string(r));
    dist_check(v.size() == 2 && v[0] == r && v[1] == 7, "get key", r);
  }
  // Everyone has added once every key is set and counted.
  store.add("done", 1);
  std::vector<std::string> keys;
  while (store.add("done", 0) < world_size) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  dist_check(store.add("counter", 0) == world_size * (world_size + 1) / 2, "counter");
  const int64_t nkeys = store.getNumKeys();  // key<r>, counter, done (and leaving, once someone left)
  dist_check(nkeys == world_size + 2 || nkeys == world_size + 3, "getNumKeys ", nkeys);
  // The server must outlive the clients' last requests.
  store.add("leaving", 1);
  if (rank == 0)
    while (store.add("leaving", 0) < world_size) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}
