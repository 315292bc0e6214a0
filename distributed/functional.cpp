// Differentiable collectives as custom autograd Functions. The group travels
// from forward to backward as an id in ctx->saved_data (an IValue holds no
// group): a registry of weak references by id.
#include "dynagrad/distributed/functional.h"

#include <map>
#include <mutex>

#include "dynagrad/distributed/init.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"
#include "dynagrad/function.h"

namespace dg::distributed::functional {

namespace {
std::mutex g_registry_mutex;
std::map<int64_t, std::weak_ptr<ProcessGroup>>& registry() {
  static std::map<int64_t, std::weak_ptr<ProcessGroup>> m;
  return m;
}

int64_t group_id(const std::shared_ptr<ProcessGroup>& pg) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  const auto id = static_cast<int64_t>(reinterpret_cast<intptr_t>(pg.get()));
  for (auto it = registry().begin(); it != registry().end();)  // drop the dead
    it = it->second.expired() ? registry().erase(it) : std::next(it);
  registry()[id] = pg;
  return id;
}

std::shared_ptr<ProcessGroup> group_of(int64_t id, const char* what) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  auto it = registry().find(id);
  auto pg = it == registry().end() ? nullptr : it->second.lock();
  DG_CHECK(pg, "distributed::functional::", what, ": the process group of the forward was destroyed before backward");
  return pg;
}

std::shared_ptr<ProcessGroup> group_or_default(const std::shared_ptr<ProcessGroup>& group) {
  return group ? group : default_group();
}

Tensor all_reduce_copy(const Tensor& t, ReduceOp op, ProcessGroup& pg) {
  std::vector<Tensor> v{t.contiguous().clone()};
  pg.allreduce(v, AllreduceOptions{op})->wait();
  return v[0];
}

struct AllReduceFn : autograd::Function<AllReduceFn> {
  static Tensor forward(autograd::AutogradContext* ctx, Tensor x, int64_t op, int64_t group) {
    ctx->saved_data["op"] = op;
    ctx->saved_data["group"] = group;
    return all_reduce_copy(x, static_cast<ReduceOp::RedOpType>(op), *group_of(group, "all_reduce"));
  }
  static autograd::variable_list backward(autograd::AutogradContext* ctx, autograd::variable_list grads) {
    auto op = static_cast<ReduceOp::RedOpType>(ctx->saved_data["op"].toInt());
    auto pg = group_of(ctx->saved_data["group"].toInt(), "all_reduce");
    // y = sum_k x_k on every rank: dL/dx_r = sum_k dL_k/dy (every rank's
    // loss depends on y), the all-reduce of the gradients; AVG scales by 1/size.
    return {all_reduce_copy(grads[0], op, *pg), Tensor(), Tensor()};
  }
};

struct AllGatherFn : autograd::Function<AllGatherFn> {
  static autograd::variable_list forward(autograd::AutogradContext* ctx, Tensor x, int64_t group) {
    ctx->saved_data["group"] = group;
    auto pg = group_of(group, "all_gather");
    Tensor in = x.contiguous();
    std::vector<std::vector<Tensor>> out(1);
    for (int r = 0; r < pg->getSize(); ++r) out[0].push_back(dg::empty_like(in));
    std::vector<Tensor> ins{in};
    pg->allgather(out, ins)->wait();
    return out[0];
  }
  static autograd::variable_list backward(autograd::AutogradContext* ctx, autograd::variable_list grads) {
    auto pg = group_of(ctx->saved_data["group"].toInt(), "all_gather");
    // Output r on every rank is rank r's input: rank r's gradient is the sum
    // over ranks of their gradient of output r (a reduce-scatter).
    std::vector<std::vector<Tensor>> in(1);
    for (auto& g : grads) in[0].push_back(g.contiguous());
    std::vector<Tensor> out{dg::empty_like(in[0][0])};
    pg->reduce_scatter(out, in)->wait();
    return {out[0], Tensor()};
  }
};
}  // namespace

Tensor all_reduce(const Tensor& tensor, ReduceOp op, const std::shared_ptr<ProcessGroup>& group) {
  auto pg = group_or_default(group);
  DG_CHECK(tensor.defined(), "distributed::functional::all_reduce: expected a defined tensor, got an undefined one");
  return AllReduceFn::apply(tensor, static_cast<int64_t>(op.op_), group_id(pg));
}

std::vector<Tensor> all_gather(const Tensor& tensor, const std::shared_ptr<ProcessGroup>& group) {
  auto pg = group_or_default(group);
  DG_CHECK(tensor.defined(), "distributed::functional::all_gather: expected a defined tensor, got an undefined one");
  return AllGatherFn::apply(tensor, group_id(pg));
}

}  // namespace dg::distributed::functional
