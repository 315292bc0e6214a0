#pragma once
// The default process group, as torch.distributed's init_process_group.
//
//   // torchrun / tools/dgrun style: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//   auto pg = dg::distributed::init_process_group("gloo");
//   std::vector<dg::Tensor> t{x};
//   pg->allreduce(t)->wait();
#include <chrono>
#include <memory>
#include <string>

#include "dynagrad/distributed/process_group.h"
#include "dynagrad/distributed/store.h"

namespace dg::distributed {

// Makes the group of `backend` ("gloo" or "nccl") over `store` and sets it
// as the default group. dg::Error when a default group exists already, for
// an unknown backend, a rank outside [0, world_size) or when the ranks do
// not all arrive within `timeout`.
std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend, int rank, int world_size,
                                                 const intrusive_ptr<Store>& store,
                                                 std::chrono::milliseconds timeout = kProcessGroupDefaultTimeout);
// env://: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the environment
// (LOCAL_RANK is read by local_rank()). Rank 0 hosts a TCPStore on
// MASTER_PORT; the others connect to MASTER_ADDR:MASTER_PORT. dg::Error
// naming the variable when one is missing or malformed.
std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend = "gloo",
                                                 std::chrono::milliseconds timeout = kProcessGroupDefaultTimeout);

bool is_initialized();
// The default group; dg::Error when init_process_group has not run.
std::shared_ptr<ProcessGroup> default_group();
// Drops the default group (its worker finishes queued operations first).
void destroy_process_group();
// The default group's rank and size; dg::Error when not initialized.
int get_rank();
int get_world_size();
// LOCAL_RANK from the environment (0 when unset): which local device to use.
int local_rank();
// The backend's name of the default group ("gloo", "nccl").
std::string get_backend();

}  // namespace dg::distributed
