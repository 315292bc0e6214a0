#pragma once
// The demo's Fashion-MNIST model and data (tools/demo.cpp, and
// tools/demo_ddp.cpp trains the same one data-parallel).
#include <dynagrad/dynagrad.h>

#include <cstdint>

namespace dg_demo {

// Two conv blocks (conv, batch norm, ReLU, max-pool) with dropout, and a linear
// head: the LibTorch program one would write, with torch:: spelled dg::.
struct FashionNetImpl : dg::nn::Module {
  FashionNetImpl()
      : features(dg::nn::Conv2d(dg::nn::Conv2dOptions(1, 32, 3).padding(1)), dg::nn::BatchNorm2d(32), dg::nn::ReLU(),
                 dg::nn::MaxPool2d(2),  //
                 dg::nn::Conv2d(dg::nn::Conv2dOptions(32, 32, 3).padding(1)), dg::nn::BatchNorm2d(32), dg::nn::ReLU(),
                 dg::nn::MaxPool2d(2),  //
                 dg::nn::Dropout2d(0.1), dg::nn::Flatten()),
        head(32 * 7 * 7, 10) {
    register_module("features", features);
    register_module("head", head);
  }
  dg::Tensor forward(const dg::Tensor& x) { return head(features(x)); }
  dg::nn::Sequential features;
  dg::nn::Linear head;
};
DG_MODULE(FashionNet);

inline constexpr const char* kFashionRoot = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST's mean and standard deviation (of the training pixels).
inline auto normalized(dg::data::datasets::MNIST::Mode mode) {
  return dg::data::datasets::MNIST(kFashionRoot, mode)
      .map(dg::data::transforms::Normalize<>(0.2860, 0.3530))
      .map(dg::data::transforms::Stack<>());
}

inline double test_accuracy(FashionNet& model) {
  dg::NoGradGuard no_grad;
  model->eval();
  auto loader = dg::data::make_data_loader(normalized(dg::data::datasets::MNIST::Mode::kTest),
                                           dg::data::DataLoaderOptions().batch_size(1000).workers(2));
  int64_t right = 0, total = 0;
  for (auto& batch : *loader) {
    right += model(batch.data).argmax(1).eq(batch.target).sum().item<int64_t>();
    total += batch.target.size(0);
  }
  model->train();
  return double(right) / double(total);
}

}  // namespace dg_demo
