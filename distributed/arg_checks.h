#pragma once
// Argument checks both process groups (Gloo and NCCL) make, with the group's
// name in the message.
#include <cstdint>

#include "dynagrad/error.h"

namespace dg::distributed::arg_checks {

// A root rank of a broadcast, reduce, gather or scatter lies in [0, size).
inline void check_root(const char* group, const char* what, int64_t root, int size) {
  DG_CHECK(root >= 0 && root < size, group, "::", what, ": expected a root rank in [0, ", size, "), got ", root);
}

}  // namespace dg::distributed::arg_checks
