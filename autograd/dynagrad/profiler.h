#pragma once
// The profiler (LibTorch's torch::autograd::profiler names where they exist).
// While it is on, every op called through the op API (dg::mul, Tensor::sum,
// ...), every backward node the engine runs and every record_function range
// becomes an event with its wall time, input shapes and thread. Off (the
// default), an op pays one relaxed load and a predictable branch.
//
//   {
//     dg::autograd::profiler::RecordProfile guard("trace.json");  // chrome trace on exit
//     loss = model(x); loss.backward();
//   }
//   // or collect and summarise:
//   dg::autograd::profiler::ProfilerGuard prof;
//   { dg::autograd::profiler::record_function r("step"); ... }
//   auto result = prof.stop();
//   std::cout << result.table();          // top ops by total time
//   result.save("trace.json");            // Perfetto / chrome://tracing
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::autograd::profiler {

struct ProfilerConfig {
  bool report_input_shapes = true;  // LibTorch's name; off keeps the overhead lower
};

enum class EventKind { Op, Backward, User };

struct Event {
  std::string name;  // "mul", "MulBackward0", a record_function label
  EventKind kind = EventKind::Op;
  int64_t start_ns = 0;  // since the profiler was enabled
  int64_t end_ns = 0;
  int64_t self_ns = 0;                             // the duration less that of the events nested in it
  uint64_t thread_id = 0;                          // the OS thread id (gettid)
  int depth = 0;                                   // nesting level on its thread
  std::vector<std::vector<int64_t>> input_shapes;  // one per tensor input (undefined: empty)
  int64_t duration_ns() const { return end_ns - start_ns; }
};

// The events of one name (key_averages' rows), sorted by total time.
struct EventAverage {
  std::string key;
  EventKind kind = EventKind::Op;
  int64_t count = 0;
  int64_t total_ns = 0;
  int64_t self_ns = 0;
  double avg_us() const { return count ? total_ns / 1e3 / static_cast<double>(count) : 0.0; }
};

class ProfilerResult {
 public:
  ProfilerResult() = default;
  explicit ProfilerResult(std::vector<Event> events) : events_(std::move(events)) {}
  // Every event, ordered by thread and start time.
  const std::vector<Event>& events() const { return events_; }
  // One row per name, by total time, largest first.
  std::vector<EventAverage> key_averages() const;
  // The rows as a text table (PyTorch's key_averages().table()).
  std::string table(size_t row_limit = 20) const;
  // Chrome trace format (JSON "traceEvents", complete events in us).
  void write_chrome_trace(std::ostream& out) const;
  // LibTorch's ProfilerResult::save: the chrome trace to a file.
  void save(const std::string& path) const;

 private:
  std::vector<Event> events_;
};

// LibTorch: enableProfiler / disableProfiler / profilerEnabled. Global: ops of
// every thread are recorded while it is on. Enabling twice is an error.
void enableProfiler(const ProfilerConfig& config = {});
ProfilerResult disableProfiler();
bool profilerEnabled();

// Profiles its scope; stop() (or the destructor) turns the profiler off.
class ProfilerGuard {
 public:
  explicit ProfilerGuard(const ProfilerConfig& config = {});
  ~ProfilerGuard();
  ProfilerResult stop();
  ProfilerGuard(const ProfilerGuard&) = delete;
  ProfilerGuard& operator=(const ProfilerGuard&) = delete;

 private:
  bool active_ = true;
};

// LibTorch's RecordProfile: profiles its scope and writes the chrome trace to
// the stream or file when it ends.
struct RecordProfile {
  explicit RecordProfile(std::ostream& out);
  explicit RecordProfile(const std::string& filename);
  ~RecordProfile();
  RecordProfile(const RecordProfile&) = delete;
  RecordProfile& operator=(const RecordProfile&) = delete;

 private:
  std::ostream* out_ = nullptr;
  std::string filename_;
};

// A labelled range (PyTorch's record_function("label")): one event from
// construction to destruction, enclosing the ops run meanwhile.
class record_function {
 public:
  explicit record_function(std::string name);
  ~record_function();
  record_function(const record_function&) = delete;
  record_function& operator=(const record_function&) = delete;

 private:
  int64_t slot_ = -1;
};

namespace detail {
inline std::atomic<bool> g_profiling{false};
inline bool enabled() { return g_profiling.load(std::memory_order_relaxed); }
// Opens an event on this thread; returns its handle for end_event. Cold:
// kept out of the op wrappers' hot path.
[[gnu::cold]] int64_t begin_event(std::string name, EventKind kind, const Tensor* const* inputs, size_t n);
[[gnu::cold]] void end_event(int64_t slot);
[[gnu::cold]] int64_t begin_op(const char* name, std::initializer_list<const Tensor*> inputs);

// The op wrappers' range: nothing but a load and a branch when off (forced
// inline, so that the wrappers' own inlining is what it was without it).
class OpRange {
 public:
  template <typename... Ts>
  [[gnu::always_inline]] explicit OpRange(const char* name, const Ts&... inputs) {
    if (__builtin_expect(enabled(), 0)) slot_ = begin_op(name, {&inputs...});
  }
  [[gnu::always_inline]] ~OpRange() {
    if (__builtin_expect(slot_ >= 0, 0)) end_event(slot_);
  }
  OpRange(const OpRange&) = delete;
  OpRange& operator=(const OpRange&) = delete;

 private:
  int64_t slot_ = -1;
};

// The engine's range around one backward node (inputs: its incoming grads).
class NodeRange {
 public:
  NodeRange(const Node& node, const std::vector<Tensor>& grads) {
    if (__builtin_expect(enabled(), 0)) begin(node, grads);
  }
  ~NodeRange() {
    if (__builtin_expect(slot_ >= 0, 0)) end_event(slot_);
  }
  NodeRange(const NodeRange&) = delete;
  NodeRange& operator=(const NodeRange&) = delete;

 private:
  void begin(const Node& node, const std::vector<Tensor>& grads);
  int64_t slot_ = -1;
};
}  // namespace detail

}  // namespace dg::autograd::profiler

// In each generated op wrapper: DG_PROFILE_OP("mul", self, other);
#define DG_PROFILE_OP(name, ...) \
  const ::dg::autograd::profiler::detail::OpRange dg_profile_op_range_(name __VA_OPT__(, ) __VA_ARGS__)
