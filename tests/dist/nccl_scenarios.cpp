// ProcessGroupNCCL on CUDA tensors (one device per rank when there are
// several, else every rank on device 0 — NCCL refuses that, so the Catch
// test runs 1 rank then). Values against the ones computed on the CPU.
#include "dist/helpers.h"

namespace c10d = dg::distributed;
using dg_dist::check_close;
using dg_dist::dist_check;
using dg_dist::rank_input;

DG_DIST_SCENARIO("nccl_collectives") {
  dg::cuda::set_device(rank % dg::cuda::device_count());
  auto pg = c10d::init_process_group("nccl", std::chrono::seconds(60));
  const dg::Device dev(dg::DeviceType::CUDA, static_cast<int8_t>(rank % dg::cuda::device_count()));
  for (auto dt : {dg::kFloat32, dg::kFloat64, dg::ScalarType::Float16, dg::kInt64, dg::kInt32}) {
    for (auto op : {c10d::ReduceOp::SUM, c10d::ReduceOp::MIN, c10d::ReduceOp::MAX, c10d::ReduceOp::PRODUCT}) {
      for (bool nc : {false, true}) {
        std::vector<dg::Tensor> t{rank_input(rank, dt, 3, 5, false).to(dev)};
        if (nc) t[0] = t[0].t().contiguous().t();
        pg->allreduce(t, c10d::AllreduceOptions{op})->wait();
        check_close(t[0].cpu(), dg_dist::expected_reduce(op, dt, world_size, 3, 5), dt, "nccl allreduce");
      }
    }
    std::vector<dg::Tensor> b{rank_input(rank, dt, 4, 2, false).to(dev)};
    pg->broadcast(b)->wait();
    check_close(b[0].cpu(), rank_input(0, dt, 4, 2, false), dt, "nccl broadcast");
    std::vector<dg::Tensor> in{rank_input(rank, dt, 3, 2, false).to(dev)};
    std::vector<std::vector<dg::Tensor>> out(1);
    for (int r = 0; r < world_size; ++r) out[0].push_back(dg::empty({3, 2}, dg::TensorOptions().dtype(dt).device(dev)));
    pg->allgather(out, in)->wait();
    for (int r = 0; r < world_size; ++r)
      check_close(out[0][r].cpu(), rank_input(r, dt, 3, 2, false), dt, "nccl allgather");
    std::vector<std::vector<dg::Tensor>> rin(1);
    for (int s = 0; s < world_size; ++s) rin[0].push_back(rank_input(rank + 5 * s, dt, 3, 2, false).to(dev));
    std::vector<dg::Tensor> rout{dg::zeros({3, 2}, dg::TensorOptions().dtype(dt).device(dev))};
    pg->reduce_scatter(rout, rin)->wait();
    check_close(rout[0].cpu(), dg_dist::expected_reduce(c10d::ReduceOp::SUM, dt, world_size, 3, 2, 5 * rank), dt,
                "nccl reduce_scatter");
  }
  std::vector<dg::Tensor> avg{dg::full({8}, rank + 1.0, dg::TensorOptions().device(dev))};
  pg->allreduce(avg, c10d::AllreduceOptions{c10d::ReduceOp::AVG})->wait();
  dist_check(dg::allclose(avg[0].cpu(), dg::full({8}, (world_size + 1) / 2.0)), "nccl AVG");
  if (world_size > 1) {
    std::vector<dg::Tensor> s{dg::full({16}, rank * 3.0, dg::TensorOptions().device(dev))};
    std::vector<dg::Tensor> r{dg::zeros({16}, dg::TensorOptions().device(dev))};
    const int next = (rank + 1) % world_size, prev = (rank + world_size - 1) % world_size;
    // Even ranks send first; NCCL point-to-point calls block the stream until matched.
    if (rank % 2 == 0) {
      pg->send(s, next, 0)->wait();
      pg->recv(r, prev, 0)->wait();
    } else {
      pg->recv(r, prev, 0)->wait();
      pg->send(s, next, 0)->wait();
    }
    dist_check(dg::allclose(r[0].cpu(), dg::full({16}, prev * 3.0)), "nccl send/recv");
  }
  pg->barrier()->wait();
  c10d::destroy_process_group();
}
