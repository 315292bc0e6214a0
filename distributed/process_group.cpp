// The base class's operations: each says which backend lacks it.
#include "dynagrad/distributed/process_group.h"

#include "dynagrad/error.h"

namespace dg::distributed {

ProcessGroup::ProcessGroup(int rank, int size) : rank_(rank), size_(size) {
  DG_CHECK(size >= 1, "ProcessGroup: expected a size >= 1, got ", size);
  DG_CHECK(rank >= 0 && rank < size, "ProcessGroup: expected a rank in [0, ", size, "), got ", rank);
}
ProcessGroup::~ProcessGroup() = default;

namespace {
[[noreturn]] void unsupported(const ProcessGroup& pg, const char* what) {
  throw Error(detail::str("ProcessGroup::", what, ": not supported by the '", pg.getBackendName(), "' backend"));
}
}  // namespace

intrusive_ptr<Work> ProcessGroup::broadcast(std::vector<Tensor>&, const BroadcastOptions&) {
  unsupported(*this, "broadcast");
}
intrusive_ptr<Work> ProcessGroup::allreduce(std::vector<Tensor>&, const AllreduceOptions&) {
  unsupported(*this, "allreduce");
}
intrusive_ptr<Work> ProcessGroup::allreduce_coalesced(std::vector<Tensor>&, const AllreduceCoalescedOptions&) {
  unsupported(*this, "allreduce_coalesced");
}
intrusive_ptr<Work> ProcessGroup::reduce(std::vector<Tensor>&, const ReduceOptions&) { unsupported(*this, "reduce"); }
intrusive_ptr<Work> ProcessGroup::allgather(std::vector<std::vector<Tensor>>&, std::vector<Tensor>&,
                                            const AllgatherOptions&) {
  unsupported(*this, "allgather");
}
intrusive_ptr<Work> ProcessGroup::_allgather_base(Tensor&, Tensor&, const AllgatherOptions&) {
  unsupported(*this, "_allgather_base");
}
intrusive_ptr<Work> ProcessGroup::gather(std::vector<std::vector<Tensor>>&, std::vector<Tensor>&,
                                         const GatherOptions&) {
  unsupported(*this, "gather");
}
intrusive_ptr<Work> ProcessGroup::scatter(std::vector<Tensor>&, std::vector<std::vector<Tensor>>&,
                                          const ScatterOptions&) {
  unsupported(*this, "scatter");
}
intrusive_ptr<Work> ProcessGroup::reduce_scatter(std::vector<Tensor>&, std::vector<std::vector<Tensor>>&,
                                                 const ReduceScatterOptions&) {
  unsupported(*this, "reduce_scatter");
}
intrusive_ptr<Work> ProcessGroup::send(std::vector<Tensor>&, int, int) { unsupported(*this, "send"); }
intrusive_ptr<Work> ProcessGroup::recv(std::vector<Tensor>&, int, int) { unsupported(*this, "recv"); }
intrusive_ptr<Work> ProcessGroup::recvAnysource(std::vector<Tensor>&, int) { unsupported(*this, "recvAnysource"); }
intrusive_ptr<Work> ProcessGroup::barrier(const BarrierOptions&) { unsupported(*this, "barrier"); }

}  // namespace dg::distributed
