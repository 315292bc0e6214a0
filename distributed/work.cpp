// Work: a completion flag, an error and the outputs, under a mutex; the
// backends' worker threads call finish().
#include "dynagrad/distributed/work.h"

#include "dynagrad/distributed/types.h"
#include "dynagrad/error.h"

namespace dg::distributed {

std::string opTypeToString(OpType opType) {
  switch (opType) {
    case OpType::BROADCAST: return "BROADCAST";
    case OpType::ALLREDUCE: return "ALLREDUCE";
    case OpType::ALLREDUCE_COALESCED: return "ALLREDUCE_COALESCED";
    case OpType::REDUCE: return "REDUCE";
    case OpType::ALLGATHER: return "ALLGATHER";
    case OpType::_ALLGATHER_BASE: return "_ALLGATHER_BASE";
    case OpType::ALLGATHER_COALESCED: return "ALLGATHER_COALESCED";
    case OpType::GATHER: return "GATHER";
    case OpType::SCATTER: return "SCATTER";
    case OpType::REDUCE_SCATTER: return "REDUCE_SCATTER";
    case OpType::ALLTOALL_BASE: return "ALLTOALL_BASE";
    case OpType::ALLTOALL: return "ALLTOALL";
    case OpType::SEND: return "SEND";
    case OpType::RECV: return "RECV";
    case OpType::RECVANYSOURCE: return "RECVANYSOURCE";
    case OpType::BARRIER: return "BARRIER";
    case OpType::_REDUCE_SCATTER_BASE: return "_REDUCE_SCATTER_BASE";
    case OpType::UNKNOWN: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::string reduce_op_name(ReduceOp op) {
  switch (op.op_) {
    case ReduceOp::SUM: return "SUM";
    case ReduceOp::AVG: return "AVG";
    case ReduceOp::PRODUCT: return "PRODUCT";
    case ReduceOp::MIN: return "MIN";
    case ReduceOp::MAX: return "MAX";
    case ReduceOp::BAND: return "BAND";
    case ReduceOp::BOR: return "BOR";
    case ReduceOp::BXOR: return "BXOR";
    case ReduceOp::PREMUL_SUM: return "PREMUL_SUM";
    case ReduceOp::UNUSED: return "UNUSED";
  }
  return "UNKNOWN";
}

Work::Work(int rank, OpType opType) : rank_(rank), opType_(opType) {}
Work::~Work() = default;

bool Work::isCompleted() {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_;
}

bool Work::isSuccess() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_ && !exception_;
}

std::exception_ptr Work::exception() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exception_;
}

int Work::sourceRank() const { return -1; }

std::vector<Tensor> Work::result() {
  std::lock_guard<std::mutex> lock(mutex_);
  return outputs_;
}

void Work::synchronize() {}

bool Work::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (timeout == kNoTimeout) {
    cv_.wait(lock, [&] { return completed_; });
  } else if (!cv_.wait_for(lock, timeout, [&] { return completed_; })) {
    throw Error(detail::str("Work::wait: ", opTypeToString(opType_), " on rank ", rank_, " did not complete within ",
                            timeout.count(), " ms"));
  }
  if (exception_) std::rethrow_exception(exception_);
  lock.unlock();
  synchronize();
  return true;
}

void Work::abort() {
  throw Error(detail::str("Work::abort: not supported (", opTypeToString(opType_),
                          "); a group's operations end at its timeout"));
}

void Work::finish(std::exception_ptr exception) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    completed_ = true;
    exception_ = exception;
  }
  cv_.notify_all();
}

void Work::finishAndThrow(std::exception_ptr exception) {
  finish(exception);
  if (exception) std::rethrow_exception(exception);
}

}  // namespace dg::distributed
