#pragma once
// Warnings, as c10 spells them: a Warning (message and where it was raised)
// goes to the calling thread's WarningHandler, which by default prints it to
// stderr. Users redirect warnings with their own handler (WarningHandlerGuard
// for a scope), or turn them into errors with a handler that throws (or
// WarningUtils::set_warnings_as_errors). DG_WARN_ONCE warns once per process
// unless WarningUtils::set_warnAlways(true).
#include <atomic>
#include <string>

#include "dynagrad/error.h"

namespace dg {

struct SourceLocation {
  const char* function = "";
  const char* file = "";
  int line = 0;
};

class Warning {
 public:
  Warning(SourceLocation where, std::string msg) : where_(where), msg_(std::move(msg)) {}
  const std::string& msg() const { return msg_; }
  const SourceLocation& source_location() const { return where_; }

 private:
  SourceLocation where_;
  std::string msg_;
};

class WarningHandler {
 public:
  virtual ~WarningHandler() = default;
  // The default prints "Warning: <msg> (function <fn>)" to stderr.
  virtual void process(const Warning& warning);
};

namespace WarningUtils {
// The handler of the calling thread (the default one unless set). Not owned.
void set_warning_handler(WarningHandler* handler);
WarningHandler* get_warning_handler();

// Sets a handler for a scope and restores the previous one.
class WarningHandlerGuard {
 public:
  explicit WarningHandlerGuard(WarningHandler* handler) : prev_(get_warning_handler()) { set_warning_handler(handler); }
  ~WarningHandlerGuard() { set_warning_handler(prev_); }
  WarningHandlerGuard(const WarningHandlerGuard&) = delete;
  WarningHandlerGuard& operator=(const WarningHandlerGuard&) = delete;

 private:
  WarningHandler* prev_;
};

// DG_WARN_ONCE warns every time while set (c10's warnAlways).
void set_warnAlways(bool enabled);
bool get_warnAlways();

// Every warning raised on any thread throws dg::Error with its message
// instead of reaching a handler (the "warnings as errors" switch).
void set_warnings_as_errors(bool enabled);
bool get_warnings_as_errors();
}  // namespace WarningUtils

namespace detail {
void warn(SourceLocation where, const std::string& msg);
}  // namespace detail

}  // namespace dg

#define DG_WARN(...) \
  ::dg::detail::warn(::dg::SourceLocation{__func__, __FILE__, __LINE__}, ::dg::detail::str(__VA_ARGS__))

// Once per process at this line, unless WarningUtils::get_warnAlways().
#define DG_WARN_ONCE(...)                                                                              \
  do {                                                                                                 \
    static std::atomic<bool> dg_warned_once_{false};                                                   \
    if (::dg::WarningUtils::get_warnAlways() || !dg_warned_once_.exchange(true)) DG_WARN(__VA_ARGS__); \
  } while (0)
