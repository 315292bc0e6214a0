// The smallest real use of dynagrad: build a graph, run backward, read .grad.
#include <dynagrad/backward_nodes.h>
#include <dynagrad/dynagrad.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  try {
    // y = sum(x * x + 3x) at x = [1, 2, 3]: dy/dx = 2x + 3 = [5, 7, 9].
    auto x = dg::tensor({1.0, 2.0, 3.0}, dg::dtype(dg::kFloat64).requires_grad(true));
    auto y = (x * x + x * 3).sum();
    // The installed node classes: grad_fn is a SumBackward0 that saved self's sizes.
    const auto* sum_node = dynamic_cast<const dg::generated::SumBackward0*>(y.grad_fn().get());
    if (!sum_node || sum_node->saved_values().empty() ||
        sum_node->saved_values()[0].second.toIntList() != std::vector<int64_t>{3}) {
      std::printf("consumer (%s): y.grad_fn() is not a SumBackward0 saving self_sizes [3]\n", DG_CONSUMER_MODE);
      return 1;
    }
    y.backward();
    const auto g = x.grad().contiguous();
    if (g.numel() != 3) {
      std::printf("consumer (%s): x.grad has %lld elements, want 3\n", DG_CONSUMER_MODE, (long long)g.numel());
      return 1;
    }
    const double* gp = g.data_ptr<double>();
    const double want[] = {5, 7, 9};
    bool ok = true;
    for (int i = 0; i < 3; ++i) ok = ok && std::abs(gp[i] - want[i]) < 1e-12;
    std::printf("consumer (%s): y = %g, x.grad = [%g, %g, %g] (want [5, 7, 9])\n", DG_CONSUMER_MODE, y.item<double>(),
                gp[0], gp[1], gp[2]);
    return ok ? 0 : 1;
  } catch (const dg::Error& e) {
    std::fprintf(stderr, "consumer: dynagrad error: %s\n", e.what());
    return 2;
  }
}
