#pragma once
// Tensor creation, with LibTorch's names, defaults and dtype rules: the
// default dtype (get_default_dtype(), float32 unless set) where LibTorch uses
// it, int64 for randint/randperm/tril_indices, cpu.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "dynagrad/generator.h"
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
// [start, end] in `steps` evenly spaced values; base ** those for logspace.
Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, TensorOptions options = {});
Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base = 10.0, TensorOptions options = {});
// Ones on the main diagonal of an n x n (n x m) matrix.
Tensor eye(int64_t n, TensorOptions options = {});
Tensor eye(int64_t n, int64_t m, TensorOptions options = {});
// The [2, N] (row; col) indices of the lower (upper) triangle of a row x col
// matrix, diagonal shifted by offset, row-major.
Tensor tril_indices(int64_t row, int64_t col, int64_t offset = 0, TensorOptions options = kInt64);
Tensor triu_indices(int64_t row, int64_t col, int64_t offset = 0, TensorOptions options = kInt64);
// Uninitialised, with the given strides (the storage spans what they reach).
Tensor empty_strided(IntArrayRef size, IntArrayRef stride, TensorOptions options = {});

// Random factories. Each takes an optional Generator (the default one, which
// manual_seed reseeds, when absent); see dynagrad/generator.h for the streams.
Tensor rand(IntArrayRef size, TensorOptions options = {});  // uniform [0, 1)
Tensor rand(IntArrayRef size, std::optional<Generator> generator, TensorOptions options = {});
Tensor randn(IntArrayRef size, TensorOptions options = {});  // standard normal
Tensor randn(IntArrayRef size, std::optional<Generator> generator, TensorOptions options = {});
// Integers uniform in [0, high) or [low, high); int64 unless options say otherwise.
Tensor randint(int64_t high, IntArrayRef size, TensorOptions options = kInt64);
Tensor randint(int64_t high, IntArrayRef size, std::optional<Generator> generator, TensorOptions options = kInt64);
Tensor randint(int64_t low, int64_t high, IntArrayRef size, TensorOptions options = kInt64);
Tensor randint(int64_t low, int64_t high, IntArrayRef size, std::optional<Generator> generator,
               TensorOptions options = kInt64);
// A random permutation of 0..n-1 (Fisher-Yates); int64 unless options say otherwise.
Tensor randperm(int64_t n, TensorOptions options = kInt64);
Tensor randperm(int64_t n, std::optional<Generator> generator, TensorOptions options = kInt64);
// N(mean, std^2) values of the given size (the Tensor forms are ops: dg::normal(mean, std)).
Tensor normal(double mean, double std, IntArrayRef size, std::optional<Generator> generator = std::nullopt,
              TensorOptions options = {});

// From values, as torch::tensor: floating values (float or double) -> the
// default dtype (float32), integers -> int64, bool -> bool. options.dtype()
// converts.
Tensor tensor(const std::vector<double>& values, TensorOptions options = {});
Tensor tensor(const std::vector<float>& values, TensorOptions options = {});
Tensor tensor(const std::vector<int64_t>& values, TensorOptions options = {});
Tensor tensor(const std::vector<int>& values, TensorOptions options = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<float> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<int> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<int64_t> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<bool> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<int>> rows, TensorOptions options = {});
// 0-dim.
Tensor tensor(double value, TensorOptions options = {});
Tensor tensor(float value, TensorOptions options = {});
Tensor tensor(int value, TensorOptions options = {});
Tensor tensor(int64_t value, TensorOptions options = {});
Tensor tensor(bool value, TensorOptions options = {});

// A tensor over memory the caller owns (not copied, not freed), as
// torch::from_blob: contiguous, or with the given strides; with a deleter,
// the deleter is called on `data` when the last tensor using it goes.
// options.device() says where `data` lives.
Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions options = {});
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions options = {});
Tensor from_blob(void* data, IntArrayRef sizes, const std::function<void(void*)>& deleter, TensorOptions options = {});
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, const std::function<void(void*)>& deleter,
                 TensorOptions options = {});

// *_like: same size (and dtype/device unless options say otherwise).
Tensor empty_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor full_like(const Tensor& t, const Scalar& fill_value, std::optional<TensorOptions> options = std::nullopt);
Tensor rand_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor randn_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor randint_like(const Tensor& t, int64_t high, std::optional<TensorOptions> options = std::nullopt);
Tensor randint_like(const Tensor& t, int64_t low, int64_t high, std::optional<TensorOptions> options = std::nullopt);

// Elementwise |a - b| <= atol + rtol * |b| (same shape after broadcasting).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
// Same sizes and identical values.
bool equal(const Tensor& a, const Tensor& b);

}  // namespace dg
