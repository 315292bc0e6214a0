// A top-k evaluation, as a LibTorch user writes it: scores for a batch,
// top-5 and top-1 accuracy, the confusion counts of the top-1 guesses, the
// sorted confidence and the rank of each true class.
#include <torch/torch.h>

#include "show.h"

int main() {
  const int64_t n = 12, classes = 7;
  torch::Tensor logits = torch::sin(torch::arange(n * classes, torch::kFloat32).reshape({n, classes}) * 1.7) * 3;
  torch::Tensor target = torch::arange(n, torch::kLong) % classes;
  torch::Tensor probs = torch::softmax(logits, 1);
  auto top = probs.topk(5, 1);
  torch::Tensor top_p = std::get<0>(top), top_i = std::get<1>(top);
  show("top_p", top_p);
  show("top_i", top_i);
  torch::Tensor hit5 = (top_i == target.unsqueeze(1)).any(1);
  torch::Tensor hit1 = top_i.select(1, 0) == target;
  show("top5_acc", hit5.to(torch::kFloat32).mean());
  show("top1_acc", hit1.to(torch::kFloat32).mean());
  torch::Tensor confusion = torch::zeros({classes, classes});
  confusion.index_put_({target, top_i.select(1, 0)}, torch::ones({n}), /*accumulate=*/true);
  show("confusion_diag", confusion.diagonal());
  auto sorted = probs.max(1);
  show("confidence", std::get<0>(torch::sort(std::get<0>(sorted), 0, /*descending=*/true)));
  torch::Tensor order = probs.argsort(1, /*descending=*/true);
  torch::Tensor rank = (order == target.unsqueeze(1)).to(torch::kLong).argmax(1);
  show("rank", rank);
  show("mean_rank", rank.to(torch::kFloat32).mean());
  return 0;
}
