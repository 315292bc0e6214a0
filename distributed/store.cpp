// The stores that need no network: the base class, HashStore (one process),
// PrefixStore (a namespace in another store) and FileStore (a shared file).
#include "dynagrad/distributed/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "distributed/polling.h"
#include "dynagrad/error.h"

namespace dg::distributed {

namespace {

std::string join_names(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "'" : ", '") + k + "'";
  return out;
}

std::vector<uint8_t> int_bytes(int64_t v) {
  std::string s = std::to_string(v);
  return {s.begin(), s.end()};
}

int64_t bytes_int(const char* who, const std::string& key, const std::vector<uint8_t>& v) {
  std::string s(v.begin(), v.end());
  char* end = nullptr;
  errno = 0;
  long long r = std::strtoll(s.c_str(), &end, 10);
  DG_CHECK(!s.empty() && end == s.c_str() + s.size() && errno == 0, who, "::add: expected the value of key '", key,
           "' to be an integer (as add() writes it), got ", v.size(), " bytes that are not");
  return r;
}
}  // namespace

Store::~Store() = default;

std::vector<uint8_t> Store::compareSet(const std::string& key, const std::vector<uint8_t>&,
                                       const std::vector<uint8_t>&) {
  throw Error("Store::compareSet: not implemented by this store (key '" + key + "')");
}

const std::chrono::milliseconds& Store::getTimeout() const noexcept { return timeout_; }
void Store::setTimeout(const std::chrono::milliseconds& timeout) { timeout_ = timeout; }

// ---- HashStore ---------------------------------------------------------------------------

struct HashStore::State {
  std::mutex mutex;
  std::condition_variable cv;
  std::unordered_map<std::string, std::vector<uint8_t>> map;
};

HashStore::HashStore() : state_(std::make_shared<State>()) {}
HashStore::~HashStore() = default;

void HashStore::set(const std::string& key, const std::vector<uint8_t>& data) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->map[key] = data;
  }
  state_->cv.notify_all();
}

std::vector<uint8_t> HashStore::compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                           const std::vector<uint8_t>& newValue) {
  std::vector<uint8_t> out;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto it = state_->map.find(key);
    if (it == state_->map.end()) {
      if (!currentValue.empty()) return currentValue;
      state_->map[key] = newValue;
      out = newValue;
    } else {
      if (it->second == currentValue) it->second = newValue;
      out = it->second;
    }
  }
  state_->cv.notify_all();
  return out;
}

std::vector<uint8_t> HashStore::get(const std::string& key) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  auto found = [&] { return state_->map.count(key) > 0; };
  if (timeout_ == kNoTimeout) state_->cv.wait(lock, found);
  else if (!state_->cv.wait_for(lock, timeout_, found))
    throw Error(detail::str("HashStore::get: key '", key, "' was not set within ", timeout_.count(), " ms"));
  return state_->map[key];
}

int64_t HashStore::add(const std::string& key, int64_t value) {
  int64_t r;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto it = state_->map.find(key);
    r = value + (it == state_->map.end() ? 0 : bytes_int("HashStore", key, it->second));
    state_->map[key] = int_bytes(r);
  }
  state_->cv.notify_all();
  return r;
}

bool HashStore::deleteKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->map.erase(key) > 0;
}

bool HashStore::check(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (const auto& k : keys)
    if (!state_->map.count(k)) return false;
  return true;
}

int64_t HashStore::getNumKeys() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return static_cast<int64_t>(state_->map.size());
}

void HashStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void HashStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  auto all = [&] {
    for (const auto& k : keys)
      if (!state_->map.count(k)) return false;
    return true;
  };
  if (timeout == kNoTimeout) state_->cv.wait(lock, all);
  else if (!state_->cv.wait_for(lock, timeout, all)) {
    std::vector<std::string> missing;
    for (const auto& k : keys)
      if (!state_->map.count(k)) missing.push_back(k);
    throw Error(detail::str("HashStore::wait: timed out after ", timeout.count(), " ms waiting for keys ",
                            join_names(missing)));
  }
}

// ---- PrefixStore ------------------------------------------------------------------------

PrefixStore::PrefixStore(const std::string& prefix, intrusive_ptr<Store> store)
    : prefix_(prefix), store_(std::move(store)) {
  DG_CHECK(store_, "PrefixStore: expected a store to wrap, got nullptr");
}
PrefixStore::~PrefixStore() = default;

std::string PrefixStore::joinKey(const std::string& key) const { return prefix_ + "/" + key; }
std::vector<std::string> PrefixStore::joinKeys(const std::vector<std::string>& keys) const {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(joinKey(k));
  return out;
}

void PrefixStore::set(const std::string& key, const std::vector<uint8_t>& value) { store_->set(joinKey(key), value); }
std::vector<uint8_t> PrefixStore::compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                             const std::vector<uint8_t>& newValue) {
  return store_->compareSet(joinKey(key), currentValue, newValue);
}
std::vector<uint8_t> PrefixStore::get(const std::string& key) { return store_->get(joinKey(key)); }
int64_t PrefixStore::add(const std::string& key, int64_t value) { return store_->add(joinKey(key), value); }
bool PrefixStore::deleteKey(const std::string& key) { return store_->deleteKey(joinKey(key)); }
bool PrefixStore::check(const std::vector<std::string>& keys) { return store_->check(joinKeys(keys)); }
// As LibTorch's: the wrapped store's count (keys of every prefix).
int64_t PrefixStore::getNumKeys() { return store_->getNumKeys(); }
void PrefixStore::wait(const std::vector<std::string>& keys) { store_->wait(joinKeys(keys)); }
void PrefixStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  store_->wait(joinKeys(keys), timeout);
}
const std::chrono::milliseconds& PrefixStore::getTimeout() const noexcept { return store_->getTimeout(); }
void PrefixStore::setTimeout(const std::chrono::milliseconds& timeout) { store_->setTimeout(timeout); }

// ---- FileStore --------------------------------------------------------------------------
// The file is a log of records "<op><keylen>\n<key><vallen>\n<value>", op 's'
// (set) or 'd' (delete); add and compareSet append the set they decide on.
// Every operation takes the file's lock, replays the records it has not seen
// yet into its in-memory map, then appends its own.

struct FileStore::State {
  int fd = -1;
  off_t pos = 0;
  std::unordered_map<std::string, std::vector<uint8_t>> map;
  std::mutex mutex;
};

namespace {
const char* const kFileStoreCleanupKey = "__dg_filestore_cleanup";

class FileLock {
 public:
  FileLock(int fd, const std::string& path) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0) {
      DG_CHECK(errno == EINTR, "FileStore: cannot lock '", path, "': ", std::strerror(errno));
    }
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }

 private:
  int fd_;
};

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    DG_CHECK(n > 0, "FileStore: cannot write '", path, "': ", std::strerror(errno));
    off += static_cast<size_t>(n);
  }
}
}  // namespace

FileStore::FileStore(const std::string& path, int numWorkers)
    : path_(path), numWorkers_(numWorkers), state_(std::make_unique<State>()) {
  state_->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  DG_CHECK(state_->fd >= 0, "FileStore: cannot open '", path, "' for reading and writing: ", std::strerror(errno));
}

FileStore::~FileStore() {
  try {
    int64_t done = add(kFileStoreCleanupKey, 1);
    if (numWorkers_ >= 0 && done >= numWorkers_) ::unlink(path_.c_str());
  } catch (...) {}
  if (state_->fd >= 0) ::close(state_->fd);
}

namespace {
// Replays the records appended since `pos` (under the file lock).
void file_store_refresh(int fd, off_t& pos, std::unordered_map<std::string, std::vector<uint8_t>>& map,
                        const std::string& path) {
  struct stat st {};
  DG_CHECK(::fstat(fd, &st) == 0, "FileStore: cannot stat '", path, "': ", std::strerror(errno));
  if (st.st_size <= pos) return;
  std::string buf(static_cast<size_t>(st.st_size - pos), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, pos + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    DG_CHECK(n > 0, "FileStore: cannot read '", path, "': ", std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  size_t i = 0;
  auto read_len = [&]() -> size_t {
    size_t nl = buf.find('\n', i);
    DG_CHECK(nl != std::string::npos, "FileStore: '", path, "' is not a store file (a record is cut short)");
    size_t len = std::stoul(buf.substr(i, nl - i));
    i = nl + 1;
    DG_CHECK(i + len <= buf.size(), "FileStore: '", path, "' is not a store file (a record is cut short)");
    return len;
  };
  while (i < buf.size()) {
    char op = buf[i++];
    DG_CHECK(op == 's' || op == 'd', "FileStore: '", path, "' is not a store file (unknown record '", op, "')");
    size_t klen = read_len();
    std::string key = buf.substr(i, klen);
    i += klen;
    size_t vlen = read_len();
    std::vector<uint8_t> value(buf.begin() + static_cast<std::ptrdiff_t>(i),
                               buf.begin() + static_cast<std::ptrdiff_t>(i + vlen));
    i += vlen;
    if (op == 's') map[key] = std::move(value);
    else map.erase(key);
  }
  pos = st.st_size;
}

std::string file_record(char op, const std::string& key, const std::vector<uint8_t>& value) {
  std::string r(1, op);
  r += std::to_string(key.size()) + "\n" + key + std::to_string(value.size()) + "\n";
  r.append(value.begin(), value.end());
  return r;
}
}  // namespace

void FileStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  write_all(state_->fd, file_record('s', key, value), path_);
}

std::vector<uint8_t> FileStore::compareSet(const std::string& key, const std::vector<uint8_t>& currentValue,
                                           const std::vector<uint8_t>& newValue) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  auto it = state_->map.find(key);
  if (it == state_->map.end() && !currentValue.empty()) return currentValue;
  if (it != state_->map.end() && it->second != currentValue) return it->second;
  write_all(state_->fd, file_record('s', key, newValue), path_);
  return newValue;
}

std::vector<uint8_t> FileStore::get(const std::string& key) {
  wait({key}, timeout_);
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  auto it = state_->map.find(key);
  DG_CHECK(it != state_->map.end(), "FileStore::get: key '", key, "' was deleted while waiting for it");
  return it->second;
}

int64_t FileStore::add(const std::string& key, int64_t value) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  auto it = state_->map.find(key);
  int64_t r = value + (it == state_->map.end() ? 0 : bytes_int("FileStore", key, it->second));
  write_all(state_->fd, file_record('s', key, int_bytes(r)), path_);
  return r;
}

bool FileStore::deleteKey(const std::string& key) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  if (!state_->map.count(key)) return false;
  write_all(state_->fd, file_record('d', key, {}), path_);
  return true;
}

bool FileStore::check(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  for (const auto& k : keys)
    if (!state_->map.count(k)) return false;
  return true;
}

int64_t FileStore::getNumKeys() {
  std::lock_guard<std::mutex> guard(state_->mutex);
  FileLock lock(state_->fd, path_);
  file_store_refresh(state_->fd, state_->pos, state_->map, path_);
  return static_cast<int64_t>(state_->map.size()) - (state_->map.count(kFileStoreCleanupKey) ? 1 : 0);
}

void FileStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void FileStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  if (!store_polling::poll_until([&] { return check(keys); }, timeout))
    throw Error(dg::detail::str("FileStore::wait: timed out after ", timeout.count(), " ms waiting for keys ",
                                store_polling::missing_keys(*this, keys), " in '", path_, "'"));
}

}  // namespace dg::distributed
