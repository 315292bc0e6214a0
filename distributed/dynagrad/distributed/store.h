#pragma once
// Key-value stores for rendezvous (LibTorch 1.13's c10d::Store and its
// FileStore, HashStore, PrefixStore and TCPStore, same names and
// signatures). Ranks find each other through a store: each writes its
// address under a key and waits for the others'. Values are bytes.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dynagrad/intrusive_ptr.h"

namespace dg::distributed {

class Store : public intrusive_target {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout = std::chrono::seconds(300);
  static constexpr std::chrono::milliseconds kNoTimeout = std::chrono::milliseconds::zero();

  Store() : timeout_(kDefaultTimeout) {}
  explicit Store(const std::chrono::milliseconds& timeout) : timeout_(timeout) {}
  ~Store() override;

  virtual void set(const std::string& key, const std::vector<uint8_t>& value) = 0;
  // Sets `key` to newValue if its value is currentValue (or if it is absent
  // and currentValue is empty); returns the value it holds afterwards.
  virtual std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                          const std::vector<uint8_t>& newValue);
  // Waits (up to the store's timeout) for `key`, then returns its value.
  virtual std::vector<uint8_t> get(const std::string& key) = 0;
  // Adds to the integer counter under `key` (created at 0); returns the sum.
  virtual int64_t add(const std::string& key, int64_t value) = 0;
  virtual bool deleteKey(const std::string& key) = 0;
  // Whether every key is set (no waiting).
  virtual bool check(const std::vector<std::string>& keys) = 0;
  virtual int64_t getNumKeys() = 0;
  // Waits until every key is set; dg::Error naming the missing keys after
  // the timeout (the store's, or the one given).
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;

  virtual const std::chrono::milliseconds& getTimeout() const noexcept;
  virtual void setTimeout(const std::chrono::milliseconds& timeout);

 protected:
  std::chrono::milliseconds timeout_;
};

// In memory, for the threads of one process.
class HashStore : public Store {
 public:
  HashStore();
  ~HashStore() override;
  void set(const std::string& key, const std::vector<uint8_t>& data) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                  const std::vector<uint8_t>& newValue) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A file on a path every process can reach (a shared file system across
// hosts). The file is an append-only log of operations under an advisory
// lock (flock); the last of numWorkers processes to drop its FileStore
// removes it, as LibTorch's. numWorkers < 0: never removed.
class FileStore : public Store {
 public:
  explicit FileStore(const std::string& path, int numWorkers);
  ~FileStore() override;
  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                  const std::vector<uint8_t>& newValue) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  const std::string& getPath() const noexcept { return path_; }

 private:
  struct State;
  std::string path_;
  int numWorkers_;
  std::unique_ptr<State> state_;
};

// Every key of `store` under "prefix/": one store shared by several groups.
class PrefixStore : public Store {
 public:
  explicit PrefixStore(const std::string& prefix, intrusive_ptr<Store> store);
  ~PrefixStore() override;
  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                  const std::vector<uint8_t>& newValue) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  const std::chrono::milliseconds& getTimeout() const noexcept override;
  void setTimeout(const std::chrono::milliseconds& timeout) override;
  intrusive_ptr<Store> getUnderlyingStore() const { return store_; }

 private:
  std::string joinKey(const std::string& key) const;
  std::vector<std::string> joinKeys(const std::vector<std::string>& keys) const;
  std::string prefix_;
  intrusive_ptr<Store> store_;
};

struct TCPStoreOptions {
  static constexpr std::uint16_t kDefaultPort = 29500;
  // The server's port; 0 on the server picks a free one (see getPort()).
  std::uint16_t port = kDefaultPort;
  // Whether this process hosts the store (rank 0 does, in init_process_group).
  bool isServer = false;
  // With waitWorkers, the server's constructor waits until this many clients
  // (itself included) have connected.
  std::optional<std::size_t> numWorkers = std::nullopt;
  bool waitWorkers = true;
  // Connecting, waiting for workers and get/wait all give up after it.
  std::chrono::milliseconds timeout = Store::kDefaultTimeout;
  bool multiTenant = false;  // accepted for LibTorch's signature; one server per port here
};

// A store served over TCP by one process (the server runs on a thread of
// the process that constructs it with isServer = true); every process,
// the server's included, is a client of it. Rendezvous only: tensors never
// travel through it.
class TCPStore : public Store {
 public:
  explicit TCPStore(std::string host, const TCPStoreOptions& opts = {});
  ~TCPStore() override;
  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& expectedValue,
                                  const std::vector<uint8_t>& desiredValue) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  // Waits until numWorkers clients have connected (the server's constructor
  // calls it when waitWorkers is set).
  void waitForWorkers();
  const std::string& getHost() const noexcept { return host_; }
  std::uint16_t getPort() const noexcept { return port_; }

 private:
  class Server;
  class Client;
  std::string host_;
  std::uint16_t port_;
  std::optional<std::size_t> numWorkers_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  std::mutex mutex_;
};

}  // namespace dg::distributed
