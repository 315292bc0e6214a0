#include "dynagrad/deterministic.h"

#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <string>

#include "dynagrad/error.h"

namespace dg {

namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<bool> g_warn_only{false};
}  // namespace

void use_deterministic_algorithms(bool mode, bool warn_only) {
  g_warn_only.store(warn_only, std::memory_order_relaxed);
  g_deterministic.store(mode, std::memory_order_relaxed);
}

bool are_deterministic_algorithms_enabled() { return g_deterministic.load(std::memory_order_relaxed); }
bool is_deterministic_algorithms_warn_only_enabled() { return g_warn_only.load(std::memory_order_relaxed); }

const char* detail::deterministic_hint() {
  return " does not have a deterministic implementation, but you set 'dg::use_deterministic_algorithms(true)'. "
         "You can turn off determinism just for this operation, or you can use the 'warn_only=true' option, if "
         "that's acceptable for your application.";
}

void detail::alert_not_deterministic(const char* caller) {
  if (!are_deterministic_algorithms_enabled()) return;
  if (!is_deterministic_algorithms_warn_only_enabled()) throw Error(std::string(caller) + deterministic_hint());
  static std::mutex mu;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mu);
  if (warned.insert(caller).second) std::cerr << "Warning: " << caller << deterministic_hint() << '\n';
}

void Context::alertNotDeterministic(const char* caller) const { detail::alert_not_deterministic(caller); }

Context& globalContext() {
  static Context ctx;
  return ctx;
}

}  // namespace dg
