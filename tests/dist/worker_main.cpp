// dg_dist_worker SCENARIO: runs one rank of a registered scenario
// (tests/dist/scenario.h) with RANK and WORLD_SIZE from the environment.
// Exit code 0: it returned; 1: it threw (the message is printed); 2: bad
// usage or an unknown scenario.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "dist/scenario.h"

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dg_dist_worker SCENARIO (RANK, WORLD_SIZE from the environment)\n");
    return 2;
  }
  if (std::string(argv[1]) == "--list") {
    for (const auto& [name, fn] : dg_dist::scenarios()) std::printf("%s\n", name.c_str());
    return 0;
  }
  auto it = dg_dist::scenarios().find(argv[1]);
  if (it == dg_dist::scenarios().end()) {
    std::fprintf(stderr, "dg_dist_worker: no scenario named '%s' (--list shows them)\n", argv[1]);
    return 2;
  }
  const int rank = env_int("RANK", 0), world_size = env_int("WORLD_SIZE", 1);
  try {
    it->second(rank, world_size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: scenario %s failed: %s\n", rank, argv[1], e.what());
    std::fflush(stderr);
    return 1;
  }
  std::fflush(stdout);
  return 0;
}
