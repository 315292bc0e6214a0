#pragma once
// Transforms of an example's data tensor (the target passes through):
// TensorTransform (override operator()), TensorLambda, and Normalize.
#include <functional>
#include <utility>
#include <vector>

#include "dynagrad/data/array_ref.h"
#include "dynagrad/data/example.h"
#include "dynagrad/data/transforms/base.h"
#include "dynagrad/factory.h"

namespace dg::data::transforms {

template <typename Target = Tensor>
class TensorTransform : public Transform<Example<Tensor, Target>, Example<Tensor, Target>> {
 public:
  using E = Example<Tensor, Target>;
  using typename Transform<E, E>::InputType;
  using typename Transform<E, E>::OutputType;

  virtual Tensor operator()(Tensor input) = 0;

  OutputType apply(InputType input) override {
    input.data = (*this)(std::move(input.data));
    return input;
  }
};

template <typename Target = Tensor>
class TensorLambda : public TensorTransform<Target> {
 public:
  using FunctionType = std::function<Tensor(Tensor)>;

  explicit TensorLambda(FunctionType function) : function_(std::move(function)) {}
  Tensor operator()(Tensor input) override { return function_(std::move(input)); }

 private:
  FunctionType function_;
};

// (input - mean) / stddev per channel: mean and stddev hold one value per
// channel (dim 0 of a [C, H, W] input) or one value for all, and are kept as
// float32 [C, 1, 1] tensors that broadcast over the image.
template <typename Target = Tensor>
struct Normalize : public TensorTransform<Target> {
  Normalize(ArrayRef<double> mean, ArrayRef<double> stddev)
      : mean(dg::tensor(mean.vec(), kFloat32).unsqueeze(/*dim=*/1).unsqueeze(/*dim=*/2)),
        stddev(dg::tensor(stddev.vec(), kFloat32).unsqueeze(/*dim=*/1).unsqueeze(/*dim=*/2)) {}

  Tensor operator()(Tensor input) override { return input.sub(mean).div(stddev); }

  Tensor mean, stddev;
};

}  // namespace dg::data::transforms
