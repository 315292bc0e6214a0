#pragma once
// The MNIST dataset (and Fashion-MNIST, which has the same files), as
// LibTorch's torch::data::datasets::MNIST: images float32 [N, 1, 28, 28] in
// [0, 1], targets int64 [N].
//
// `root` holds the IDX files `train-images-idx3-ubyte`,
// `train-labels-idx1-ubyte` (Mode::kTrain, 60000 examples) and
// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (Mode::kTest, 10000).
// Where a file is missing its gzip'ed copy `<name>.gz` is read instead (the
// form the datasets are distributed in; Debian's dataset-fashion-mnist
// installs them under /usr/share/datasets/fashion-mnist). A missing, foreign,
// truncated or inconsistent file gives a dg::Error naming the file.
#include <string>

#include "dynagrad/data/datasets/base.h"

namespace dg::data::datasets {

class MNIST : public Dataset<MNIST> {
 public:
  enum class Mode { kTrain, kTest };

  explicit MNIST(const std::string& root, Mode mode = Mode::kTrain);

  Example<> get(size_t index) override;
  std::optional<size_t> size() const override;
  bool is_train() const noexcept;
  const Tensor& images() const;
  const Tensor& targets() const;

 private:
  Tensor images_, targets_;
};

}  // namespace dg::data::datasets
