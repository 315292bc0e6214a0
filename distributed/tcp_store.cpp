// TCPStore: a key-value server on a thread of one process (rank 0 under
// init_process_group) and a client in every process. One request at a time
// per client; a request is a command byte and length-prefixed fields, the
// answer is length-prefixed fields. get() and wait() poll check() with a
// growing pause (1 to 10 ms) until the keys are there or the timeout ends:
// rendezvous traffic, not a data path.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "distributed/polling.h"
#include "dynagrad/distributed/store.h"
#include "dynagrad/error.h"

namespace dg::distributed {

namespace {
using Clock = std::chrono::steady_clock;
enum Cmd : uint8_t { kSet = 1, kGet = 2, kAdd = 3, kDelete = 4, kCheck = 5, kNumKeys = 6, kCompareSet = 7 };
const char* const kWorkersKey = "__dg_tcpstore_workers";

void put_field(std::string& out, const std::string& s) {
  uint32_t n = htonl(static_cast<uint32_t>(s.size()));
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += s;
}
std::string as_string(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }
std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Parses one field at `i` of `buf`; false when it is not all there yet.
bool take_field(const std::string& buf, size_t& i, std::string& out) {
  if (buf.size() < i + 4) return false;
  uint32_t n;
  std::memcpy(&n, buf.data() + i, 4);
  n = ntohl(n);
  if (buf.size() < i + 4 + n) return false;
  out = buf.substr(i + 4, n);
  i += 4 + n;
  return true;
}

bool send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}
}  // namespace

// ---- the server ---------------------------------------------------------------------------

class TCPStore::Server {
 public:
  Server(const std::string& host, uint16_t port) {
    listen_fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool v6 = listen_fd_ >= 0;
    if (!v6) listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    DG_CHECK(listen_fd_ >= 0, "TCPStore: cannot create the server's socket: ", std::strerror(errno));
    int one = 1, zero = 0;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc;
    if (v6) {
      ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));  // IPv4 clients too
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_any;
      a.sin6_port = htons(port);
      rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_ANY);
      a.sin_port = htons(port);
      rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    if (rc != 0 || ::listen(listen_fd_, 1024) != 0) {
      int err = errno;
      ::close(listen_fd_);
      throw Error(detail::str("TCPStore: the server (", host, ") cannot listen on port ", port, ": ",
                              std::strerror(err),
                              err == EADDRINUSE ? " (another process holds it: choose another MASTER_PORT)" : ""));
    }
    sockaddr_storage got{};
    socklen_t len = sizeof(got);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&got), &len);
    port_ = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
    DG_CHECK(::pipe2(wake_, O_CLOEXEC) == 0, "TCPStore: pipe2 failed: ", std::strerror(errno));
    thread_ = std::thread([this] { run(); });
  }

  ~Server() {
    stop_ = true;
    char c = 0;
    (void)!::write(wake_[1], &c, 1);
    thread_.join();
    for (auto& [fd, buf] : clients_) ::close(fd);
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  uint16_t port() const { return port_; }

 private:
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& [fd, buf] : clients_) fds.push_back({fd, POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      if (fds[0].revents & POLLIN) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          int one = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          clients_[c];
        }
      }
      for (size_t k = 2; k < fds.size(); ++k) {
        if (!fds[k].revents) continue;
        int fd = fds[k].fd;
        char tmp[65536];
        ssize_t got = ::recv(fd, tmp, sizeof(tmp), 0);
        if (got <= 0) {
          if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
          ::close(fd);
          clients_.erase(fd);
          continue;
        }
        std::string& buf = clients_[fd];
        buf.append(tmp, static_cast<size_t>(got));
        if (!serve(fd, buf)) {
          ::close(fd);
          clients_.erase(fd);
        }
      }
    }
  }

  // Answers every complete request in `buf`; false when the client is gone.
  bool serve(int fd, std::string& buf) {
    for (;;) {
      if (buf.empty()) return true;
      size_t i = 1;
      const uint8_t cmd = static_cast<uint8_t>(buf[0]);
      std::string reply;
      std::string key, a, b;
      switch (cmd) {
        case kSet:
          if (!take_field(buf, i, key) || !take_field(buf, i, a)) return true;
          map_[key] = a;
          put_field(reply, "");
          break;
        case kGet: {
          if (!take_field(buf, i, key)) return true;
          auto it = map_.find(key);
          put_field(reply, it == map_.end() ? "0" : "1");
          put_field(reply, it == map_.end() ? "" : it->second);
          break;
        }
        case kAdd: {
          if (!take_field(buf, i, key) || !take_field(buf, i, a)) return true;
          auto it = map_.find(key);
          long long cur = 0;
          bool ok = true;
          if (it != map_.end()) {
            char* end = nullptr;
            cur = std::strtoll(it->second.c_str(), &end, 10);
            ok = !it->second.empty() && end == it->second.c_str() + it->second.size();
          }
          if (ok) {
            cur += std::strtoll(a.c_str(), nullptr, 10);
            map_[key] = std::to_string(cur);
          }
          put_field(reply, ok ? "1" : "0");
          put_field(reply, ok ? std::to_string(cur) : "");
          break;
        }
        case kDelete:
          if (!take_field(buf, i, key)) return true;
          put_field(reply, map_.erase(key) ? "1" : "0");
          break;
        case kCheck: {
          if (!take_field(buf, i, a)) return true;
          size_t count = std::stoul(a);
          bool all = true;
          for (size_t k = 0; k < count; ++k) {
            if (!take_field(buf, i, key)) return true;
            all = all && map_.count(key);
          }
          put_field(reply, all ? "1" : "0");
          break;
        }
        case kNumKeys: {
          int64_t n = 0;
          for (const auto& [k, v] : map_) n += k.rfind("__dg_", 0) == 0 ? 0 : 1;
          put_field(reply, std::to_string(n));
          break;
        }
        case kCompareSet: {
          if (!take_field(buf, i, key) || !take_field(buf, i, a) || !take_field(buf, i, b)) return true;
          auto it = map_.find(key);
          if (it == map_.end()) {
            if (a.empty()) map_[key] = b;
            put_field(reply, a.empty() ? b : a);
          } else {
            if (it->second == a) it->second = b;
            put_field(reply, it->second);
          }
          break;
        }
        default: return false;
      }
      buf.erase(0, i);
      if (!send_all(fd, reply)) return false;
    }
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::map<int, std::string> clients_;
  std::map<std::string, std::string> map_;
  std::thread thread_;
};

// ---- the client ---------------------------------------------------------------------------

class TCPStore::Client {
 public:
  Client(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) : host_(host), port_(port) {
    const auto start = Clock::now();
    std::string last = "no address";
    for (;;) {
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
      if (gai != 0) {
        last = detail::str("cannot resolve host '", host, "': ", ::gai_strerror(gai));
      } else {
        for (addrinfo* p = res; p; p = p->ai_next) {
          int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
          if (fd < 0) continue;
          if (::connect(fd, p->ai_addr, p->ai_addrlen) == 0) {
            fd_ = fd;
            break;
          }
          last = std::strerror(errno);
          ::close(fd);
        }
        ::freeaddrinfo(res);
      }
      if (fd_ >= 0) break;
      if (Clock::now() - start > timeout)
        throw Error(detail::str("TCPStore: cannot connect to the store at ", host, ":", port, " within ",
                                timeout.count(), " ms (", last,
                                "); is the rank-0 process running, and are MASTER_ADDR and MASTER_PORT right?"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Sends a request and reads `nfields` answer fields.
  std::vector<std::string> call(uint8_t cmd, const std::vector<std::string>& fields, size_t nfields,
                                std::chrono::milliseconds timeout) {
    std::string req(1, static_cast<char>(cmd));
    for (const auto& f : fields) put_field(req, f);
    DG_CHECK(send_all(fd_, req), "TCPStore: lost the connection to the store at ", host_, ":", port_, " (",
             std::strerror(errno), ")");
    std::vector<std::string> out;
    size_t i = 0;
    const auto start = Clock::now();
    while (out.size() < nfields) {
      std::string f;
      size_t j = i;
      if (take_field(buf_, j, f)) {
        out.push_back(std::move(f));
        i = j;
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      auto left =
          timeout == kNoTimeout
              ? -1
              : static_cast<int>(std::max<int64_t>(
                    0,
                    (timeout - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)).count()));
      int r = ::poll(&p, 1, left);
      if (r < 0 && errno == EINTR) continue;
      DG_CHECK(r > 0, "TCPStore: the store at ", host_, ":", port_, " did not answer within ", timeout.count(), " ms");
      char tmp[65536];
      ssize_t got = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (got < 0 && errno == EINTR) continue;
      DG_CHECK(got > 0, "TCPStore: the store at ", host_, ":", port_,
               " closed the connection (has the rank-0 process that hosts it exited?)");
      buf_.append(tmp, static_cast<size_t>(got));
    }
    buf_.erase(0, i);
    return out;
  }

 private:
  std::string host_;
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

// ---- TCPStore ------------------------------------------------------------------------------

TCPStore::TCPStore(std::string host, const TCPStoreOptions& opts)
    : Store(opts.timeout), host_(std::move(host)), port_(opts.port), numWorkers_(opts.numWorkers) {
  if (opts.isServer) {
    server_ = std::make_unique<Server>(host_, opts.port);
    port_ = server_->port();
  } else {
    DG_CHECK(opts.port != 0, "TCPStore: expected the server's port for a client, got 0");
  }
  client_ = std::make_unique<Client>(opts.isServer ? std::string("127.0.0.1") : host_, port_, opts.timeout);
  add(kWorkersKey, 1);
  if (opts.isServer && opts.waitWorkers && numWorkers_) waitForWorkers();
}

TCPStore::~TCPStore() {
  client_.reset();
  server_.reset();
}

void TCPStore::waitForWorkers() {
  if (!numWorkers_) return;
  int64_t n = 0;
  auto all_there = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    n = std::stoll(client_->call(kAdd, {kWorkersKey, "0"}, 2, timeout_)[1]);
    return n >= static_cast<int64_t>(*numWorkers_);
  };
  if (!store_polling::poll_until(all_there, timeout_))
    throw Error(dg::detail::str("TCPStore::waitForWorkers: ", n, " of ", *numWorkers_, " workers connected within ",
                                timeout_.count(), " ms (is WORLD_SIZE right?)"));
}

void TCPStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  client_->call(kSet, {key, as_string(value)}, 1, timeout_);
}

std::vector<uint8_t> TCPStore::compareSet(const std::string& key, const std::vector<uint8_t>& expectedValue,
                                          const std::vector<uint8_t>& desiredValue) {
  std::lock_guard<std::mutex> lock(mutex_);
  return as_bytes(client_->call(kCompareSet, {key, as_string(expectedValue), as_string(desiredValue)}, 1, timeout_)[0]);
}

std::vector<uint8_t> TCPStore::get(const std::string& key) {
  wait({key}, timeout_);
  std::lock_guard<std::mutex> lock(mutex_);
  auto r = client_->call(kGet, {key}, 2, timeout_);
  DG_CHECK(r[0] == "1", "TCPStore::get: key '", key, "' was deleted while waiting for it");
  return as_bytes(r[1]);
}

int64_t TCPStore::add(const std::string& key, int64_t value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto r = client_->call(kAdd, {key, std::to_string(value)}, 2, timeout_);
  DG_CHECK(r[0] == "1", "TCPStore::add: expected the value of key '", key,
           "' to be an integer (as add() writes it), got one that is not");
  return std::stoll(r[1]);
}

bool TCPStore::deleteKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_->call(kDelete, {key}, 1, timeout_)[0] == "1";
}

bool TCPStore::check(const std::vector<std::string>& keys) {
  std::vector<std::string> fields{std::to_string(keys.size())};
  fields.insert(fields.end(), keys.begin(), keys.end());
  std::lock_guard<std::mutex> lock(mutex_);
  return client_->call(kCheck, fields, 1, timeout_)[0] == "1";
}

int64_t TCPStore::getNumKeys() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::stoll(client_->call(kNumKeys, {}, 1, timeout_)[0]);
}

void TCPStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void TCPStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  if (!store_polling::poll_until([&] { return check(keys); }, timeout))
    throw Error(dg::detail::str("TCPStore::wait: timed out after ", timeout.count(), " ms waiting for keys ",
                                store_polling::missing_keys(*this, keys), " at ", host_, ":", port_));
}

}  // namespace dg::distributed
