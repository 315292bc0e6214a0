#pragma once
// The one exception type of dynagrad. Every message says which op (or API
// call) failed, what it expected and what it was given.
#include <sstream>
#include <stdexcept>
#include <string>

namespace dg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void str_append(std::ostringstream&) {}
template <typename T, typename... Rest>
void str_append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  str_append(os, rest...);
}
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  str_append(os, args...);
  return os.str();
}
[[noreturn]] inline void fail(const std::string& msg) { throw Error(msg); }
}  // namespace detail

}  // namespace dg

// DG_CHECK(cond, parts...): throws dg::Error with the concatenated parts.
// The message is only built on failure, so the check is cheap on hot paths.
#define DG_CHECK(cond, ...)                                                               \
  do {                                                                                    \
    if (__builtin_expect(!(cond), 0)) ::dg::detail::fail(::dg::detail::str(__VA_ARGS__)); \
  } while (0)
