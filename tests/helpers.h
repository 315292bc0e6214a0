#pragma once
// What the test suites share, defined once: small tensors from literals,
// their values read back (any dtype, strides or device), element checks with
// NaN and infinity handled, and gradients of simple expressions. The generic
// per-op harness (inputs of registry samples in a dtype) is in op_registry.h.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "dynagrad/dynagrad.h"

namespace dg::testing {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr ScalarType kBothFloats[] = {kFloat32, kFloat64};

// A float64 (int64, bool) tensor of the values: 1-D, or viewed as `shape`.
inline Tensor t64(const std::vector<double>& v, std::vector<int64_t> shape = {}) {
  Tensor t = dg::tensor(v, kFloat64);
  return shape.empty() ? t : t.reshape(shape);
}
inline Tensor i64(const std::vector<int64_t>& v, std::vector<int64_t> shape = {}) {
  Tensor t = dg::tensor(v, kInt64);
  return shape.empty() ? t : t.reshape(shape);
}
inline Tensor b8(const std::vector<double>& v) { return t64(v).to(kBool); }
// The values in `shape` and `dtype`.
inline Tensor vals(const std::vector<double>& v, IntArrayRef shape, ScalarType dtype) {
  return dg::tensor(v, kFloat64).view(shape).to(dtype);
}
// start, start + 1, ... filling `shape`, in `dtype`; its own base (not a view).
inline Tensor iota(IntArrayRef shape, ScalarType dtype = kFloat64, double start = 0) {
  std::vector<double> v(static_cast<size_t>(multiply_integers(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<double>(i);
  return vals(v, shape, dtype).clone();
}

// The elements of t in row-major (logical) order, as doubles.
inline std::vector<double> values(const Tensor& t) {
  const Tensor c = t.detach().to(kFloat64).contiguous().cpu();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}
inline std::vector<bool> bools(const Tensor& t) {
  REQUIRE(t.dtype() == kBool);
  std::vector<bool> out;
  for (double v : values(t)) out.push_back(v != 0);
  return out;
}
// Element i of t in row-major order.
inline double at(const Tensor& t, int64_t i) { return values(t).at(static_cast<size_t>(i)); }

// Every element of t against `expected`: NaN must be NaN, an infinity must be
// that infinity, anything else within tol relative to max(1, |expected|).
inline void check_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  const std::vector<double> got = values(t);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    if (std::isnan(expected[i])) CHECK(std::isnan(got[i]));
    else if (std::isinf(expected[i])) CHECK(got[i] == expected[i]);
    else CHECK(std::fabs(got[i] - expected[i]) <= tol * std::max(1.0, std::fabs(expected[i])));
  }
}
inline void check_shape(const Tensor& t, const std::vector<int64_t>& shape) { CHECK(t.sizes() == IntArrayRef(shape)); }
// Same shape and values within tol (both read as float64).
inline bool close(const Tensor& a, const Tensor& b, double tol = 1e-5) {
  return a.sizes() == b.sizes() && dg::allclose(a.to(kFloat64), b.to(kFloat64), tol, tol);
}
inline bool all_finite(const Tensor& t) {
  for (double v : values(t))
    if (!std::isfinite(v)) return false;
  return true;
}

// d(sum y)/dx for a y computed from x.
inline Tensor grad_of(const Tensor& x, const Tensor& y) { return dg::autograd::grad({y.sum()}, {x})[0]; }
// d(sum f(x))/dx, through a fresh leaf with x's values.
inline Tensor grad_of(const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
  Tensor leaf = x.detach().requires_grad_();
  f(leaf).sum().backward();
  return leaf.grad();
}
// A float64 leaf of standard normal values.
inline Tensor leaf(IntArrayRef shape) { return dg::randn(shape, kFloat64).requires_grad_(); }

}  // namespace dg::testing
