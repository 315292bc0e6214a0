#include "dynagrad/anomaly_mode.h"

#include <cxxabi.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "dynagrad/grad_mode.h"

#if defined(DG_HAVE_LIBBACKTRACE)
#include <backtrace.h>
#else
#include <dlfcn.h>
#include <execinfo.h>
#endif

namespace dg::autograd {

void AnomalyMode::set_enabled(bool enabled, bool check_nan) {
  check_nan_.store(check_nan, std::memory_order_relaxed);
  enabled_.store(enabled, std::memory_order_relaxed);
}

void set_detect_anomaly(bool enabled, bool check_nan) { AnomalyMode::set_enabled(enabled, check_nan); }
bool is_anomaly_enabled() { return AnomalyMode::is_enabled(); }
bool is_anomaly_check_nan_enabled() { return AnomalyMode::should_check_nan(); }

DetectAnomalyGuard::DetectAnomalyGuard(bool check_nan)
    : prev_enabled_(AnomalyMode::is_enabled()), prev_check_nan_(AnomalyMode::should_check_nan()) {
  AnomalyMode::set_enabled(true, check_nan);
}

DetectAnomalyGuard::~DetectAnomalyGuard() { AnomalyMode::set_enabled(prev_enabled_, prev_check_nan_); }

namespace {

constexpr int kMaxFrames = 64;

std::string demangle(const char* name) {
  if (!name) return "??";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = (status == 0 && d) ? d : name;
  std::free(d);
  return out;
}

#if defined(DG_HAVE_LIBBACKTRACE)
// One state for the process (libbacktrace keeps it for the program's life);
// it reads the symbol tables of the executable and the loaded libraries, so
// functions with internal linkage are named too.
backtrace_state* bt_state() {
  static backtrace_state* state = backtrace_create_state(nullptr, /*threaded=*/1, nullptr, nullptr);
  return state;
}
#endif

thread_local const Node* t_running = nullptr;

}  // namespace

std::vector<uintptr_t> detail::capture_stack(int skip) {
  std::vector<uintptr_t> frames;
#if defined(DG_HAVE_LIBBACKTRACE)
  struct Ctx {
    std::vector<uintptr_t>* out;
    int skip;
  } ctx{&frames, skip + 1};
  backtrace_simple(
      bt_state(), 0,
      [](void* data, uintptr_t pc) -> int {
        auto* c = static_cast<Ctx*>(data);
        if (c->skip > 0) {
          --c->skip;
          return 0;
        }
        if (pc == static_cast<uintptr_t>(-1)) return 1;
        c->out->push_back(pc);
        return c->out->size() >= static_cast<size_t>(kMaxFrames) ? 1 : 0;
      },
      [](void*, const char*, int) {}, &ctx);
#else
  void* buf[kMaxFrames + 8];
  const int n = ::backtrace(buf, kMaxFrames + 8);
  for (int i = skip + 1; i < n; ++i) frames.push_back(reinterpret_cast<uintptr_t>(buf[i]));
#endif
  return frames;
}

std::string detail::symbolize_stack(const std::vector<uintptr_t>& frames) {
  std::ostringstream os;
  for (size_t i = 0; i < frames.size(); ++i) {
    std::string name;
#if defined(DG_HAVE_LIBBACKTRACE)
    backtrace_syminfo(
        bt_state(), frames[i],
        [](void* data, uintptr_t, const char* sym, uintptr_t, uintptr_t) {
          if (sym) *static_cast<std::string*>(data) = demangle(sym);
        },
        [](void*, const char*, int) {}, &name);
#else
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(frames[i]), &info) && info.dli_sname) name = demangle(info.dli_sname);
#endif
    if (name.empty()) name = "??";
    os << "  #" << i << ' ' << name << '\n';
    if (name == "main") break;  // what runs before main says nothing
  }
  return os.str();
}

void AnomalyMetadata::store_stack() { frames_ = detail::capture_stack(1); }

std::string AnomalyMetadata::traceback() const {
  std::string out = detail::symbolize_stack(frames_);
  // A node made by the backward of another: that one's forward trace too.
  const Node* p = parent_.get();
  while (p && p->has_metadata()) {
    const AnomalyMetadata* md = const_cast<Node*>(p)->metadata();
    out += "\nThe node above was created in the backward of " + p->name() + ", whose forward was called from:\n";
    out += detail::symbolize_stack(md->frames_);
    p = md->parent_.get();
  }
  return out;
}

void AnomalyMetadata::print_stack(const std::string& current_node_name) const {
  std::cerr << "Warning: Error detected in " << current_node_name
            << ". Traceback of forward call that caused the error:\n"
            << traceback();
}

const Node* detail::anomaly_current_node() { return t_running; }

detail::AnomalyRunningNode::AnomalyRunningNode(const Node* n) : prev_(t_running) { t_running = n; }
detail::AnomalyRunningNode::~AnomalyRunningNode() { t_running = prev_; }

namespace {
std::string forward_trace(const Node& node) {
  if (!node.has_metadata()) return "";
  const std::string tb = const_cast<Node&>(node).metadata()->traceback();
  if (tb.empty()) return "";
  return "\nTraceback of forward call that caused the error:\n" + tb;
}
}  // namespace

void detail::anomaly_check_nan(const Node& node, const variable_list& outputs) {
  if (!AnomalyMode::should_check_nan()) return;
  NoGradGuard no_grad;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& g = outputs[i];
    if (!g.defined() || !is_floating_point(g.dtype())) continue;
    if (dg::isnan(g).any().item<bool>())
      throw Error(dg::detail::str("Function '", node.name(), "' returned nan values in its ", i, "th output.",
                                  forward_trace(node)));
  }
}

std::string detail::anomaly_annotate(const Node& node, const std::string& what) {
  if (what.find("Traceback of forward call that caused the error") != std::string::npos) return what;
  return what + "\n\nError detected in " + node.name() + "." + forward_trace(node);
}

}  // namespace dg::autograd
