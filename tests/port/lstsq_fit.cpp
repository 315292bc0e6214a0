// A least-squares fit, as a LibTorch user writes it: a cubic polynomial fitted
// to noisy-free samples with torch::linalg::lstsq, the same fit through the
// normal equations (cholesky + cholesky_solve, linalg::solve), a batch of
// fits, determinants, and the gradient of the fit's error w.r.t. the data.
#include <torch/torch.h>

#include "show.h"

int main() {
  torch::Tensor x = torch::linspace(-1, 1, 9, torch::kDouble);
  torch::Tensor y = 0.5 - x + 2 * x * x + 0.25 * x * x * x + 0.01 * torch::sin(7 * x);
  // Vandermonde design matrix [1, x, x^2, x^3].
  torch::Tensor A = torch::stack({torch::ones_like(x), x, x * x, x * x * x}, 1);  // [9, 4]
  auto fit = torch::linalg::lstsq(A, y.unsqueeze(1), {}, {});
  torch::Tensor coef = std::get<0>(fit);
  show("coef", coef);
  show("rank", std::get<2>(fit));
  auto gels = torch::linalg::lstsq(A, y.unsqueeze(1), {}, "gels");
  show("coef_gels", std::get<0>(gels));
  show("residuals_gels", std::get<1>(gels));

  // The normal equations: (AᵀA) c = Aᵀy, by Cholesky and by a general solve.
  torch::Tensor AtA = torch::matmul(A.t(), A);
  torch::Tensor Aty = torch::matmul(A.t(), y.unsqueeze(1));
  torch::Tensor L = torch::linalg::cholesky(AtA);
  show("L", L);
  show("coef_chol", torch::cholesky_solve(Aty, L));
  show("coef_solve", torch::linalg::solve(AtA, Aty, true));
  show("coef_tri", torch::linalg::solve_triangular(L.t(), torch::linalg::solve_triangular(L, Aty, false, true, false),
                                                   true, true, false));
  show("det_AtA", torch::linalg::det(AtA));
  auto sl = torch::linalg::slogdet(AtA);
  show("slogdet", torch::stack({std::get<0>(sl), std::get<1>(sl)}));
  show("inv_AtA", torch::linalg::inv(AtA));

  // A batch of fits: three shifted targets in float32.
  torch::Tensor Y = torch::stack({y, y + 1, 2 * y}).to(torch::kFloat).unsqueeze(2);  // [3, 9, 1]
  torch::Tensor Ab = A.to(torch::kFloat).unsqueeze(0).expand({3, 9, 4});
  show("coef_batch", std::get<0>(torch::linalg::lstsq(Ab, Y, {}, {})));

  // The gradient of the fitted curve's squared error w.r.t. the targets.
  torch::Tensor yg = y.clone().requires_grad_();
  torch::Tensor c = std::get<0>(torch::linalg::lstsq(A, yg.unsqueeze(1), {}, {}));
  torch::Tensor err = (torch::matmul(A, c).squeeze(1) - yg).pow(2).sum();
  err.backward();
  show("err", err);
  show("y.grad", yg.grad());
  return 0;
}
