// ProcessGroupNCCL. Built with NCCL (DG_WITH_NCCL, the CUDA build with NCCL
// found): rank 0 makes the NCCL unique id and shares it through the store;
// each operation waits for the device's queued work, runs on the group's
// stream, and its Work waits for that stream. Without NCCL: the constructor
// says so.
#include "dynagrad/distributed/process_group_nccl.h"

#include <cstring>
#include <functional>
#include <thread>

#include "distributed/arg_checks.h"
#include "dynagrad/cuda.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

#ifdef DG_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace dg::distributed {

ProcessGroupNCCL::Options::Options(bool is_high_priority_stream)
    : ProcessGroup::Options("nccl"), is_high_priority_stream(is_high_priority_stream) {}

#ifndef DG_WITH_NCCL

class ProcessGroupNCCL::Impl {};

bool ProcessGroupNCCL::is_built() { return false; }

ProcessGroupNCCL::ProcessGroupNCCL(const intrusive_ptr<Store>& store, int rank, int size,
                                   std::shared_ptr<Options> options)
    : ProcessGroup(rank, size), store_(store), options_(std::move(options)) {
  throw Error(
      "ProcessGroupNCCL: this build of dynagrad has no NCCL (it needs the CUDA build, DG_CUDA=ON, with "
      "NCCL's nccl.h and libnccl found, as the CUDA toolkit ships them); use the gloo backend for CPU tensors");
}
ProcessGroupNCCL::~ProcessGroupNCCL() = default;

#define DG_NCCL_UNBUILT(name, ...)                                                  \
  intrusive_ptr<Work> ProcessGroupNCCL::name(__VA_ARGS__) {                         \
    throw Error("ProcessGroupNCCL::" #name ": this build of dynagrad has no NCCL"); \
  }
DG_NCCL_UNBUILT(broadcast, std::vector<Tensor>&, const BroadcastOptions&)
DG_NCCL_UNBUILT(allreduce, std::vector<Tensor>&, const AllreduceOptions&)
DG_NCCL_UNBUILT(reduce, std::vector<Tensor>&, const ReduceOptions&)
DG_NCCL_UNBUILT(allgather, std::vector<std::vector<Tensor>>&, std::vector<Tensor>&, const AllgatherOptions&)
DG_NCCL_UNBUILT(reduce_scatter, std::vector<Tensor>&, std::vector<std::vector<Tensor>>&, const ReduceScatterOptions&)
DG_NCCL_UNBUILT(send, std::vector<Tensor>&, int, int)
DG_NCCL_UNBUILT(recv, std::vector<Tensor>&, int, int)
DG_NCCL_UNBUILT(barrier, const BarrierOptions&)
#undef DG_NCCL_UNBUILT

#endif  // DG_WITH_NCCL

#ifdef DG_WITH_NCCL

namespace {

#define DG_NCCL_CHECK(call, what)                                                                              \
  do {                                                                                                         \
    ncclResult_t _r = (call);                                                                                  \
    DG_CHECK(_r == ncclSuccess, "ProcessGroupNCCL::", what, ": ", #call, " failed: ", ncclGetErrorString(_r)); \
  } while (0)
#define DG_CUDA_CHECK(call, what)                                                                              \
  do {                                                                                                         \
    cudaError_t _e = (call);                                                                                   \
    DG_CHECK(_e == cudaSuccess, "ProcessGroupNCCL::", what, ": ", #call, " failed: ", cudaGetErrorString(_e)); \
  } while (0)

ncclDataType_t nccl_dtype(ScalarType t, const char* what) {
  switch (t) {
    case ScalarType::Float32: return ncclFloat32;
    case ScalarType::Float64: return ncclFloat64;
    case ScalarType::Float16: return ncclFloat16;
    case ScalarType::BFloat16: return ncclBfloat16;
    case ScalarType::Int64: return ncclInt64;
    case ScalarType::Int32: return ncclInt32;
    case ScalarType::Int8: return ncclInt8;
    case ScalarType::UInt8: return ncclUint8;
    case ScalarType::Bool: return ncclUint8;
    default: break;
  }
  throw Error(detail::str("ProcessGroupNCCL::", what, ": dtype ", t, " is not supported by NCCL"));
}

ncclRedOp_t nccl_op(ReduceOp op, ScalarType t, const char* what) {
  const bool is_bool = t == ScalarType::Bool;
  switch (op.op_) {
    case ReduceOp::SUM: return is_bool ? ncclMax : ncclSum;  // bool: any, as PyTorch's NCCL group
    case ReduceOp::PRODUCT: return is_bool ? ncclMin : ncclProd;
    case ReduceOp::MIN: return ncclMin;
    case ReduceOp::MAX: return ncclMax;
    case ReduceOp::AVG:
      DG_CHECK(is_floating_point(t), "ProcessGroupNCCL::", what, ": ReduceOp::AVG needs a floating-point tensor, got ",
               t);
      return ncclAvg;
    default: break;
  }
  throw Error(detail::str("ProcessGroupNCCL::", what, ": reduce op ", reduce_op_name(op),
                          " is not supported by the nccl backend"));
}

// Waits on the host for the event recorded after the operation.
class NCCLWork : public Work {
 public:
  NCCLWork(int rank, OpType type, cudaEvent_t event, std::vector<Tensor> outputs, std::function<void()> after,
           std::chrono::milliseconds timeout)
      : Work(rank, type), event_(event), after_(std::move(after)), timeout_(timeout) {
    outputs_ = std::move(outputs);
  }
  ~NCCLWork() override { cudaEventDestroy(event_); }
  bool isCompleted() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return completed_ || cudaEventQuery(event_) == cudaSuccess;
  }
  bool wait(std::chrono::milliseconds timeout) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (completed_) {
        if (exception_) std::rethrow_exception(exception_);
        return true;
      }
    }
    const auto limit = timeout == kNoTimeout ? timeout_ : timeout;
    const auto start = std::chrono::steady_clock::now();
    std::exception_ptr error;
    for (;;) {
      cudaError_t e = cudaEventQuery(event_);
      if (e == cudaSuccess) break;
      if (e != cudaErrorNotReady) {
        error = std::make_exception_ptr(Error(detail::str("ProcessGroupNCCL: ", opTypeToString(retrieveOpType()),
                                                          " failed on rank ", rank_, ": ", cudaGetErrorString(e))));
        break;
      }
      if (std::chrono::steady_clock::now() - start > limit) {
        error = std::make_exception_ptr(
            Error(detail::str("ProcessGroupNCCL: ", opTypeToString(retrieveOpType()), " on rank ", rank_,
                              " did not complete within ", limit.count(), " ms")));
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (!error && after_) {
      try {
        after_();
      } catch (...) {
        error = std::current_exception();
      }
    }
    after_ = nullptr;
    finish(error);
    if (error) std::rethrow_exception(error);
    return true;
  }

 private:
  cudaEvent_t event_;
  std::function<void()> after_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

class ProcessGroupNCCL::Impl {
 public:
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  std::chrono::milliseconds timeout{kProcessGroupDefaultTimeout};
  ~Impl() {
    if (comm) ncclCommDestroy(comm);
    if (stream) cudaStreamDestroy(stream);
  }
};

bool ProcessGroupNCCL::is_built() { return true; }

ProcessGroupNCCL::ProcessGroupNCCL(const intrusive_ptr<Store>& store, int rank, int size,
                                   std::shared_ptr<Options> options)
    : ProcessGroup(rank, size), store_(store), options_(std::move(options)) {
  DG_CHECK(store_, "ProcessGroupNCCL: expected a store, got nullptr");
  DG_CHECK(cuda::is_available(), "ProcessGroupNCCL: expected a CUDA device, but none is available (",
           cuda::unavailable_reason(), ")");
  if (!options_) options_ = Options::create();
  impl_ = std::make_unique<Impl>();
  impl_->timeout = options_->timeout;
  impl_->device = cuda::current_device();
  DG_CUDA_CHECK(cudaSetDevice(impl_->device), "ProcessGroupNCCL");
  ncclUniqueId id;
  const std::string key = "dg_nccl_unique_id";
  if (rank == 0) {
    DG_NCCL_CHECK(ncclGetUniqueId(&id), "ProcessGroupNCCL");
    const auto* p = reinterpret_cast<const uint8_t*>(&id);
    store_->set(key, std::vector<uint8_t>(p, p + sizeof(id)));
  } else {
    store_->wait({key}, options_->timeout);
    auto v = store_->get(key);
    DG_CHECK(v.size() == sizeof(id), "ProcessGroupNCCL: the store's NCCL id has ", v.size(), " bytes, expected ",
             sizeof(id));
    std::memcpy(&id, v.data(), sizeof(id));
  }
  DG_NCCL_CHECK(ncclCommInitRank(&impl_->comm, size, id, rank), "ProcessGroupNCCL");
  int lo = 0, hi = 0;
  cudaDeviceGetStreamPriorityRange(&lo, &hi);
  DG_CUDA_CHECK(
      cudaStreamCreateWithPriority(&impl_->stream, cudaStreamNonBlocking, options_->is_high_priority_stream ? hi : lo),
      "ProcessGroupNCCL");
}

ProcessGroupNCCL::~ProcessGroupNCCL() = default;

namespace {
void check_cuda_tensor(const char* what, const std::vector<Tensor>& ts, int device) {
  DG_CHECK(ts.size() == 1, "ProcessGroupNCCL::", what, ": expected exactly one tensor, got ", ts.size());
  DG_CHECK(ts[0].defined() && ts[0].is_cuda(), "ProcessGroupNCCL::", what, ": expected a CUDA tensor, got ",
           ts[0].defined() ? detail::str("one on ", ts[0].device()) : std::string("an undefined one"),
           " (use the gloo backend for CPU tensors)");
  DG_CHECK(ts[0].device().index < 0 || ts[0].device().index == device, "ProcessGroupNCCL::", what,
           ": expected a tensor on cuda:", device, " (the group's device), got one on ", ts[0].device());
}

// Runs `launch` on the group's stream after the device's queued work, and
// returns the Work that waits for it. `after` runs on the host once the
// operation finished (copies back into non-contiguous outputs).
intrusive_ptr<Work> run_nccl(ProcessGroupNCCL::Impl& impl, int rank, OpType type, const char* what,
                             std::vector<Tensor> outputs, const std::function<void(cudaStream_t)>& launch,
                             std::function<void()> after = nullptr);
}  // namespace

namespace {
intrusive_ptr<Work> run_nccl(ProcessGroupNCCL::Impl& impl, int rank, OpType type, const char* what,
                             std::vector<Tensor> outputs, const std::function<void(cudaStream_t)>& launch,
                             std::function<void()> after) {
  DG_CUDA_CHECK(cudaSetDevice(impl.device), what);
  // The inputs were written by kernels queued on dynagrad's stream of this
  // device: wait for them before NCCL reads.
  cuda::synchronize();
  launch(impl.stream);
  cudaEvent_t event;
  DG_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), what);
  DG_CUDA_CHECK(cudaEventRecord(event, impl.stream), what);
  return make_intrusive<NCCLWork>(rank, type, event, std::move(outputs), std::move(after), impl.timeout);
}

Tensor contiguous_of(const Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }
std::function<void()> copy_back(const Tensor& t, const Tensor& buf) {
  if (buf.is_same(t)) return nullptr;
  return [t, buf] {
    NoGradGuard g;
    t.copy_(buf);
  };
}
}  // namespace

intrusive_ptr<Work> ProcessGroupNCCL::allreduce(std::vector<Tensor>& tensors, const AllreduceOptions& opts) {
  check_cuda_tensor("allreduce", tensors, impl_->device);
  Tensor t = tensors[0], buf = contiguous_of(t);
  auto dtype = nccl_dtype(t.scalar_type(), "allreduce");
  auto op = nccl_op(opts.reduceOp, t.scalar_type(), "allreduce");
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::ALLREDUCE, "allreduce", {t},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclAllReduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), dtype, op, comm, s), "allreduce");
      },
      copy_back(t, buf));
}

intrusive_ptr<Work> ProcessGroupNCCL::broadcast(std::vector<Tensor>& tensors, const BroadcastOptions& opts) {
  check_cuda_tensor("broadcast", tensors, impl_->device);
  arg_checks::check_root("ProcessGroupNCCL", "broadcast", opts.rootRank, getSize());
  Tensor t = tensors[0], buf = contiguous_of(t);
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::BROADCAST, "broadcast", {t},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclBroadcast(buf.data_ptr(), buf.data_ptr(), buf.nbytes(), ncclUint8,
                                    static_cast<int>(opts.rootRank), comm, s),
                      "broadcast");
      },
      copy_back(t, buf));
}

intrusive_ptr<Work> ProcessGroupNCCL::reduce(std::vector<Tensor>& tensors, const ReduceOptions& opts) {
  check_cuda_tensor("reduce", tensors, impl_->device);
  arg_checks::check_root("ProcessGroupNCCL", "reduce", opts.rootRank, getSize());
  Tensor t = tensors[0], buf = contiguous_of(t);
  auto dtype = nccl_dtype(t.scalar_type(), "reduce");
  auto op = nccl_op(opts.reduceOp, t.scalar_type(), "reduce");
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::REDUCE, "reduce", {t},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclReduce(buf.data_ptr(), buf.data_ptr(), buf.numel(), dtype, op,
                                 static_cast<int>(opts.rootRank), comm, s),
                      "reduce");
      },
      copy_back(t, buf));
}

intrusive_ptr<Work> ProcessGroupNCCL::allgather(std::vector<std::vector<Tensor>>& outputTensors,
                                                std::vector<Tensor>& inputTensors, const AllgatherOptions& opts) {
  check_cuda_tensor("allgather", inputTensors, impl_->device);
  DG_CHECK(outputTensors.size() == 1 && static_cast<int>(outputTensors[0].size()) == getSize(),
           "ProcessGroupNCCL::allgather: expected one list of ", getSize(), " output tensors");
  Tensor in = contiguous_of(inputTensors[0]);
  for (const auto& o : outputTensors[0])
    DG_CHECK(o.is_cuda() && o.numel() == in.numel() && o.scalar_type() == in.scalar_type(),
             "ProcessGroupNCCL::allgather: expected every output to be a CUDA tensor of ", in.numel(), " ",
             in.scalar_type(), " elements");
  Tensor flat = dg::empty({getSize() * in.numel()}, dg::TensorOptions().dtype(in.scalar_type()).device(in.device()));
  auto comm = impl_->comm;
  std::vector<Tensor> outs = outputTensors[0];
  const int size = getSize();
  return run_nccl(
      *impl_, getRank(), OpType::ALLGATHER, "allgather", outs,
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclAllGather(in.data_ptr(), flat.data_ptr(), in.nbytes(), ncclUint8, comm, s), "allgather");
      },
      [outs, flat, in, size] {
        NoGradGuard g;
        for (int r = 0; r < size; ++r) outs[r].copy_(flat.narrow(0, r * in.numel(), in.numel()).view(outs[r].sizes()));
      });
}

intrusive_ptr<Work> ProcessGroupNCCL::reduce_scatter(std::vector<Tensor>& outputTensors,
                                                     std::vector<std::vector<Tensor>>& inputTensors,
                                                     const ReduceScatterOptions& opts) {
  check_cuda_tensor("reduce_scatter", outputTensors, impl_->device);
  DG_CHECK(inputTensors.size() == 1 && static_cast<int>(inputTensors[0].size()) == getSize(),
           "ProcessGroupNCCL::reduce_scatter: expected one list of ", getSize(), " input tensors");
  Tensor out = outputTensors[0], buf = contiguous_of(out);
  std::vector<Tensor> flat;
  {
    NoGradGuard g;
    for (const auto& i : inputTensors[0]) {
      DG_CHECK(i.is_cuda() && i.numel() == out.numel() && i.scalar_type() == out.scalar_type(),
               "ProcessGroupNCCL::reduce_scatter: expected every input to be a CUDA tensor of ", out.numel(), " ",
               out.scalar_type(), " elements");
      flat.push_back(i.reshape({-1}));
    }
  }
  Tensor in = dg::cat(flat);
  auto dtype = nccl_dtype(out.scalar_type(), "reduce_scatter");
  auto op = nccl_op(opts.reduceOp, out.scalar_type(), "reduce_scatter");
  auto comm = impl_->comm;
  auto after = copy_back(out, buf);
  return run_nccl(
      *impl_, getRank(), OpType::REDUCE_SCATTER, "reduce_scatter", {out},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclReduceScatter(in.data_ptr(), buf.data_ptr(), buf.numel(), dtype, op, comm, s),
                      "reduce_scatter");
      },
      [after, in] {  // keeps the concatenated input alive until the operation finished
        if (after) after();
      });
}

intrusive_ptr<Work> ProcessGroupNCCL::send(std::vector<Tensor>& tensors, int dstRank, int tag) {
  check_cuda_tensor("send", tensors, impl_->device);
  DG_CHECK(dstRank >= 0 && dstRank < getSize() && dstRank != getRank(), "ProcessGroupNCCL::send: expected a ",
           "destination rank in [0, ", getSize(), ") other than this rank, got ", dstRank);
  Tensor buf = contiguous_of(tensors[0]);
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::SEND, "send", {tensors[0]},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclSend(buf.data_ptr(), buf.nbytes(), ncclUint8, dstRank, comm, s), "send");
      },
      [buf] {});
}

intrusive_ptr<Work> ProcessGroupNCCL::recv(std::vector<Tensor>& tensors, int srcRank, int tag) {
  check_cuda_tensor("recv", tensors, impl_->device);
  DG_CHECK(srcRank >= 0 && srcRank < getSize() && srcRank != getRank(), "ProcessGroupNCCL::recv: expected a ",
           "source rank in [0, ", getSize(), ") other than this rank, got ", srcRank);
  Tensor t = tensors[0], buf = contiguous_of(t);
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::RECV, "recv", {t},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclRecv(buf.data_ptr(), buf.nbytes(), ncclUint8, srcRank, comm, s), "recv");
      },
      copy_back(t, buf));
}

intrusive_ptr<Work> ProcessGroupNCCL::barrier(const BarrierOptions& opts) {
  Tensor one = dg::ones({1}, dg::TensorOptions().dtype(kFloat32).device(Device(DeviceType::CUDA, impl_->device)));
  auto comm = impl_->comm;
  return run_nccl(
      *impl_, getRank(), OpType::BARRIER, "barrier", {},
      [&](cudaStream_t s) {
        DG_NCCL_CHECK(ncclAllReduce(one.data_ptr(), one.data_ptr(), 1, ncclFloat32, ncclSum, comm, s), "barrier");
      },
      [one] {});
}

#endif  // DG_WITH_NCCL

}  // namespace dg::distributed
