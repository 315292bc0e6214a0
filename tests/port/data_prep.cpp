// Indexing-heavy data preparation, as a LibTorch user writes it: select
// columns and rows with slices, masks and index tensors, clean bad values in
// place, standardise, and build one-hot targets.
#include <torch/torch.h>

#include <cmath>

#include "show.h"

using namespace torch::indexing;

int main() {
  torch::Tensor raw = torch::arange(40, torch::kFloat32).reshape({8, 5}) / 7.0;
  raw.index_put_({1, 2}, NAN);
  raw.index_put_({Slice(5, None), 4}, -1.0);
  // Columns 0..3 are features, column 4 the label (-1: unlabelled).
  torch::Tensor x = raw.index({Slice(), Slice(None, 4)}).clone();
  torch::Tensor label = raw.index({Slice(), 4});
  torch::Tensor bad = torch::isnan(x);
  show("bad_rows", bad.any(1));
  x.index_put_({bad}, 0.0);
  torch::Tensor keep = label >= 0;
  torch::Tensor xs = x.index({keep});
  show("kept", xs);
  torch::Tensor mean = xs.mean(0), std = xs.std(0);
  torch::Tensor z = (xs - mean) / std;
  show("z", z);
  // Every other kept row, columns 1 and 3, reversed rows by an index tensor.
  torch::Tensor rows = torch::arange(xs.size(0) - 1, -1, -2);
  show("pick", z.index({rows, Slice(1, None, 2)}));
  show("corner", z.index({Ellipsis, -1}).index({Slice(None, 2)}));
  show("unsq", z.index({None, 0, Slice(1, 3)}));
  // Integer labels from a floating column, then a one-hot matrix.
  torch::Tensor cls = (label.index({keep}) * 3).floor().to(torch::kLong) % 4;
  torch::Tensor onehot = torch::zeros({cls.size(0), 4});
  onehot.index_put_({torch::arange(cls.size(0)), cls}, 1.0);
  show("onehot", onehot);
  show("counts", onehot.sum(0));
  // Accumulate per-class feature sums with a repeated-index put.
  torch::Tensor sums = torch::zeros({4, 4});
  sums.index_put_({cls}, xs, /*accumulate=*/true);
  show("class_sums", sums);
  show("compare", (z > 0).logical_and(z < 1).sum(1));
  return 0;
}
