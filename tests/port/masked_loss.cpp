// A loss with masks, as a LibTorch user writes it: a small linear model,
// padded sequence positions masked out of a cross-entropy, an L2 penalty on
// the kept weights, one backward, the gradients printed.
#include <torch/torch.h>

#include "show.h"

using namespace torch::indexing;

int main() {
  torch::Tensor x = torch::linspace(-1, 1, 24).reshape({2, 3, 4});  // batch 2, length 3, features 4
  torch::Tensor w = (torch::arange(20, torch::kFloat32).reshape({4, 5}) / 10 - 1).requires_grad_();
  torch::Tensor b = torch::zeros({5}).requires_grad_();
  torch::Tensor target = torch::tensor({{1, 4, 0}, {2, 2, 3}}, torch::kLong);
  torch::Tensor lengths = torch::tensor({3, 2}, torch::kLong);
  torch::Tensor pos = torch::arange(3).unsqueeze(0).expand({2, 3});
  torch::Tensor valid = pos < lengths.unsqueeze(1);
  torch::Tensor logits = torch::matmul(x, w) + b;  // [2, 3, 5]
  torch::Tensor flat = logits.index({valid});      // [5, 5]
  torch::Tensor loss = torch::cross_entropy_loss(flat, target.index({valid}), {}, torch::Reduction::Mean);
  torch::Tensor per = torch::nll_loss(torch::log_softmax(flat, 1), target.index({valid}), {}, torch::Reduction::None);
  torch::Tensor masked_w = w.masked_fill(w.abs() < 0.25, 0.0);
  torch::Tensor total = loss + 0.01 * (masked_w * masked_w).sum() + torch::mse_loss(per, torch::zeros_like(per));
  show("loss", loss);
  show("per", per);
  show("total", total);
  total.backward();
  show("w.grad", w.grad());
  show("b.grad", b.grad());
  show("all_finite", torch::isfinite(w.grad()).all());
  return 0;
}
