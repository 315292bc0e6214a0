#include "dynagrad/profiler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dynagrad/node.h"

namespace dg::autograd::profiler {

namespace {

// Events of one thread in one profiling session. Only its thread writes it;
// the lock is uncontended but for the collection at disable time.
struct ThreadBuffer {
  std::mutex mu;
  uint64_t session = 0;
  uint64_t tid = 0;
  std::vector<Event> events;
  std::vector<size_t> open;  // indices of the events not ended yet, innermost last
};

struct Registry {
  std::mutex mu;
  std::atomic<uint64_t> session{0};  // 0: none ever started
  std::atomic<bool> report_shapes{true};
  bool active = false;
  ProfilerConfig config;
  std::chrono::steady_clock::time_point start;
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: threads may outlive statics
  return *r;
}

thread_local std::shared_ptr<ThreadBuffer> t_buffer;

int64_t now_ns(const Registry& r) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - r.start).count();
}

// This thread's buffer for the running session (registered on first use).
ThreadBuffer* this_thread_buffer(Registry& r, bool* report_shapes) {
  *report_shapes = r.report_shapes.load(std::memory_order_relaxed);
  if (t_buffer && t_buffer->session == r.session.load(std::memory_order_acquire) && detail::enabled())
    return t_buffer.get();
  std::lock_guard<std::mutex> lock(r.mu);
  if (!r.active) return nullptr;
  if (!t_buffer || t_buffer->session != r.session) {
    t_buffer = std::make_shared<ThreadBuffer>();
    t_buffer->session = r.session;
    t_buffer->tid = static_cast<uint64_t>(::gettid());
    r.buffers.push_back(t_buffer);
  }
  return t_buffer.get();
}

// Slots pack the session's low bits with the event index so that an end
// after the session changed is recognised and ignored.
constexpr int kIndexBits = 40;
int64_t make_slot(uint64_t session, size_t index) {
  return static_cast<int64_t>(((session & 0x7fffff) << kIndexBits) | static_cast<uint64_t>(index));
}

const char* kind_category(EventKind k) {
  switch (k) {
    case EventKind::Op: return "cpu_op";
    case EventKind::Backward: return "backward";
    case EventKind::User: return "user_annotation";
  }
  return "cpu_op";
}

}  // namespace

int64_t detail::begin_event(std::string name, EventKind kind, const Tensor* const* inputs, size_t n) {
  Registry& r = registry();
  bool shapes = true;
  ThreadBuffer* b = this_thread_buffer(r, &shapes);
  if (!b) return -1;
  Event e;
  e.name = std::move(name);
  e.kind = kind;
  e.thread_id = b->tid;
  if (shapes) {
    e.input_shapes.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = *inputs[i];
      e.input_shapes.emplace_back(t.defined() ? std::vector<int64_t>(t.sizes().begin(), t.sizes().end())
                                              : std::vector<int64_t>());
    }
  }
  std::lock_guard<std::mutex> lock(b->mu);
  e.depth = static_cast<int>(b->open.size());
  e.start_ns = now_ns(r);
  b->events.push_back(std::move(e));
  b->open.push_back(b->events.size() - 1);
  return make_slot(b->session, b->events.size() - 1);
}

int64_t detail::begin_op(const char* name, std::initializer_list<const Tensor*> inputs) {
  return begin_event(name, EventKind::Op, inputs.begin(), inputs.size());
}

void detail::end_event(int64_t slot) {
  Registry& r = registry();
  const int64_t t = now_ns(r);
  ThreadBuffer* b = t_buffer.get();
  if (!b) return;
  const uint64_t session = static_cast<uint64_t>(slot) >> kIndexBits;
  const size_t index = static_cast<size_t>(slot & ((int64_t(1) << kIndexBits) - 1));
  std::lock_guard<std::mutex> lock(b->mu);
  if ((b->session & 0x7fffff) != session || index >= b->events.size()) return;
  Event& e = b->events[index];
  e.end_ns = t;
  e.self_ns += t - e.start_ns;  // children subtract theirs from it below
  while (!b->open.empty() && b->open.back() >= index) b->open.pop_back();
  if (!b->open.empty()) b->events[b->open.back()].self_ns -= t - e.start_ns;
}

void detail::NodeRange::begin(const Node& node, const std::vector<Tensor>& grads) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(grads.size());
  for (const Tensor& g : grads) ptrs.push_back(&g);
  slot_ = begin_event(node.name(), EventKind::Backward, ptrs.data(), ptrs.size());
}

void enableProfiler(const ProfilerConfig& config) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  DG_CHECK(!r.active, "enableProfiler: the profiler is already enabled (one session at a time)");
  r.active = true;
  r.config = config;
  r.report_shapes.store(config.report_input_shapes, std::memory_order_relaxed);
  r.session.fetch_add(1, std::memory_order_release);
  r.buffers.clear();
  r.start = std::chrono::steady_clock::now();
  detail::g_profiling.store(true, std::memory_order_relaxed);
}

bool profilerEnabled() { return detail::enabled(); }

ProfilerResult disableProfiler() {
  Registry& r = registry();
  std::vector<std::shared_ptr<ThreadBuffer>> buffers;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    DG_CHECK(r.active, "disableProfiler: the profiler is not enabled");
    detail::g_profiling.store(false, std::memory_order_relaxed);
    r.active = false;
    buffers.swap(r.buffers);
  }
  std::vector<Event> events;
  for (const auto& b : buffers) {
    std::lock_guard<std::mutex> lock(b->mu);
    for (Event& e : b->events) {
      if (e.end_ns == 0 && e.start_ns >= 0) {  // still open: it ends now
        e.end_ns = now_ns(r);
        e.self_ns += e.end_ns - e.start_ns;
      }
      events.push_back(std::move(e));
    }
    b->events.clear();
    b->open.clear();
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.thread_id != b.thread_id ? a.thread_id < b.thread_id : a.start_ns < b.start_ns;
  });
  return ProfilerResult(std::move(events));
}

std::vector<EventAverage> ProfilerResult::key_averages() const {
  std::map<std::pair<std::string, EventKind>, EventAverage> by_key;
  for (const Event& e : events_) {
    EventAverage& a = by_key[{e.name, e.kind}];
    a.key = e.name;
    a.kind = e.kind;
    ++a.count;
    a.total_ns += e.duration_ns();
    a.self_ns += e.self_ns;
  }
  std::vector<EventAverage> out;
  out.reserve(by_key.size());
  for (auto& [k, a] : by_key) out.push_back(std::move(a));
  std::stable_sort(out.begin(), out.end(),
                   [](const EventAverage& a, const EventAverage& b) { return a.total_ns > b.total_ns; });
  return out;
}

std::string ProfilerResult::table(size_t row_limit) const {
  const std::vector<EventAverage> rows = key_averages();
  int64_t all_self = 0;
  for (const EventAverage& a : rows) all_self += a.self_ns;
  size_t width = 4;
  for (size_t i = 0; i < rows.size() && i < row_limit; ++i) width = std::max(width, rows[i].key.size());
  std::ostringstream os;
  os << std::left << std::setw(static_cast<int>(width)) << "Name" << std::right << std::setw(12) << "Self CPU %"
     << std::setw(14) << "Self CPU" << std::setw(14) << "CPU total" << std::setw(14) << "CPU time avg" << std::setw(10)
     << "# Calls" << '\n';
  os << std::string(width + 64, '-') << '\n';
  auto us = [](double ns) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(3) << ns / 1e3 << "us";
    return s.str();
  };
  for (size_t i = 0; i < rows.size() && i < row_limit; ++i) {
    const EventAverage& a = rows[i];
    std::ostringstream pct;
    pct << std::fixed << std::setprecision(2) << (all_self ? 100.0 * a.self_ns / all_self : 0.0) << '%';
    os << std::left << std::setw(static_cast<int>(width)) << a.key << std::right << std::setw(12) << pct.str()
       << std::setw(14) << us(a.self_ns) << std::setw(14) << us(a.total_ns) << std::setw(14) << us(a.avg_us() * 1e3)
       << std::setw(10) << a.count << '\n';
  }
  os << std::string(width + 64, '-') << '\n';
  os << "Self CPU time total: " << us(static_cast<double>(all_self)) << '\n';
  return os.str();
}

void ProfilerResult::write_chrome_trace(std::ostream& out) const {
  nlohmann::json events = nlohmann::json::array();
  const int64_t pid = ::getpid();
  for (const Event& e : events_) {
    nlohmann::json j;
    j["name"] = e.name;
    j["cat"] = kind_category(e.kind);
    j["ph"] = "X";
    j["ts"] = static_cast<double>(e.start_ns) / 1e3;
    j["dur"] = static_cast<double>(e.duration_ns()) / 1e3;
    j["pid"] = pid;
    j["tid"] = e.thread_id;
    if (!e.input_shapes.empty()) j["args"]["Input Dims"] = e.input_shapes;
    events.push_back(std::move(j));
  }
  nlohmann::json doc;
  doc["traceEvents"] = std::move(events);
  doc["displayTimeUnit"] = "ms";
  out << doc.dump() << '\n';
}

void ProfilerResult::save(const std::string& path) const {
  std::ofstream f(path);
  DG_CHECK(f.good(), "ProfilerResult::save: cannot open '", path, "' for writing");
  write_chrome_trace(f);
  f.flush();
  DG_CHECK(f.good(), "ProfilerResult::save: writing '", path, "' failed");
}

ProfilerGuard::ProfilerGuard(const ProfilerConfig& config) { enableProfiler(config); }

ProfilerGuard::~ProfilerGuard() {
  if (active_) disableProfiler();
}

ProfilerResult ProfilerGuard::stop() {
  DG_CHECK(active_, "ProfilerGuard::stop: already stopped");
  active_ = false;
  return disableProfiler();
}

RecordProfile::RecordProfile(std::ostream& out) : out_(&out) { enableProfiler(); }

RecordProfile::RecordProfile(const std::string& filename) : filename_(filename) {
  // Fail now, not in the destructor, when the file cannot be written.
  std::ofstream probe(filename);
  DG_CHECK(probe.good(), "RecordProfile: cannot open '", filename, "' for writing");
  enableProfiler();
}

RecordProfile::~RecordProfile() {
  try {
    const ProfilerResult result = disableProfiler();
    if (out_) {
      result.write_chrome_trace(*out_);
    } else {
      std::ofstream f(filename_);
      result.write_chrome_trace(f);
    }
  } catch (...) {  // a destructor must not throw; LibTorch's drops the trace too
  }
}

record_function::record_function(std::string name) {
  if (detail::enabled()) slot_ = detail::begin_event(std::move(name), EventKind::User, nullptr, 0);
}

record_function::~record_function() {
  if (slot_ >= 0) detail::end_event(slot_);
}

}  // namespace dg::autograd::profiler
