#pragma once
// Tensor creation, with LibTorch's names and defaults (dtype float32, cpu).
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg {

Tensor empty(IntArrayRef size, TensorOptions options = {});
Tensor zeros(IntArrayRef size, TensorOptions options = {});
Tensor ones(IntArrayRef size, TensorOptions options = {});
Tensor full(IntArrayRef size, const Scalar& fill_value, TensorOptions options = {});
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});
// [0, end) and [start, end) by step; int64 unless a bound is floating or dtype is given.
Tensor arange(const Scalar& end, TensorOptions options = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, TensorOptions options = {});
Tensor rand(IntArrayRef size, TensorOptions options = {});   // uniform [0, 1)
Tensor randn(IntArrayRef size, TensorOptions options = {});  // standard normal
// Seeds the global generator used by rand/randn.
void manual_seed(uint64_t seed);

// From values: float -> float32, double -> float64 (PyTorch: float32 by
// default for Python floats; in C++ the literal's type decides, as in
// LibTorch), int64 -> int64, bool -> bool. options.dtype() converts.
Tensor tensor(const std::vector<double>& values, TensorOptions options = {});
Tensor tensor(const std::vector<float>& values, TensorOptions options = {});
Tensor tensor(const std::vector<int64_t>& values, TensorOptions options = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<float> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<int> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<int64_t> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options = {});
Tensor tensor(double value, TensorOptions options = {});  // 0-dim

// *_like: same size (and dtype/device unless options say otherwise).
Tensor empty_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor full_like(const Tensor& t, const Scalar& fill_value, std::optional<TensorOptions> options = std::nullopt);
Tensor rand_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor randn_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);

// Elementwise |a - b| <= atol + rtol * |b| (same shape after broadcasting).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
// Same sizes and identical values.
bool equal(const Tensor& a, const Tensor& b);

}  // namespace dg
