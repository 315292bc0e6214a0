#pragma once
// The prefixes of PyTorch's linear-algebra errors that name a matrix of a
// batch, shared by the CPU (LAPACK) and CUDA (cuSOLVER/cuBLAS) kernels.
#include <cstdint>
#include <string>

namespace dg::linalg_errors {

// "op: (Batch element i): ", the prefix of an error in one matrix of a batch.
inline std::string batch_element(const char* op, int64_t i) {
  return std::string(op) + ": (Batch element " + std::to_string(i) + "): ";
}

// The prefix as PyTorch's solvers write it: "op: (Batch element i): " in a
// batch of several matrices, "op: " for a single matrix.
inline std::string where(const char* op, int64_t batch_count, int64_t i) {
  return batch_count > 1 ? batch_element(op, i) : std::string(op) + ": ";
}

}  // namespace dg::linalg_errors
