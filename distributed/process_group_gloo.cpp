// ProcessGroupGloo: rendezvous over our Store (adapted to Gloo's store
// interface), one Gloo context over the TCP transport, and a worker thread
// that runs the queued operations in order with Gloo's collectives.
#include "dynagrad/distributed/process_group_gloo.h"

#include <netdb.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/gather.h>
#include <gloo/reduce.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/scatter.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/unbound_buffer.h>

#include "distributed/arg_checks.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg::distributed {

namespace {

// "host boot-id pid": two ranks with the same host and boot id share the
// process table (/proc).
std::string this_process() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  std::string boot;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    char buf[64] = {0};
    if (std::fgets(buf, sizeof buf, f)) boot = buf;
    std::fclose(f);
    while (!boot.empty() && (boot.back() == '\n' || boot.back() == ' ')) boot.pop_back();
  }
  return detail::str(host, " ", boot, " ", ::getpid());
}

// Whether the process `id` (this_process() of a peer) is on this host and
// has ended (gone, or a zombie its parent has not reaped).
bool process_ended(const std::string& id, const std::string& self) {
  const size_t cut = id.rfind(' ');
  if (cut == std::string::npos || self.compare(0, self.rfind(' '), id, 0, cut) != 0) return false;
  const std::string stat = "/proc/" + id.substr(cut + 1) + "/stat";
  FILE* f = std::fopen(stat.c_str(), "r");
  if (!f) return true;
  char buf[512] = {0};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string line(buf, n);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

using ReduceFn = std::function<void(void*, const void*, const void*, size_t)>;

// Gloo's option objects own the operation's unbound buffers, whose
// destructors spin (sched_yield) until Gloo's I/O thread lets go of them;
// destroyed at once, on a loaded 2-core machine, that spin cost milliseconds
// per collective. The worker keeps them here and drops them one operation
// later, after marking that one completed: by then the I/O thread is done
// with them and the destructors do not wait.
thread_local std::vector<std::shared_ptr<void>> t_keep_alive, t_keep_previous;
template <typename T>
T& keep_alive(std::shared_ptr<T> p) {
  t_keep_alive.push_back(p);
  return *p;
}

// Our Store seen as Gloo's: bytes are bytes; waits use the group's timeout.
class GlooStoreAdapter : public ::gloo::rendezvous::Store {
 public:
  GlooStoreAdapter(intrusive_ptr<distributed::Store> store, std::chrono::milliseconds timeout)
      : store_(std::move(store)), timeout_(timeout) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    store_->set(key, std::vector<uint8_t>(data.begin(), data.end()));
  }
  std::vector<char> get(const std::string& key) override {
    store_->wait({key}, timeout_);
    auto v = store_->get(key);
    return {v.begin(), v.end()};
  }
  void wait(const std::vector<std::string>& keys) override { store_->wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    store_->wait(keys, timeout);
  }

 private:
  intrusive_ptr<distributed::Store> store_;
  std::chrono::milliseconds timeout_;
};

// Calls f(T{}) with the C++ type of `t`.
template <typename F>
void with_dtype(ScalarType t, F&& f) {
  switch (t) {
    case ScalarType::Float32: return f(float{});
    case ScalarType::Float64: return f(double{});
    case ScalarType::Float16: return f(Half{});
    case ScalarType::BFloat16: return f(BFloat16{});
    case ScalarType::Int64: return f(int64_t{});
    case ScalarType::Int32: return f(int32_t{});
    case ScalarType::Int16: return f(int16_t{});
    case ScalarType::Int8: return f(int8_t{});
    case ScalarType::UInt8: return f(uint8_t{});
    case ScalarType::Bool: return f(bool{});
  }
  throw Error(detail::str("ProcessGroupGloo: unknown dtype ", t));
}

template <typename T, typename Op>
ReduceFn elementwise(Op op) {
  return [op](void* c, const void* a, const void* b, size_t n) {
    T* out = static_cast<T*>(c);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    for (size_t i = 0; i < n; ++i) out[i] = op(x[i], y[i]);
  };
}

// The pairwise reduction Gloo applies to combine two ranks' buffers. Half
// types compute each element in float32 and round once.
template <typename T>
ReduceFn reduce_fn_of(ReduceOp op, const char* what) {
  constexpr bool is_half = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;
  constexpr bool is_bool = std::is_same_v<T, bool>;
  using Acc = std::conditional_t<is_half, float, T>;
  auto cast = [](auto v) { return static_cast<Acc>(v); };
  switch (op.op_) {
    case ReduceOp::SUM:
    case ReduceOp::AVG:
      if constexpr (is_bool) return elementwise<T>([](T a, T b) { return a || b; });
      else return elementwise<T>([cast](T a, T b) { return static_cast<T>(cast(a) + cast(b)); });
    case ReduceOp::PRODUCT:
      if constexpr (is_bool) return elementwise<T>([](T a, T b) { return a && b; });
      else return elementwise<T>([cast](T a, T b) { return static_cast<T>(cast(a) * cast(b)); });
    case ReduceOp::MIN:
      // NaN wins, as torch.minimum.
      return elementwise<T>([cast](T a, T b) {
        Acc x = cast(a), y = cast(b);
        if (x != x) return a;
        if (y != y) return b;
        return y < x ? b : a;
      });
    case ReduceOp::MAX:
      return elementwise<T>([cast](T a, T b) {
        Acc x = cast(a), y = cast(b);
        if (x != x) return a;
        if (y != y) return b;
        return y > x ? b : a;
      });
    case ReduceOp::BAND:
    case ReduceOp::BOR:
    case ReduceOp::BXOR:
      if constexpr (std::is_integral_v<T>) {
        if (op.op_ == ReduceOp::BAND) return elementwise<T>([](T a, T b) { return static_cast<T>(a & b); });
        if (op.op_ == ReduceOp::BOR) return elementwise<T>([](T a, T b) { return static_cast<T>(a | b); });
        return elementwise<T>([](T a, T b) { return static_cast<T>(a ^ b); });
      }
      break;
    default: break;
  }
  throw Error(detail::str("ProcessGroupGloo::", what, ": reduce op ", reduce_op_name(op), " is not supported for ",
                          scalar_type_name(CppTypeToScalarType<T>::value), " tensors",
                          op.op_ == ReduceOp::BAND || op.op_ == ReduceOp::BOR || op.op_ == ReduceOp::BXOR
                              ? " (BAND, BOR and BXOR need integer or bool tensors)"
                              : ""));
}

// The default address to listen on: GLOO_SOCKET_IFNAME's interface, else
// this host's name when it resolves, else the loopback address.
std::shared_ptr<::gloo::transport::Device> make_device(const ProcessGroupGloo::Options& o) {
  ::gloo::transport::tcp::attr attr;
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (!o.interface.empty()) attr.iface = o.interface;
  else if (!o.hostname.empty()) attr.hostname = o.hostname;
  else if (ifname && *ifname) attr.iface = ifname;
  else {
    char name[256] = {0};
    addrinfo* res = nullptr;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    if (::gethostname(name, sizeof(name) - 1) == 0 && ::getaddrinfo(name, nullptr, &hints, &res) == 0) {
      ::freeaddrinfo(res);
      attr.hostname = name;
    } else {
      attr.hostname = "127.0.0.1";
    }
  }
  try {
    return ::gloo::transport::tcp::CreateDevice(attr);
  } catch (const std::exception& e) {
    throw Error(detail::str("ProcessGroupGloo: cannot create the TCP device on ",
                            attr.iface.empty() ? "host '" + attr.hostname + "'" : "interface '" + attr.iface + "'",
                            ": ", e.what()));
  }
}

class GlooWork : public Work {
 public:
  GlooWork(int rank, OpType type, std::function<std::vector<Tensor>()> run) : Work(rank, type), run_(std::move(run)) {}
  std::function<std::vector<Tensor>()> run_;
  void complete(std::vector<Tensor> outputs, std::exception_ptr error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outputs_ = std::move(outputs);
    }
    run_ = nullptr;
    finish(error);
  }
};

// A send or receive: posted at once on the caller's thread (Gloo's unbound
// buffers are asynchronous); wait() waits for its completion.
class P2PWork : public Work {
 public:
  P2PWork(int rank, OpType type, Tensor tensor, Tensor staging, std::unique_ptr<::gloo::transport::UnboundBuffer> buf,
          int peer, std::chrono::milliseconds timeout, std::string where)
      : Work(rank, type),
        tensor_(std::move(tensor)),
        staging_(std::move(staging)),
        buf_(std::move(buf)),
        peer_(peer),
        timeout_(timeout),
        where_(std::move(where)) {}

  bool wait(std::chrono::milliseconds timeout) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (completed_) {
        if (exception_) std::rethrow_exception(exception_);
        return true;
      }
    }
    const auto t = timeout == kNoTimeout ? timeout_ : timeout;
    std::exception_ptr error;
    try {
      int src = -1;
      if (retrieveOpType() == OpType::SEND) buf_->waitSend(&src, t);
      else buf_->waitRecv(&src, t);
      if (retrieveOpType() != OpType::SEND) {
        source_ = src;
        if (staging_.defined()) {
          NoGradGuard no_grad;
          tensor_.copy_(staging_);
        }
      }
    } catch (const std::exception& e) {
      error = std::make_exception_ptr(
          Error(detail::str(where_, peer_ >= 0 ? " with peer rank " : "",
                            peer_ >= 0 ? std::to_string(peer_) : std::string(), " failed: ", e.what())));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outputs_ = {tensor_};
    }
    finish(error);
    if (error) std::rethrow_exception(error);
    return true;
  }
  int sourceRank() const override { return source_; }

 private:
  Tensor tensor_, staging_;
  std::unique_ptr<::gloo::transport::UnboundBuffer> buf_;
  int peer_;
  int source_ = -1;
  std::chrono::milliseconds timeout_;
  std::string where_;
};

}  // namespace

class ProcessGroupGloo::Impl {
 public:
  Impl(int rank, int size) : rank(rank), size(size) {}
  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    cv.notify_all();
    if (worker.joinable()) worker.join();
  }

  void start() {
    worker = std::thread([this] { loop(); });
  }

  void loop() {
    for (;;) {
      intrusive_ptr<GlooWork> work;
      {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        work = std::move(queue.front());
        queue.pop_front();
      }
      std::vector<Tensor> outputs;
      std::exception_ptr error;
      try {
        NoGradGuard no_grad;
        outputs = work->run_();
      } catch (const ::gloo::Exception& e) {
        // Transport errors and timeouts: name the peer when known.
        error = std::make_exception_ptr(Error(describe(work->retrieveOpType(), e.what(), true)));
      } catch (const std::exception& e) {
        error = std::make_exception_ptr(Error(describe(work->retrieveOpType(), e.what(), false)));
      }
      work->complete(std::move(outputs), error);
      t_keep_previous.clear();
      t_keep_previous.swap(t_keep_alive);
    }
  }

  // "ProcessGroupGloo::allreduce (rank 0 of 2) failed: ..., peer rank 1".
  std::string describe(OpType type, const std::string& what, bool transport) const {
    std::string name = opTypeToString(type);
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    std::string peer;
    if (transport) {
      // A peer on this host that has ended is the one; the kernel closes a
      // dying process's sockets just before it becomes a zombie, so look
      // again for a moment before trusting the address.
      std::vector<int> ended;
      for (int attempt = 0; attempt < 20 && ended.empty(); ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        for (const auto& [id, r] : peer_processes)
          if (process_ended(id, self_process)) ended.push_back(r);
      }
      if (!ended.empty()) {
        peer = ended.size() == 1 ? " (peer rank " : " (peer ranks ";
        for (size_t i = 0; i < ended.size(); ++i) peer += (i ? ", " : "") + std::to_string(ended[i]);
        peer += ended.size() == 1 ? ", which has exited)" : ", which have exited)";
      }
      for (const auto& [addr, r] : peer_addresses)
        if (peer.empty() && what.find(addr) != std::string::npos) peer = detail::str(" (peer rank ", r, ")");
      if (peer.empty() && size == 2) peer = detail::str(" (peer rank ", 1 - rank, ")");
    }
    return detail::str("ProcessGroupGloo::", name, " (rank ", rank, " of ", size, ") failed", peer, ": ", what);
  }

  intrusive_ptr<Work> enqueue(OpType type, std::function<std::vector<Tensor>()> run) {
    auto work = make_intrusive<GlooWork>(rank, type, std::move(run));
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back(work);
    }
    cv.notify_one();
    return work;
  }

  uint32_t next_tag() { return tag++; }
  std::chrono::milliseconds timeout_of(std::chrono::milliseconds t) const {
    return t == kUnsetTimeout ? group_timeout : t;
  }

  const int rank, size;
  std::chrono::milliseconds group_timeout{kProcessGroupDefaultTimeout};
  std::shared_ptr<::gloo::transport::Device> device;
  std::shared_ptr<::gloo::rendezvous::Context> context;
  // Each peer's listening addresses as Gloo prints them in its errors.
  std::vector<std::pair<std::string, int>> peer_addresses;
  // this_process() of this rank, and each peer's with its rank.
  std::string self_process;
  std::vector<std::pair<std::string, int>> peer_processes;
  uint32_t tag = 0;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<intrusive_ptr<GlooWork>> queue;
  bool stop = false;
  std::thread worker;
};

ProcessGroupGloo::Options::Options(std::chrono::milliseconds timeout) : ProcessGroup::Options("gloo", timeout) {}

namespace {

// Publishes `mine` (one item a line) under prefix+rank and appends every
// other rank's items to `into` as (item, rank).
void exchange_lines(Store& store, const std::string& prefix, int rank, int size, const std::string& mine,
                    std::chrono::milliseconds timeout, std::vector<std::pair<std::string, int>>& into) {
  store.set(prefix + std::to_string(rank), std::vector<uint8_t>(mine.begin(), mine.end()));
  for (int j = 0; j < size; ++j) {
    if (j == rank) continue;
    store.wait({prefix + std::to_string(j)}, timeout);
    auto v = store.get(prefix + std::to_string(j));
    std::string s(v.begin(), v.end());
    size_t start = 0;
    for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
      into.emplace_back(s.substr(start, nl - start), j);
  }
}

}  // namespace

ProcessGroupGloo::ProcessGroupGloo(const intrusive_ptr<Store>& store, int rank, int size,
                                   std::shared_ptr<Options> options)
    : ProcessGroup(rank, size), store_(store), options_(std::move(options)) {
  DG_CHECK(store_, "ProcessGroupGloo: expected a store, got nullptr");
  if (!options_) options_ = Options::create();
  DG_CHECK(options_->timeout.count() > 0, "ProcessGroupGloo: expected a positive timeout, got ",
           options_->timeout.count(), " ms");
  impl_ = std::make_unique<Impl>(rank, size);
  impl_->group_timeout = options_->timeout;
  impl_->device = make_device(*options_);
  impl_->context = std::make_shared<::gloo::rendezvous::Context>(rank, size);
  impl_->context->setTimeout(options_->timeout);
  GlooStoreAdapter adapter(store_, options_->timeout);
  try {
    impl_->context->connectFullMesh(adapter, impl_->device);
  } catch (const std::exception& e) {
    // Gloo's rendezvous keys are the ranks' numbers: say which never came.
    std::string missing;
    try {
      for (int j = 0; j < size; ++j)
        if (!store_->check({std::to_string(j)})) missing += (missing.empty() ? "" : ", ") + std::to_string(j);
    } catch (const std::exception&) {}
    throw Error(detail::str("ProcessGroupGloo: rank ", rank, " of ", size, " could not connect to its peers within ",
                            options_->timeout.count(), " ms",
                            missing.empty() ? std::string() : " (rank(s) " + missing + " never arrived)", ": ",
                            e.what(), " (did all ", size, " processes of WORLD_SIZE=", size, " start?)"));
  }
  // Name the rank behind a transport error. Each rank publishes the
  // addresses its pairs listen on (Gloo's errors print a peer's address) and
  // its host and process id: on one host a dead peer is found for certain;
  // across hosts the address is the clue.
  std::string mine;
  for (int j = 0; j < size; ++j)
    if (j != rank) mine += impl_->context->getPair(j)->address().str() + "\n";
  exchange_lines(*store_, "dg_gloo_addresses/", rank, size, mine, options_->timeout, impl_->peer_addresses);
  impl_->self_process = this_process();
  exchange_lines(*store_, "dg_gloo_process/", rank, size, impl_->self_process + "\n", options_->timeout,
                 impl_->peer_processes);
  impl_->start();
}

ProcessGroupGloo::~ProcessGroupGloo() = default;

namespace {

void check_one(const char* what, const std::vector<Tensor>& tensors) {
  DG_CHECK(tensors.size() == 1, "ProcessGroupGloo::", what, ": expected exactly one tensor, got ", tensors.size());
}

void check_cpu(const char* what, const Tensor& t, const char* which = "tensor") {
  DG_CHECK(t.defined(), "ProcessGroupGloo::", what, ": expected a defined ", which, ", got an undefined tensor");
  DG_CHECK(t.is_cpu(), "ProcessGroupGloo::", what, ": expected a CPU ", which, ", got one on ", t.device(),
           " (use the nccl backend for CUDA tensors)");
}

void check_same(const char* what, const Tensor& ref, const Tensor& t, const char* which) {
  check_cpu(what, t, which);
  DG_CHECK(t.scalar_type() == ref.scalar_type(), "ProcessGroupGloo::", what, ": expected every ", which,
           " to have dtype ", ref.scalar_type(), ", got ", t.scalar_type());
  DG_CHECK(t.numel() == ref.numel(), "ProcessGroupGloo::", what, ": expected every ", which, " to have ", ref.numel(),
           " elements (the input's), got ", t.numel());
}

void check_root(const char* what, int64_t root, int size) {
  arg_checks::check_root("ProcessGroupGloo", what, root, size);
}

// One list of `size` tensors like `ref` (its dtype and element count).
const std::vector<Tensor>& check_list(const char* what, const std::vector<std::vector<Tensor>>& lists, int size,
                                      const Tensor& ref, const char* which) {
  DG_CHECK(lists.size() == 1 && static_cast<int>(lists[0].size()) == size, "ProcessGroupGloo::", what,
           ": expected one list of ", size, " ", which, " tensors (the group's size), got ",
           lists.size() == 1 ? lists[0].size() : lists.size(), lists.size() == 1 ? " tensors" : " lists");
  for (const auto& t : lists[0]) check_same(what, ref, t, which);
  return lists[0];
}

// Off the root of gather and scatter: no list, or one empty list.
void check_no_list(const char* what, const std::vector<std::vector<Tensor>>& lists, int rank, int root,
                   const char* which) {
  DG_CHECK(lists.empty() || (lists.size() == 1 && lists[0].empty()), "ProcessGroupGloo::", what, ": expected no ",
           which, " tensors off the root (rank ", rank, ", root ", root, ")");
}

// Copies the size consecutive pieces of `flat` into `outs`.
void unflatten_into(const Tensor& flat, const std::vector<Tensor>& outs) {
  int64_t off = 0;
  for (const auto& o : outs) {
    o.copy_(flat.narrow(0, off, o.numel()).view(o.sizes()));
    off += o.numel();
  }
}

// The contiguous buffer Gloo works on: the tensor itself when contiguous,
// else a contiguous copy to write back afterwards.
Tensor buffer_of(const Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }
void write_back(const Tensor& t, const Tensor& buf) {
  if (!buf.is_same(t)) t.copy_(buf);
}

void check_op(const char* what, ReduceOp op, ScalarType dtype) {
  DG_CHECK(op.op_ != ReduceOp::PREMUL_SUM && op.op_ != ReduceOp::UNUSED, "ProcessGroupGloo::", what, ": reduce op ",
           reduce_op_name(op), " is not supported by the gloo backend");
  DG_CHECK(op.op_ != ReduceOp::AVG || is_floating_point(dtype), "ProcessGroupGloo::", what,
           ": ReduceOp::AVG needs a floating-point tensor, got ", dtype);
  with_dtype(dtype, [&](auto tag) { (void)reduce_fn_of<decltype(tag)>(op, what); });
}

// AVG's division; half types divide in float32 (the CPU has no half kernels
// for it) and round once.
void divide_by(const Tensor& buf, int size) {
  if (buf.scalar_type() == ScalarType::Float16 || buf.scalar_type() == ScalarType::BFloat16)
    buf.copy_(buf.to(kFloat32).div(size));
  else buf.div_(size);
}

// In-place all-reduce of a contiguous buffer.
void gloo_allreduce(const std::shared_ptr<::gloo::Context>& ctx, const Tensor& buf, ReduceOp op, uint32_t tag,
                    std::chrono::milliseconds timeout, int size) {
  with_dtype(buf.scalar_type(), [&](auto t) {
    using T = decltype(t);
    auto& o = keep_alive(std::make_shared<::gloo::AllreduceOptions>(ctx));
    o.setOutput<T>(static_cast<T*>(buf.data_ptr()), static_cast<size_t>(buf.numel()));
    o.setReduceFunction(reduce_fn_of<T>(op, "allreduce"));
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::allreduce(o);
  });
  if (op.op_ == ReduceOp::AVG) divide_by(buf, size);
}

}  // namespace

intrusive_ptr<Work> ProcessGroupGloo::allreduce(std::vector<Tensor>& tensors, const AllreduceOptions& opts) {
  check_one("allreduce", tensors);
  check_cpu("allreduce", tensors[0]);
  check_op("allreduce", opts.reduceOp, tensors[0].scalar_type());
  Tensor t = tensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const ReduceOp op = opts.reduceOp;
  const int size = getSize();
  return impl_->enqueue(OpType::ALLREDUCE, [=]() -> std::vector<Tensor> {
    Tensor buf = buffer_of(t);
    gloo_allreduce(ctx, buf, op, tag, timeout, size);
    write_back(t, buf);
    return {t};
  });
}

intrusive_ptr<Work> ProcessGroupGloo::allreduce_coalesced(std::vector<Tensor>& tensors,
                                                          const AllreduceCoalescedOptions& opts) {
  DG_CHECK(!tensors.empty(), "ProcessGroupGloo::allreduce_coalesced: expected at least one tensor, got none");
  for (const auto& t : tensors) {
    check_cpu("allreduce_coalesced", t);
    DG_CHECK(t.scalar_type() == tensors[0].scalar_type(),
             "ProcessGroupGloo::allreduce_coalesced: expected every tensor to have dtype ", tensors[0].scalar_type(),
             ", got ", t.scalar_type());
  }
  check_op("allreduce_coalesced", opts.reduceOp, tensors[0].scalar_type());
  std::vector<Tensor> ts = tensors;
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const ReduceOp op = opts.reduceOp;
  const int size = getSize();
  return impl_->enqueue(OpType::ALLREDUCE_COALESCED, [=]() -> std::vector<Tensor> {
    std::vector<Tensor> flat;
    for (const auto& t : ts) flat.push_back(t.reshape({-1}));
    Tensor buf = dg::cat(flat);
    gloo_allreduce(ctx, buf, op, tag, timeout, size);
    unflatten_into(buf, ts);
    return ts;
  });
}

intrusive_ptr<Work> ProcessGroupGloo::broadcast(std::vector<Tensor>& tensors, const BroadcastOptions& opts) {
  check_one("broadcast", tensors);
  check_cpu("broadcast", tensors[0]);
  check_root("broadcast", opts.rootRank, getSize());
  DG_CHECK(opts.rootTensor == 0, "ProcessGroupGloo::broadcast: expected rootTensor 0 (one tensor per rank), got ",
           opts.rootTensor);
  Tensor t = tensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const int root = static_cast<int>(opts.rootRank);
  return impl_->enqueue(OpType::BROADCAST, [=]() -> std::vector<Tensor> {
    Tensor buf = buffer_of(t);
    auto& o = keep_alive(std::make_shared<::gloo::BroadcastOptions>(ctx));
    o.setRoot(root);
    o.setOutput<uint8_t>(static_cast<uint8_t*>(buf.data_ptr()), buf.nbytes());
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::broadcast(o);
    write_back(t, buf);
    return {t};
  });
}

intrusive_ptr<Work> ProcessGroupGloo::reduce(std::vector<Tensor>& tensors, const ReduceOptions& opts) {
  check_one("reduce", tensors);
  check_cpu("reduce", tensors[0]);
  check_op("reduce", opts.reduceOp, tensors[0].scalar_type());
  check_root("reduce", opts.rootRank, getSize());
  Tensor t = tensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const ReduceOp op = opts.reduceOp;
  const int root = static_cast<int>(opts.rootRank), size = getSize(), rank = getRank();
  return impl_->enqueue(OpType::REDUCE, [=]() -> std::vector<Tensor> {
    Tensor buf = buffer_of(t);
    with_dtype(buf.scalar_type(), [&](auto tt) {
      using T = decltype(tt);
      auto& o = keep_alive(std::make_shared<::gloo::ReduceOptions>(ctx));
      o.setRoot(root);
      o.setOutput<T>(static_cast<T*>(buf.data_ptr()), static_cast<size_t>(buf.numel()));
      o.setReduceFunction(reduce_fn_of<T>(op, "reduce"));
      o.setTag(tag);
      o.setTimeout(timeout);
      ::gloo::reduce(o);
    });
    if (op.op_ == ReduceOp::AVG && rank == root) divide_by(buf, size);
    write_back(t, buf);
    return {t};
  });
}

intrusive_ptr<Work> ProcessGroupGloo::allgather(std::vector<std::vector<Tensor>>& outputTensors,
                                                std::vector<Tensor>& inputTensors, const AllgatherOptions& opts) {
  check_one("allgather", inputTensors);
  check_cpu("allgather", inputTensors[0], "input");
  DG_CHECK(outputTensors.size() == 1, "ProcessGroupGloo::allgather: expected one list of outputs, got ",
           outputTensors.size());
  DG_CHECK(static_cast<int>(outputTensors[0].size()) == getSize(), "ProcessGroupGloo::allgather: expected ", getSize(),
           " output tensors (the group's size), got ", outputTensors[0].size());
  for (const auto& o : outputTensors[0]) check_same("allgather", inputTensors[0], o, "output");
  Tensor in = inputTensors[0];
  std::vector<Tensor> outs = outputTensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const int size = getSize();
  return impl_->enqueue(OpType::ALLGATHER, [=]() -> std::vector<Tensor> {
    Tensor src = buffer_of(in);
    Tensor flat = dg::empty({size * in.numel()}, dg::TensorOptions().dtype(in.scalar_type()));
    auto& o = keep_alive(std::make_shared<::gloo::AllgatherOptions>(ctx));
    o.setInput<uint8_t>(static_cast<uint8_t*>(src.data_ptr()), src.nbytes());
    o.setOutput<uint8_t>(static_cast<uint8_t*>(flat.data_ptr()), flat.nbytes());
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::allgather(o);
    unflatten_into(flat, outs);
    return outs;
  });
}

intrusive_ptr<Work> ProcessGroupGloo::_allgather_base(Tensor& outputBuffer, Tensor& inputBuffer,
                                                      const AllgatherOptions& opts) {
  check_cpu("_allgather_base", inputBuffer, "input");
  check_cpu("_allgather_base", outputBuffer, "output");
  DG_CHECK(outputBuffer.scalar_type() == inputBuffer.scalar_type(), "ProcessGroupGloo::_allgather_base: expected ",
           "the output's dtype to be the input's (", inputBuffer.scalar_type(), "), got ", outputBuffer.scalar_type());
  DG_CHECK(outputBuffer.numel() == getSize() * inputBuffer.numel(), "ProcessGroupGloo::_allgather_base: expected ",
           "an output of ", getSize() * inputBuffer.numel(), " elements (size x the input's), got ",
           outputBuffer.numel());
  Tensor in = inputBuffer, out = outputBuffer;
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  return impl_->enqueue(OpType::_ALLGATHER_BASE, [=]() -> std::vector<Tensor> {
    Tensor src = buffer_of(in), dst = buffer_of(out);
    auto& o = keep_alive(std::make_shared<::gloo::AllgatherOptions>(ctx));
    o.setInput<uint8_t>(static_cast<uint8_t*>(src.data_ptr()), src.nbytes());
    o.setOutput<uint8_t>(static_cast<uint8_t*>(dst.data_ptr()), dst.nbytes());
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::allgather(o);
    write_back(out, dst);
    return {out};
  });
}

intrusive_ptr<Work> ProcessGroupGloo::gather(std::vector<std::vector<Tensor>>& outputTensors,
                                             std::vector<Tensor>& inputTensors, const GatherOptions& opts) {
  check_one("gather", inputTensors);
  check_cpu("gather", inputTensors[0], "input");
  check_root("gather", opts.rootRank, getSize());
  const int root = static_cast<int>(opts.rootRank), size = getSize();
  std::vector<Tensor> outs;
  if (getRank() == root) outs = check_list("gather", outputTensors, size, inputTensors[0], "output");
  else check_no_list("gather", outputTensors, getRank(), root, "output");
  Tensor in = inputTensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const bool is_root = getRank() == root;
  return impl_->enqueue(OpType::GATHER, [=]() -> std::vector<Tensor> {
    Tensor src = buffer_of(in);
    auto& o = keep_alive(std::make_shared<::gloo::GatherOptions>(ctx));
    o.setRoot(root);
    o.setInput<uint8_t>(static_cast<uint8_t*>(src.data_ptr()), src.nbytes());
    Tensor flat;
    if (is_root) {
      flat = dg::empty({size * in.numel()}, dg::TensorOptions().dtype(in.scalar_type()));
      o.setOutput<uint8_t>(static_cast<uint8_t*>(flat.data_ptr()), flat.nbytes());
    }
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::gather(o);
    if (is_root) unflatten_into(flat, outs);
    return outs;
  });
}

intrusive_ptr<Work> ProcessGroupGloo::scatter(std::vector<Tensor>& outputTensors,
                                              std::vector<std::vector<Tensor>>& inputTensors,
                                              const ScatterOptions& opts) {
  check_one("scatter", outputTensors);
  check_cpu("scatter", outputTensors[0], "output");
  check_root("scatter", opts.rootRank, getSize());
  const int root = static_cast<int>(opts.rootRank);
  std::vector<Tensor> ins;
  if (getRank() == root) ins = check_list("scatter", inputTensors, getSize(), outputTensors[0], "input");
  else check_no_list("scatter", inputTensors, getRank(), root, "input");
  Tensor out = outputTensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  return impl_->enqueue(OpType::SCATTER, [=]() -> std::vector<Tensor> {
    Tensor dst = buffer_of(out);
    auto& o = keep_alive(std::make_shared<::gloo::ScatterOptions>(ctx));
    o.setRoot(root);
    std::vector<Tensor> srcs;
    std::vector<uint8_t*> ptrs;
    for (const auto& i : ins) {
      srcs.push_back(buffer_of(i));
      ptrs.push_back(static_cast<uint8_t*>(srcs.back().data_ptr()));
    }
    if (!ptrs.empty()) o.setInputs<uint8_t>(ptrs, dst.nbytes());
    o.setOutput<uint8_t>(static_cast<uint8_t*>(dst.data_ptr()), dst.nbytes());
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::scatter(o);
    write_back(out, dst);
    return {out};
  });
}

// Gloo's new-style API has no reduce-scatter: all-reduce the concatenated
// inputs and keep this rank's slice (correct; it moves size times the bytes
// a ring reduce-scatter would).
intrusive_ptr<Work> ProcessGroupGloo::reduce_scatter(std::vector<Tensor>& outputTensors,
                                                     std::vector<std::vector<Tensor>>& inputTensors,
                                                     const ReduceScatterOptions& opts) {
  check_one("reduce_scatter", outputTensors);
  check_cpu("reduce_scatter", outputTensors[0], "output");
  std::vector<Tensor> ins = check_list("reduce_scatter", inputTensors, getSize(), outputTensors[0], "input");
  check_op("reduce_scatter", opts.reduceOp, outputTensors[0].scalar_type());
  Tensor out = outputTensors[0];
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  const ReduceOp op = opts.reduceOp;
  const int size = getSize(), rank = getRank();
  return impl_->enqueue(OpType::REDUCE_SCATTER, [=]() -> std::vector<Tensor> {
    std::vector<Tensor> flat;
    for (const auto& i : ins) flat.push_back(i.reshape({-1}));
    Tensor buf = dg::cat(flat);
    gloo_allreduce(ctx, buf, op, tag, timeout, size);
    out.copy_(buf.narrow(0, rank * out.numel(), out.numel()).view(out.sizes()));
    return {out};
  });
}

intrusive_ptr<Work> ProcessGroupGloo::barrier(const BarrierOptions& opts) {
  auto ctx = impl_->context;
  const uint32_t tag = impl_->next_tag();
  const auto timeout = impl_->timeout_of(opts.timeout);
  return impl_->enqueue(OpType::BARRIER, [=]() -> std::vector<Tensor> {
    auto& o = keep_alive(std::make_shared<::gloo::BarrierOptions>(ctx));
    o.setTag(tag);
    o.setTimeout(timeout);
    ::gloo::barrier(o);
    return {};
  });
}

namespace {
// Point-to-point slots live apart from the collectives' (which Gloo builds
// from their tags with a prefix of its own): the user's tag, offset.
uint64_t p2p_slot(int tag) { return (uint64_t{1} << 56) | static_cast<uint32_t>(tag); }
}  // namespace

intrusive_ptr<Work> ProcessGroupGloo::send(std::vector<Tensor>& tensors, int dstRank, int tag) {
  check_one("send", tensors);
  check_cpu("send", tensors[0]);
  DG_CHECK(dstRank >= 0 && dstRank < getSize() && dstRank != getRank(), "ProcessGroupGloo::send: expected a ",
           "destination rank in [0, ", getSize(), ") other than this rank (", getRank(), "), got ", dstRank);
  DG_CHECK(tag >= 0, "ProcessGroupGloo::send: expected a tag >= 0, got ", tag);
  Tensor t = tensors[0];
  Tensor buf = t.is_contiguous() ? t : t.contiguous();
  auto ub = impl_->context->createUnboundBuffer(buf.data_ptr(), buf.nbytes());
  ub->send(dstRank, p2p_slot(tag));
  return make_intrusive<P2PWork>(getRank(), OpType::SEND, t, buf, std::move(ub), dstRank, options_->timeout,
                                 detail::str("ProcessGroupGloo::send (rank ", getRank(), " of ", getSize(), ")"));
}

// Receives into the tensor, through a contiguous staging copy when it is
// not contiguous (copied in when the receive completes).
intrusive_ptr<Work> ProcessGroupGloo::post_recv(const char* what, OpType type, std::vector<Tensor>& tensors,
                                                const std::vector<int>& sources, int peer, int tag) {
  check_one(what, tensors);
  check_cpu(what, tensors[0]);
  DG_CHECK(tag >= 0, "ProcessGroupGloo::", what, ": expected a tag >= 0, got ", tag);
  Tensor t = tensors[0];
  Tensor staging = t.is_contiguous() ? Tensor() : t.contiguous();
  Tensor target = staging.defined() ? staging : t;
  auto ub = impl_->context->createUnboundBuffer(target.data_ptr(), target.nbytes());
  ub->recv(sources, p2p_slot(tag));
  return make_intrusive<P2PWork>(getRank(), type, t, staging, std::move(ub), peer, options_->timeout,
                                 detail::str("ProcessGroupGloo::", what, " (rank ", getRank(), " of ", getSize(), ")"));
}

intrusive_ptr<Work> ProcessGroupGloo::recv(std::vector<Tensor>& tensors, int srcRank, int tag) {
  DG_CHECK(srcRank >= 0 && srcRank < getSize() && srcRank != getRank(), "ProcessGroupGloo::recv: expected a ",
           "source rank in [0, ", getSize(), ") other than this rank (", getRank(), "), got ", srcRank);
  return post_recv("recv", OpType::RECV, tensors, {srcRank}, srcRank, tag);
}

intrusive_ptr<Work> ProcessGroupGloo::recvAnysource(std::vector<Tensor>& tensors, int tag) {
  std::vector<int> sources;
  for (int r = 0; r < getSize(); ++r)
    if (r != getRank()) sources.push_back(r);
  return post_recv("recvAnysource", OpType::RECVANYSOURCE, tensors, sources, -1, tag);
}

}  // namespace dg::distributed
