// The random ops that make a new tensor from tensors of parameters
// (bernoulli, normal, multinomial), over the in-place random fills. They
// record no history: their outputs do not depend differentiably on the
// parameters (PyTorch gives these ops zero gradients).
#include <algorithm>
#include <cmath>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "ops/composite.h"

namespace dg::composite {

namespace {
void check_probabilities(const char* op, const Tensor& p) {
  check_floating(op, p, "p");
  for (double v : values(p)) DG_CHECK(v >= 0.0 && v <= 1.0, op, ": expects all probabilities in [0, 1], but found ", v);
}
}  // namespace

Tensor bernoulli(const Tensor& self, std::optional<Generator> generator) {
  check_probabilities("bernoulli", self);
  NoGradGuard no_grad;
  Tensor out = empty_like(self);
  out.bernoulli_(self, generator);
  return out;
}

Tensor bernoulli(const Tensor& self, double p, std::optional<Generator> generator) {
  NoGradGuard no_grad;
  Tensor out = empty_like(self);
  out.bernoulli_(p, generator);
  return out;
}

Tensor normal(const Tensor& mean, double std, std::optional<Generator> generator) {
  check_floating("normal", mean, "mean");
  DG_CHECK(std >= 0.0, "normal: expects std >= 0.0, but found std ", std);
  NoGradGuard no_grad;
  Tensor out = empty_like(mean);
  out.normal_(0, std, generator);
  out.add_(mean);
  return out;
}

Tensor normal(double mean, const Tensor& std, std::optional<Generator> generator) {
  check_floating("normal", std, "std");
  for (double v : values(std)) DG_CHECK(v >= 0.0, "normal: expects all elements of std >= 0.0, but found ", v);
  NoGradGuard no_grad;
  Tensor out = empty_like(std);
  out.normal_(0, 1, generator);
  out.mul_(std).add_(mean);
  return out;
}

Tensor normal(const Tensor& mean, const Tensor& std, std::optional<Generator> generator) {
  check_floating("normal", mean, "mean");
  check_floating("normal", std, "std");
  for (double v : values(std)) DG_CHECK(v >= 0.0, "normal: expects all elements of std >= 0.0, but found ", v);
  NoGradGuard no_grad;
  Tensor out = empty_like(mean + std);  // the broadcast shape and promoted dtype
  out.normal_(0, 1, generator);
  out.mul_(std).add_(mean);
  return out;
}

Tensor multinomial(const Tensor& self, int64_t num_samples, bool replacement, std::optional<Generator> generator) {
  const char* op = "multinomial";
  check_floating(op, self);
  DG_CHECK(self.dim() == 1 || self.dim() == 2, op, ": prob_dist must be 1 or 2 dim, got ", self.dim(), " dims");
  const int64_t cats = self.size(-1), rows = self.dim() == 2 ? self.size(0) : 1;
  DG_CHECK(cats > 0, op, ": number of categories cannot be zero");
  DG_CHECK(num_samples > 0, op, ": cannot sample n_sample <= 0 samples, got ", num_samples);
  DG_CHECK(replacement || num_samples <= cats, op, ": cannot sample n_sample > prob_dist.size(-1) samples without ",
           "replacement (n_sample ", num_samples, ", ", cats, " categories)");
  const std::vector<double> w = values(self);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    int64_t positive = 0;
    for (int64_t c = 0; c < cats; ++c) {
      const double v = w[r * cats + c];
      DG_CHECK(std::isfinite(v) && v >= 0, op, ": probability tensor contains either `inf`, `nan` or element < 0");
      sum += v;
      positive += v > 0;
    }
    DG_CHECK(sum > 0, op, ": invalid multinomial distribution (sum of probabilities <= 0) in row ", r);
    DG_CHECK(replacement || positive >= num_samples, op,
             ": invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)",
             " in row ", r, ": ", positive, " categories of non-zero weight for ", num_samples, " samples");
  }
  // One uniform per sample, from the generator's stream (the same on every
  // device); each picks the category where the running sum of the weights
  // (the remaining ones, without replacement) passes u * total.
  Tensor u = empty({rows, num_samples}, kFloat64);
  u.uniform_(0, 1, generator);
  const double* up = u.data_ptr<double>();
  std::vector<int64_t> picks(static_cast<size_t>(rows * num_samples));
  std::vector<double> row(static_cast<size_t>(cats));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(w.begin() + r * cats, w.begin() + (r + 1) * cats, row.begin());
    for (int64_t s = 0; s < num_samples; ++s) {
      double total = 0;
      for (double v : row) total += v;
      const double target = up[r * num_samples + s] * total;
      int64_t pick = -1;
      double run = 0;
      for (int64_t c = 0; c < cats; ++c) {
        if (row[c] <= 0) continue;
        run += row[c];
        pick = c;
        if (run > target) break;
      }
      picks[r * num_samples + s] = pick;  // the last positive category when rounding leaves run <= target
      if (!replacement) row[pick] = 0;
    }
  }
  Tensor out = tensor(picks, TensorOptions(kInt64).device(self.device()));
  return self.dim() == 2 ? out.view({rows, num_samples}) : out;
}

}  // namespace dg::composite
