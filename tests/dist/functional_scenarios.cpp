// Differentiable collectives on every rank, against the same loss computed
// in one process with every rank's inputs (ordinary autograd, no collective).
#include "dist/helpers.h"

namespace c10d = dg::distributed;
using dg_dist::dist_check;

namespace {
// Rank r's leaf and its loss weights; deterministic in r.
dg::Tensor leaf(int r) { return (dg::arange(6, dg::TensorOptions().dtype(dg::kFloat64)) * 0.25 + r).view({2, 3}); }
dg::Tensor weight(int r, int k) {
  return dg::arange(6, dg::TensorOptions().dtype(dg::kFloat64)).view({2, 3}) * (r + 1) - k;
}
}  // namespace

DG_DIST_SCENARIO("functional") {
  auto pg = c10d::init_process_group("gloo", std::chrono::seconds(20));
  // all_reduce SUM and AVG: loss_r = sum(w_r * y^2), y = reduction of the x's.
  for (auto op : {c10d::ReduceOp::SUM, c10d::ReduceOp::AVG}) {
    auto x = leaf(rank).requires_grad_(true);
    auto y = c10d::functional::all_reduce(x, op);
    (weight(rank, 0) * y * y).sum().backward();
    // One process: every rank's x as leaves, the sum of every rank's loss.
    std::vector<dg::Tensor> xs;
    for (int r = 0; r < world_size; ++r) xs.push_back(leaf(r).requires_grad_(true));
    dg::Tensor ys = xs[0];
    for (int r = 1; r < world_size; ++r) ys = ys + xs[r];
    if (op == c10d::ReduceOp::AVG) ys = ys / world_size;
    dg::Tensor total;
    for (int r = 0; r < world_size; ++r) {
      auto l = (weight(r, 0) * ys * ys).sum();
      total = r == 0 ? l : total + l;
    }
    total.backward();
    dist_check(dg::allclose(y.detach(), ys.detach()), "all_reduce forward");
    dist_check(dg::allclose(x.grad(), xs[rank].grad(), 1e-12, 1e-12), "all_reduce ", c10d::reduce_op_name(op),
               " backward: got ", x.grad(), " expected ", xs[rank].grad());
    dist_check(!x.is_same(y), "all_reduce returns a new tensor");
  }
  // all_gather: loss_r = sum_k sum(w_{r,k} * out_k^3).
  {
    auto x = leaf(rank).requires_grad_(true);
    auto outs = c10d::functional::all_gather(x);
    dist_check(static_cast<int>(outs.size()) == world_size, "all_gather size");
    dg::Tensor loss;
    for (int k = 0; k < world_size; ++k) {
      auto l = (weight(rank, k) * outs[k] * outs[k] * outs[k]).sum();
      loss = k == 0 ? l : loss + l;
    }
    loss.backward();
    std::vector<dg::Tensor> xs;
    for (int r = 0; r < world_size; ++r) xs.push_back(leaf(r).requires_grad_(true));
    dg::Tensor total;
    for (int r = 0; r < world_size; ++r)
      for (int k = 0; k < world_size; ++k) {
        auto l = (weight(r, k) * xs[k] * xs[k] * xs[k]).sum();
        total = total.defined() ? total + l : l;
      }
    total.backward();
    for (int k = 0; k < world_size; ++k)
      dist_check(dg::allclose(outs[k].detach(), xs[k].detach()), "all_gather forward");
    dist_check(dg::allclose(x.grad(), xs[rank].grad(), 1e-12, 1e-12), "all_gather backward: got ", x.grad(),
               " expected ", xs[rank].grad());
  }
  c10d::destroy_process_group();
}
