#pragma once
// The handle of one collective or point-to-point operation (LibTorch 1.13's
// c10d::Work). A process group returns it at once; the operation runs on the
// group's worker thread and the handle says when it finished and how.
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "dynagrad/intrusive_ptr.h"
#include "dynagrad/tensor.h"

namespace dg::distributed {

// wait()'s "no timeout": wait as long as the operation's own timeout allows.
constexpr auto kNoTimeout = std::chrono::milliseconds(0);

enum class OpType : std::uint8_t {
  BROADCAST = 0,
  ALLREDUCE = 1,
  ALLREDUCE_COALESCED = 2,
  REDUCE = 3,
  ALLGATHER = 4,
  _ALLGATHER_BASE = 5,
  ALLGATHER_COALESCED = 6,
  GATHER = 7,
  SCATTER = 8,
  REDUCE_SCATTER = 9,
  ALLTOALL_BASE = 10,
  ALLTOALL = 11,
  SEND = 12,
  RECV = 13,
  RECVANYSOURCE = 14,
  BARRIER = 15,
  _REDUCE_SCATTER_BASE = 16,
  UNKNOWN = 100,
};
// The collective's name as PyTorch spells it ("ALLREDUCE", "SEND", ...).
std::string opTypeToString(OpType opType);

class Work : public intrusive_target {
 public:
  explicit Work(int rank = -1, OpType opType = OpType::UNKNOWN);
  ~Work() override;

  // Whether the operation finished, successfully or not.
  virtual bool isCompleted();
  bool is_completed() { return isCompleted(); }
  // Whether it finished without an error (false while it runs).
  virtual bool isSuccess() const;
  bool is_success() const { return isSuccess(); }
  // The error it finished with (nullptr when none or still running).
  virtual std::exception_ptr exception() const;
  // The rank a recv from any source received from (-1 otherwise).
  virtual int sourceRank() const;
  // The output tensors of the operation (the tensors it wrote).
  virtual std::vector<Tensor> result();
  // CPU: nothing to do once completed. NCCL: makes the current device wait.
  virtual void synchronize();
  // Blocks until the operation finished; rethrows its error (a dg::Error
  // naming the collective, the rank and, where known, the peer). With a
  // nonzero timeout, throws dg::Error if it has not finished by then.
  // Returns true (as LibTorch's) once it finished successfully.
  virtual bool wait(std::chrono::milliseconds timeout = kNoTimeout);
  // Not supported by these backends: throws dg::Error.
  virtual void abort();
  OpType retrieveOpType() const { return opType_; }

 protected:
  // Marks the work finished, with an error or not, and wakes waiters.
  void finish(std::exception_ptr exception = nullptr);
  // finish(exception), then rethrows it.
  void finishAndThrow(std::exception_ptr exception);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool completed_ = false;
  std::exception_ptr exception_;
  const int rank_;
  OpType opType_;
  std::vector<Tensor> outputs_;
};

}  // namespace dg::distributed
