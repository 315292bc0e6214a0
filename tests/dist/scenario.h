#pragma once
// One rank's half of a multi-process test. A scenario is registered by name
// and run by dg_dist_worker (tests/dist/worker_main.cpp) in each of the
// processes that tests/dist/launch.h starts:
//
//   DG_DIST_SCENARIO("allreduce_sum") {
//     auto pg = dg::distributed::init_process_group("gloo");   // from RANK, WORLD_SIZE, ...
//     ...
//     dist_check(ok, "what went wrong");                          // throws -> exit code 1
//   }
//
// The body sees `rank` and `world_size` (RANK and WORLD_SIZE of the
// environment). Returning is success (exit code 0); an exception is failure
// (its message printed with the rank, exit code 1).
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "dynagrad/error.h"

namespace dg_dist {

using ScenarioFn = void (*)(int rank, int world_size);

inline std::map<std::string, ScenarioFn>& scenarios() {
  static std::map<std::string, ScenarioFn> table;
  return table;
}

struct Registrar {
  Registrar(const char* name, ScenarioFn fn) {
    if (!scenarios().emplace(name, fn).second) throw std::logic_error(std::string("duplicate scenario ") + name);
  }
};

// Fails the scenario with `msg` (and the rank) when `cond` is false.
template <typename... Parts>
void dist_check(bool cond, const Parts&... parts) {
  if (!cond) throw dg::Error("check failed: " + dg::detail::str(parts...));
}

}  // namespace dg_dist

#define DG_DIST_CAT2(a, b) a##b
#define DG_DIST_CAT(a, b) DG_DIST_CAT2(a, b)
#define DG_DIST_SCENARIO_IMPL(name, fn)                                                  \
  static void fn(int rank, int world_size);                                              \
  static const ::dg_dist::Registrar DG_DIST_CAT(fn, _registrar)(name, &fn); /* NOLINT */ \
  static void fn([[maybe_unused]] int rank, [[maybe_unused]] int world_size)
#define DG_DIST_SCENARIO(name) DG_DIST_SCENARIO_IMPL(name, DG_DIST_CAT(dg_dist_scenario_, __LINE__))
