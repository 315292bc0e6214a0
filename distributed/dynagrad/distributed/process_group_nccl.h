#pragma once
// Collectives on CUDA tensors over NCCL (LibTorch 1.13's
// c10d::ProcessGroupNCCL). Present in every build; in one without CUDA (or
// without NCCL found at configure time) the constructor throws dg::Error
// saying so. Each operation waits for the work already queued on the
// tensors' device, then runs on the group's own stream; Work::wait() blocks
// the host until it finished.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dynagrad/distributed/process_group.h"
#include "dynagrad/distributed/store.h"

namespace dg::distributed {

class ProcessGroupNCCL : public ProcessGroup {
 public:
  struct Options : public ProcessGroup::Options {
    explicit Options(bool is_high_priority_stream = false);
    static std::shared_ptr<Options> create(bool is_high_priority_stream = false) {
      return std::make_shared<Options>(is_high_priority_stream);
    }
    bool is_high_priority_stream;
  };

  // Whether this build has NCCL compiled in.
  static bool is_built();

  ProcessGroupNCCL(const intrusive_ptr<Store>& store, int rank, int size,
                   std::shared_ptr<Options> options = Options::create());
  ~ProcessGroupNCCL() override;

  const std::string getBackendName() const override { return "nccl"; }

  intrusive_ptr<Work> broadcast(std::vector<Tensor>& tensors,
                                const BroadcastOptions& opts = BroadcastOptions()) override;
  intrusive_ptr<Work> allreduce(std::vector<Tensor>& tensors,
                                const AllreduceOptions& opts = AllreduceOptions()) override;
  intrusive_ptr<Work> reduce(std::vector<Tensor>& tensors, const ReduceOptions& opts = ReduceOptions()) override;
  intrusive_ptr<Work> allgather(std::vector<std::vector<Tensor>>& outputTensors, std::vector<Tensor>& inputTensors,
                                const AllgatherOptions& opts = AllgatherOptions()) override;
  intrusive_ptr<Work> reduce_scatter(std::vector<Tensor>& outputTensors, std::vector<std::vector<Tensor>>& inputTensors,
                                     const ReduceScatterOptions& opts = ReduceScatterOptions()) override;
  intrusive_ptr<Work> send(std::vector<Tensor>& tensors, int dstRank, int tag) override;
  intrusive_ptr<Work> recv(std::vector<Tensor>& tensors, int srcRank, int tag) override;
  intrusive_ptr<Work> barrier(const BarrierOptions& opts = BarrierOptions()) override;

  class Impl;

 private:
  intrusive_ptr<Store> store_;
  std::shared_ptr<Options> options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::distributed
