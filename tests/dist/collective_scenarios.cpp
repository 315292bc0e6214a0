// The collectives of ProcessGroupGloo on every dtype, contiguous and not,
// checked against the values computed in one process (tests/dist/helpers.h).
#include "dist/helpers.h"

namespace c10d = dg::distributed;
using dg_dist::check_close;
using dg_dist::dist_check;
using dg_dist::rank_input;

namespace {
std::chrono::milliseconds test_timeout() { return std::chrono::seconds(20); }
std::shared_ptr<c10d::ProcessGroup> init() { return c10d::init_process_group("gloo", test_timeout()); }
std::string label(const char* what, dg::ScalarType dt, bool nc, const char* extra = "") {
  return dg::detail::str(what, extra, " ", dt, nc ? " non-contiguous" : "");
}
}  // namespace

DG_DIST_SCENARIO("allreduce") {
  auto pg = init();
  dist_check(pg->getRank() == rank && pg->getSize() == world_size, "rank/size");
  for (auto dt : dg_dist::all_dtypes()) {
    for (auto op : dg_dist::ops_for(dt)) {
      for (bool nc : {false, true}) {
        std::vector<dg::Tensor> t{rank_input(rank, dt, 3, 5, nc)};
        auto work = pg->allreduce(t, c10d::AllreduceOptions{op});
        dist_check(work->wait(), "wait");
        dist_check(work->isCompleted() && work->isSuccess() && work->is_completed(), "completed");
        check_close(t[0], dg_dist::expected_reduce(op, dt, world_size, 3, 5), dt,
                    label("allreduce ", dt, nc, c10d::reduce_op_name(op).c_str()));
        dist_check(work->result().size() == 1 && work->result()[0].is_same(t[0]), "result()");
      }
    }
  }
  // Several in flight at once complete in order with the right values.
  std::vector<std::vector<dg::Tensor>> many;
  std::vector<dg::intrusive_ptr<c10d::Work>> works;
  for (int k = 0; k < 8; ++k) {
    many.push_back({rank_input(rank, dg::kFloat32, 64, 33, k % 2 == 1)});
    works.push_back(pg->allreduce(many.back()));
  }
  for (int k = 0; k < 8; ++k) {
    works[k]->wait();
    check_close(many[k][0], dg_dist::expected_reduce(c10d::ReduceOp::SUM, dg::kFloat32, world_size, 64, 33),
                dg::kFloat32, "queued allreduce");
  }
  // Coalesced: several tensors, one dtype.
  std::vector<dg::Tensor> co{rank_input(rank, dg::kFloat64, 2, 3, false), rank_input(rank, dg::kFloat64, 4, 2, true)};
  pg->allreduce_coalesced(co)->wait();
  check_close(co[0], dg_dist::expected_reduce(c10d::ReduceOp::SUM, dg::kFloat64, world_size, 2, 3), dg::kFloat64,
              "allreduce_coalesced 0");
  check_close(co[1], dg_dist::expected_reduce(c10d::ReduceOp::SUM, dg::kFloat64, world_size, 4, 2), dg::kFloat64,
              "allreduce_coalesced 1");
  c10d::destroy_process_group();
}

DG_DIST_SCENARIO("broadcast_reduce") {
  auto pg = init();
  for (auto dt : dg_dist::all_dtypes()) {
    for (bool nc : {false, true}) {
      for (int root = 0; root < world_size; ++root) {
        std::vector<dg::Tensor> t{rank_input(rank, dt, 4, 3, nc)};
        c10d::BroadcastOptions bo;
        bo.rootRank = root;
        pg->broadcast(t, bo)->wait();
        check_close(t[0], rank_input(root, dt, 4, 3, false), dt, label("broadcast", dt, nc));
      }
      const int root = world_size - 1;
      for (auto op : dg_dist::ops_for(dt)) {
        std::vector<dg::Tensor> t{rank_input(rank, dt, 4, 3, nc)};
        c10d::ReduceOptions ro;
        ro.rootRank = root;
        ro.reduceOp = op;
        pg->reduce(t, ro)->wait();
        if (rank == root)
          check_close(t[0], dg_dist::expected_reduce(op, dt, world_size, 4, 3), dt,
                      label("reduce ", dt, nc, c10d::reduce_op_name(op).c_str()));
      }
    }
  }
  c10d::destroy_process_group();
}

DG_DIST_SCENARIO("gather_scatter") {
  auto pg = init();
  for (auto dt : dg_dist::all_dtypes()) {
    for (bool nc : {false, true}) {
      // allgather: every rank's input, in rank order.
      std::vector<dg::Tensor> in{rank_input(rank, dt, 3, 2, nc)};
      std::vector<std::vector<dg::Tensor>> out(1);
      for (int r = 0; r < world_size; ++r)
        out[0].push_back(nc ? dg::empty({2, 3}, dg::TensorOptions().dtype(dt)).t()
                            : dg::empty({3, 2}, dg::TensorOptions().dtype(dt)));
      pg->allgather(out, in)->wait();
      for (int r = 0; r < world_size; ++r)
        check_close(out[0][r], rank_input(r, dt, 3, 2, false), dt, label("allgather", dt, nc));
      // _allgather_base: one flat buffer.
      dg::Tensor flat = dg::empty({world_size * 3, 2}, dg::TensorOptions().dtype(dt));
      pg->_allgather_base(flat, in[0])->wait();
      for (int r = 0; r < world_size; ++r)
        check_close(flat.narrow(0, r * 3, 3), rank_input(r, dt, 3, 2, false), dt, label("_allgather_base", dt, nc));
      // gather to the last rank.
      const int root = world_size - 1;
      std::vector<std::vector<dg::Tensor>> gout;
      if (rank == root) {
        gout.resize(1);
        for (int r = 0; r < world_size; ++r) gout[0].push_back(dg::zeros({3, 2}, dg::TensorOptions().dtype(dt)));
      }
      c10d::GatherOptions go;
      go.rootRank = root;
      pg->gather(gout, in, go)->wait();
      if (rank == root)
        for (int r = 0; r < world_size; ++r)
          check_close(gout[0][r], rank_input(r, dt, 3, 2, false), dt, label("gather", dt, nc));
      // scatter from rank 0: rank r receives input_for(r + 7).
      std::vector<dg::Tensor> sout{nc ? dg::zeros({2, 3}, dg::TensorOptions().dtype(dt)).t()
                                      : dg::zeros({3, 2}, dg::TensorOptions().dtype(dt))};
      std::vector<std::vector<dg::Tensor>> sin;
      if (rank == 0) {
        sin.resize(1);
        for (int r = 0; r < world_size; ++r) sin[0].push_back(rank_input(r + 7, dt, 3, 2, nc));
      }
      pg->scatter(sout, sin)->wait();
      check_close(sout[0], rank_input(rank + 7, dt, 3, 2, false), dt, label("scatter", dt, nc));
      // reduce_scatter: rank r gets the reduction of every rank's r-th input.
      for (auto op : dg_dist::ops_for(dt)) {
        // Slot s of rank q holds rank_input(q + 5 s): rank r gets the
        // reduction over q of rank_input(q + 5 r).
        std::vector<std::vector<dg::Tensor>> rin(1);
        for (int slot = 0; slot < world_size; ++slot) rin[0].push_back(rank_input(rank + 5 * slot, dt, 3, 2, nc));
        std::vector<dg::Tensor> rout{dg::zeros({3, 2}, dg::TensorOptions().dtype(dt))};
        c10d::ReduceScatterOptions rso;
        rso.reduceOp = op;
        pg->reduce_scatter(rout, rin, rso)->wait();
        check_close(rout[0], dg_dist::expected_reduce(op, dt, world_size, 3, 2, 5 * rank), dt,
                    label("reduce_scatter ", dt, nc, c10d::reduce_op_name(op).c_str()));
      }
    }
  }
  c10d::destroy_process_group();
}

DG_DIST_SCENARIO("p2p_barrier") {
  auto pg = init();
  // A ring: each rank sends to the next and receives from the previous.
  for (auto dt : dg_dist::all_dtypes()) {
    for (bool nc : {false, true}) {
      std::vector<dg::Tensor> s{rank_input(rank, dt, 5, 4, nc)};
      std::vector<dg::Tensor> r{nc ? dg::zeros({4, 5}, dg::TensorOptions().dtype(dt)).t()
                                   : dg::zeros({5, 4}, dg::TensorOptions().dtype(dt))};
      const int next = (rank + 1) % world_size, prev = (rank + world_size - 1) % world_size;
      auto sw = pg->send(s, next, 3);
      auto rw = pg->recv(r, prev, 3);
      rw->wait();
      sw->wait();
      check_close(r[0], rank_input(prev, dt, 5, 4, false), dt, label("send/recv", dt, nc));
    }
  }
  // recvAnysource on rank 0 from whoever sends first (every other rank, tag 9).
  if (rank == 0) {
    std::vector<int> seen;
    for (int k = 1; k < world_size; ++k) {
      std::vector<dg::Tensor> r{dg::zeros({2}, dg::TensorOptions().dtype(dg::kInt64))};
      auto w = pg->recvAnysource(r, 9);
      w->wait();
      const int src = w->sourceRank();
      dist_check(src >= 1 && src < world_size, "recvAnysource source ", src);
      dist_check(r[0][0].item<int64_t>() == src * 10, "recvAnysource value from ", src);
      seen.push_back(src);
    }
  } else {
    std::vector<dg::Tensor> s{dg::full({2}, rank * 10, dg::TensorOptions().dtype(dg::kInt64))};
    pg->send(s, 0, 9)->wait();
  }
  for (int k = 0; k < 3; ++k) pg->barrier()->wait();
  c10d::destroy_process_group();
}
