#pragma once
// How a loss reduces its elementwise values, as the integer argument of the
// ATen-level loss functions (`dg::nll_loss(x, t, {}, dg::Reduction::Sum)`),
// spelled as LibTorch's at::Reduction.
namespace dg::Reduction {
enum Reduction { None, Mean, Sum, END };
}  // namespace dg::Reduction
