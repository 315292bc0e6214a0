#pragma once
// Reduction operators and the options of each collective: LibTorch 1.13's
// c10d names, fields and defaults (torch/csrc/distributed/c10d/Types.hpp).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dg::distributed {

// How a reduction combines the ranks' values. BAND/BOR/BXOR are for
// integer and bool tensors only; AVG is SUM divided by the group's size.
struct ReduceOp {
  enum RedOpType : uint8_t {
    SUM = 0,
    AVG = 1,
    PRODUCT = 2,
    MIN = 3,
    MAX = 4,
    BAND = 5,
    BOR = 6,
    BXOR = 7,
    PREMUL_SUM = 8,  // not supported (NCCL-only in PyTorch); named so ported code compiles
    UNUSED = 9
  };
  ReduceOp() = default;
  ReduceOp(RedOpType op) : op_(op) {}  // NOLINT: implicit, as LibTorch's
  operator RedOpType() const { return op_; }
  bool operator==(const ReduceOp& other) const { return op_ == other.op_; }
  bool operator==(RedOpType other) const { return op_ == other; }

  RedOpType op_ = SUM;
};
// "SUM", "AVG", ... for messages.
std::string reduce_op_name(ReduceOp op);

// A collective's timeout when its options leave it unset: the group's.
constexpr auto kUnsetTimeout = std::chrono::milliseconds(-1);
// A group's default timeout, as PyTorch's (30 minutes).
constexpr auto kProcessGroupDefaultTimeout = std::chrono::milliseconds(30 * 60 * 1000);

struct BroadcastOptions {
  int64_t rootRank = 0;
  int64_t rootTensor = 0;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct AllreduceOptions {
  ReduceOp reduceOp = ReduceOp::SUM;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct AllreduceCoalescedOptions : AllreduceOptions {};

struct ReduceOptions {
  ReduceOp reduceOp = ReduceOp::SUM;
  int64_t rootRank = 0;
  int64_t rootTensor = 0;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct AllgatherOptions {
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct GatherOptions {
  int64_t rootRank = 0;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct ScatterOptions {
  int64_t rootRank = 0;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct ReduceScatterOptions {
  ReduceOp reduceOp = ReduceOp::SUM;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct AllToAllOptions {
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

struct BarrierOptions {
  std::vector<int64_t> device_ids;
  std::chrono::milliseconds timeout = kUnsetTimeout;
};

}  // namespace dg::distributed
