// A LibTorch training program, as a user writes it: a module with
// submodules (TORCH_MODULE holder), a data set of tensors through the data
// loader, SGD with momentum and then Adam with a step schedule, a checkpoint
// saved and loaded into a fresh model. Weights are set deterministically
// (the two libraries' random streams differ) and the loader does not shuffle,
// so both libraries must print the same numbers. (Adam's eps is large: with
// the default 1e-8 Adam turns gradients that are zero up to rounding into
// full-size steps, and the two libraries' roundings differ.)
#include <torch/torch.h>

#include <cstdio>

#include "show.h"

struct NetImpl : torch::nn::Module {
  NetImpl()
      : fc1(register_module("fc1", torch::nn::Linear(4, 8))),
        bn(register_module("bn", torch::nn::BatchNorm1d(8))),
        fc2(register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(8, 3).bias(false)))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn(fc1(x)));
    x = torch::nn::functional::dropout(x, torch::nn::functional::DropoutFuncOptions().p(0.0).training(is_training()));
    return fc2(x);
  }
  torch::nn::Linear fc1;
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear fc2;
};
TORCH_MODULE(Net);

// (point, class) pairs: a user-defined dataset, as LibTorch's examples write one.
struct Points : torch::data::datasets::Dataset<Points> {
  Points(torch::Tensor x, torch::Tensor y) : x_(std::move(x)), y_(std::move(y)) {}
  torch::data::Example<> get(size_t index) override { return {x_[index], y_[index]}; }
  torch::optional<size_t> size() const override { return x_.size(0); }
  torch::Tensor x_, y_;
};

// Every parameter: a deterministic pattern, scaled by its fan-in.
void set_weights(Net& net) {
  torch::NoGradGuard no_grad;
  int k = 1;
  for (auto& p : net->named_parameters()) {
    auto v = torch::arange(p.value().numel(), torch::kFloat32).reshape(p.value().sizes());
    p.value().copy_(torch::sin(v * 0.7 + k++) * 0.5);
  }
}

int main() {
  // 3 classes of points in 4-D; a fixed, learnable rule.
  auto x = torch::linspace(-2, 2, 96).reshape({24, 4}).sin() + torch::linspace(0, 1, 96).reshape({24, 4});
  auto y = (x.sum(1) * 1.3).floor().remainder(3).to(torch::kLong);
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
      Points(x, y).map(torch::data::transforms::Stack<>()), torch::data::DataLoaderOptions().batch_size(8));

  Net net;
  set_weights(net);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  for (int epoch = 0; epoch < 3; ++epoch) {
    double total = 0;
    for (auto& batch : *loader) {
      sgd.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net(batch.data), batch.target);
      loss.backward();
      sgd.step();
      total += loss.item<double>();
    }
    std::printf("sgd epoch %d loss %.5f\n", epoch, total);
  }
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.01).betas({0.9, 0.99}).eps(1e-2));
  torch::optim::StepLR schedule(adam, /*step_size=*/2, /*gamma=*/0.5);
  for (int epoch = 0; epoch < 4; ++epoch) {
    for (auto& batch : *loader) {
      adam.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(
          net(batch.data), batch.target, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(0.05));
      loss.backward();
      adam.step();
    }
    schedule.step();
  }
  for (auto& p : net->named_parameters()) show(p.key().c_str(), p.value());
  for (auto& b : net->named_buffers()) show(b.key().c_str(), b.value());

  net->eval();
  torch::NoGradGuard no_grad;
  auto logits = net(x);
  show("eval_logits", logits);
  show("accuracy", logits.argmax(1).eq(y).to(torch::kFloat32).mean());

  torch::save(net, "port_train_classifier.pt");
  Net fresh;
  torch::load(fresh, "port_train_classifier.pt");
  fresh->eval();
  show("reloaded_equal", torch::equal(fresh(x), logits) ? torch::ones({1}) : torch::zeros({1}));
  return 0;
}
