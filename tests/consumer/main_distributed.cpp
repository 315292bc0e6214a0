// The distributed half of the consumer check: a program that links only
// dynagrad::distributed (which brings dynagrad::dynagrad; Gloo stays private
// to the library) builds, and a one-rank Gloo group reduces and broadcasts.
#include <dynagrad/distributed.h>
#include <dynagrad/dynagrad.h>

#include <cstdio>

int main() {
  namespace c10d = dg::c10d;
  auto store = dg::make_intrusive<c10d::HashStore>();
  auto pg = std::make_shared<c10d::ProcessGroupGloo>(store, 0, 1);
  std::vector<dg::Tensor> t{dg::arange(6, dg::kFloat64).reshape({2, 3})};
  pg->allreduce(t)->wait();
  const bool reduced = dg::equal(t[0], dg::arange(6, dg::kFloat64).reshape({2, 3}));
  pg->broadcast(t)->wait();
  const bool ok = reduced && pg->getRank() == 0 && pg->getSize() == 1 && pg->getBackendName() == "gloo";
  std::printf("consumer_distributed: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
