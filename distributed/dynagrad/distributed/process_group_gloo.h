#pragma once
// Collectives on CPU tensors over Gloo's TCP transport (LibTorch 1.13's
// c10d::ProcessGroupGloo). Rendezvous through a Store; each operation is
// queued to the group's worker thread and runs there in call order, so the
// caller overlaps it with its own work (DistributedDataParallel does).
//
// Dtypes: every dtype dynagrad has (float32, float64, float16, bfloat16,
// int8, uint8, int16, int32, int64, bool). Half types reduce in float32 per
// element and round once, as PyTorch's Gloo. BAND/BOR/BXOR: integers and
// bool only. AVG: floating types only (sum / size).
// Tensors must be on the CPU; non-contiguous ones are copied to contiguous
// buffers and the result copied back.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dynagrad/distributed/process_group.h"
#include "dynagrad/distributed/store.h"

namespace dg::distributed {

class ProcessGroupGloo : public ProcessGroup {
 public:
  struct Options : public ProcessGroup::Options {
    explicit Options(std::chrono::milliseconds timeout = kProcessGroupDefaultTimeout);
    static std::shared_ptr<Options> create(std::chrono::milliseconds timeout = kProcessGroupDefaultTimeout) {
      return std::make_shared<Options>(timeout);
    }
    // The network interface (as GLOO_SOCKET_IFNAME) or the host name or
    // address this rank listens on; both empty: GLOO_SOCKET_IFNAME when set,
    // else this host's name if it resolves, else 127.0.0.1 (LibTorch's
    // createDefaultDevice).
    std::string interface;
    std::string hostname;
    // Worker threads (LibTorch's default is 2). dynagrad runs one: operations
    // complete in call order, which the overlap of DDP relies on.
    int threads = 1;
  };

  explicit ProcessGroupGloo(const intrusive_ptr<Store>& store, int rank, int size,
                            std::shared_ptr<Options> options = Options::create());
  ~ProcessGroupGloo() override;

  const std::string getBackendName() const override { return "gloo"; }
  std::shared_ptr<Options> getOptions() { return options_; }

  intrusive_ptr<Work> broadcast(std::vector<Tensor>& tensors,
                                const BroadcastOptions& opts = BroadcastOptions()) override;
  intrusive_ptr<Work> allreduce(std::vector<Tensor>& tensors,
                                const AllreduceOptions& opts = AllreduceOptions()) override;
  intrusive_ptr<Work> allreduce_coalesced(std::vector<Tensor>& tensors,
                                          const AllreduceCoalescedOptions& opts = AllreduceCoalescedOptions()) override;
  intrusive_ptr<Work> reduce(std::vector<Tensor>& tensors, const ReduceOptions& opts = ReduceOptions()) override;
  intrusive_ptr<Work> allgather(std::vector<std::vector<Tensor>>& outputTensors, std::vector<Tensor>& inputTensors,
                                const AllgatherOptions& opts = AllgatherOptions()) override;
  intrusive_ptr<Work> _allgather_base(Tensor& outputBuffer, Tensor& inputBuffer,
                                      const AllgatherOptions& opts = AllgatherOptions()) override;
  intrusive_ptr<Work> gather(std::vector<std::vector<Tensor>>& outputTensors, std::vector<Tensor>& inputTensors,
                             const GatherOptions& opts = GatherOptions()) override;
  intrusive_ptr<Work> scatter(std::vector<Tensor>& outputTensors, std::vector<std::vector<Tensor>>& inputTensors,
                              const ScatterOptions& opts = ScatterOptions()) override;
  intrusive_ptr<Work> reduce_scatter(std::vector<Tensor>& outputTensors, std::vector<std::vector<Tensor>>& inputTensors,
                                     const ReduceScatterOptions& opts = ReduceScatterOptions()) override;
  intrusive_ptr<Work> send(std::vector<Tensor>& tensors, int dstRank, int tag) override;
  intrusive_ptr<Work> recv(std::vector<Tensor>& tensors, int srcRank, int tag) override;
  intrusive_ptr<Work> recvAnysource(std::vector<Tensor>& tensors, int tag) override;
  intrusive_ptr<Work> barrier(const BarrierOptions& opts = BarrierOptions()) override;

  class Impl;  // the Gloo context and the worker thread (gloo stays private to the library)

 private:
  intrusive_ptr<Work> post_recv(const char* what, OpType type, std::vector<Tensor>& tensors,
                                const std::vector<int>& sources, int peer, int tag);
  intrusive_ptr<Store> store_;
  std::shared_ptr<Options> options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::distributed
