// The run-time choice of instruction set for the contiguous row loops of
// loops.h (declared there): the best the CPU and OS support, capped by
// DG_DISABLE_AVX512 / DG_DISABLE_AVX2.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cpu/loops.h"

namespace dg::cpu {

namespace simd {
std::atomic<int> g_level{-1};

namespace {
bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}
}  // namespace

int cpu_level() {
  __builtin_cpu_init();  // may run before the constructors that would call it
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl"))
    return 2;
  return __builtin_cpu_supports("avx2") ? 1 : 0;
}

int detect_level() {
  int v = cpu_level();
  if (env_set("DG_DISABLE_AVX512")) v = std::min(v, 1);
  if (env_set("DG_DISABLE_AVX2")) v = 0;
  g_level.store(v, std::memory_order_relaxed);
  return v;
}

int set_max_level(int max_level) {
  const int was = level();
  g_level.store(std::min(max_level, cpu_level()), std::memory_order_relaxed);
  return was;
}
}  // namespace simd

}  // namespace dg::cpu
