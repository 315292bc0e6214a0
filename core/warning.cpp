// Where warnings go: the calling thread's handler, the default one printing
// to stderr; or an exception while warnings are errors.
#include "dynagrad/warning.h"

#include <atomic>
#include <iostream>

namespace dg {

void WarningHandler::process(const Warning& warning) {
  std::cerr << "Warning: " << warning.msg() << " (function " << warning.source_location().function << ")\n";
}

namespace {
WarningHandler& default_handler() {
  static WarningHandler h;
  return h;
}
thread_local WarningHandler* t_handler = nullptr;
std::atomic<bool> g_warn_always{false};
std::atomic<bool> g_as_errors{false};
}  // namespace

namespace WarningUtils {
void set_warning_handler(WarningHandler* handler) { t_handler = handler; }
WarningHandler* get_warning_handler() { return t_handler ? t_handler : &default_handler(); }
void set_warnAlways(bool enabled) { g_warn_always.store(enabled); }
bool get_warnAlways() { return g_warn_always.load(); }
void set_warnings_as_errors(bool enabled) { g_as_errors.store(enabled); }
bool get_warnings_as_errors() { return g_as_errors.load(); }
}  // namespace WarningUtils

void detail::warn(SourceLocation where, const std::string& msg) {
  if (g_as_errors.load()) throw Error(msg);
  WarningUtils::get_warning_handler()->process(Warning(where, msg));
}

}  // namespace dg
