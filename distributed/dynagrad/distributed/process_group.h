#pragma once
// A group of processes that run collectives together (LibTorch 1.13's
// c10d::ProcessGroup): every rank of the group calls the same collectives in
// the same order; each call returns a Work handle at once.
//
// Ownership: groups are held by std::shared_ptr (LibTorch: c10::intrusive_ptr;
// a port writes std::make_shared<ProcessGroupGloo>(...) for
// c10::make_intrusive<ProcessGroupGloo>(...)). Work and Store are
// dg::intrusive_ptr, as LibTorch's.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dynagrad/distributed/types.h"
#include "dynagrad/distributed/work.h"
#include "dynagrad/tensor.h"

namespace dg::distributed {

class ProcessGroup : public std::enable_shared_from_this<ProcessGroup> {
 public:
  struct Options {
    explicit Options(std::string backend, std::chrono::milliseconds timeout = kProcessGroupDefaultTimeout)
        : timeout(timeout), backend(std::move(backend)) {}
    virtual ~Options() = default;
    // How long any collective of the group may take before it fails.
    std::chrono::milliseconds timeout;
    const std::string backend;
  };

  explicit ProcessGroup(int rank, int size);
  virtual ~ProcessGroup();

  int getRank() const { return rank_; }
  int getSize() const { return size_; }
  virtual const std::string getBackendName() const = 0;

  // Each collective takes one tensor per device in `tensors` (one, on the
  // CPU: dynagrad's groups take exactly one) and works in place unless it
  // has outputs. The base class's default of each throws dg::Error naming
  // the backend that lacks it.
  virtual intrusive_ptr<Work> broadcast(std::vector<Tensor>& tensors,
                                        const BroadcastOptions& opts = BroadcastOptions());
  virtual intrusive_ptr<Work> allreduce(std::vector<Tensor>& tensors,
                                        const AllreduceOptions& opts = AllreduceOptions());
  // Several tensors reduced as one flat buffer (same dtype).
  virtual intrusive_ptr<Work> allreduce_coalesced(std::vector<Tensor>& tensors,
                                                  const AllreduceCoalescedOptions& opts = AllreduceCoalescedOptions());
  // The reduction lands in rootRank's tensor; other ranks' are unspecified.
  virtual intrusive_ptr<Work> reduce(std::vector<Tensor>& tensors, const ReduceOptions& opts = ReduceOptions());
  // outputTensors[0][r] receives rank r's inputTensors[0].
  virtual intrusive_ptr<Work> allgather(std::vector<std::vector<Tensor>>& outputTensors,
                                        std::vector<Tensor>& inputTensors,
                                        const AllgatherOptions& opts = AllgatherOptions());
  // outputBuffer (size * input's numel, input's shape with dim 0 times size)
  // receives every rank's inputBuffer, in rank order.
  virtual intrusive_ptr<Work> _allgather_base(Tensor& outputBuffer, Tensor& inputBuffer,
                                              const AllgatherOptions& opts = AllgatherOptions());
  // On rootRank, outputTensors[0][r] receives rank r's input; elsewhere
  // outputTensors must be empty.
  virtual intrusive_ptr<Work> gather(std::vector<std::vector<Tensor>>& outputTensors, std::vector<Tensor>& inputTensors,
                                     const GatherOptions& opts = GatherOptions());
  // outputTensors[0] receives rootRank's inputTensors[0][rank]; off the root
  // inputTensors must be empty.
  virtual intrusive_ptr<Work> scatter(std::vector<Tensor>& outputTensors,
                                      std::vector<std::vector<Tensor>>& inputTensors,
                                      const ScatterOptions& opts = ScatterOptions());
  // outputTensors[0] receives the reduction over ranks of inputTensors[0][rank].
  virtual intrusive_ptr<Work> reduce_scatter(std::vector<Tensor>& outputTensors,
                                             std::vector<std::vector<Tensor>>& inputTensors,
                                             const ReduceScatterOptions& opts = ReduceScatterOptions());
  virtual intrusive_ptr<Work> send(std::vector<Tensor>& tensors, int dstRank, int tag);
  virtual intrusive_ptr<Work> recv(std::vector<Tensor>& tensors, int srcRank, int tag);
  // Receives from whichever rank sends with this tag first (Work::sourceRank()).
  virtual intrusive_ptr<Work> recvAnysource(std::vector<Tensor>& tensors, int tag);
  virtual intrusive_ptr<Work> barrier(const BarrierOptions& opts = BarrierOptions());

 protected:
  const int rank_;
  const int size_;
};

}  // namespace dg::distributed
