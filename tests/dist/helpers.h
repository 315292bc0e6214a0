#pragma once
// What the collective scenarios share: each rank's input (a function of
// the rank, so any rank can compute every rank's) and the expected result,
// computed in this one process with dynagrad's own ops in float64.
#include <string>
#include <vector>

#include "dist/scenario.h"
#include "dynagrad/distributed.h"
#include "dynagrad/dynagrad.h"

namespace dg_dist {

namespace c10d = dg::distributed;

inline const std::vector<dg::ScalarType>& all_dtypes() {
  static const std::vector<dg::ScalarType> v{
      dg::kFloat32, dg::kFloat64,          dg::ScalarType::Float16, dg::ScalarType::BFloat16, dg::kInt64,
      dg::kInt32,   dg::ScalarType::Int16, dg::ScalarType::Int8,    dg::ScalarType::UInt8,    dg::kBool};
  return v;
}

// Rank r's input of shape {rows, cols}: small values (multiples of 0.5 for
// floating types, 1..6 for integers, a pattern for bool) so that sums and
// products of up to 4 ranks are exact or nearly so in every dtype. With
// noncontig the tensor is a transposed view (strides {1, rows}).
inline dg::Tensor rank_input(int r, dg::ScalarType dt, int64_t rows, int64_t cols, bool noncontig) {
  auto idx = dg::arange(rows * cols, dg::TensorOptions().dtype(dg::kFloat64));
  dg::Tensor v;
  if (dt == dg::kBool) v = dg::remainder(idx + r, 3).eq(0);
  else if (dg::is_floating_point(dt)) v = dg::remainder(idx + r, 4) * 0.5 + (r % 3) + 1 - (r % 2) * 1.5;
  else v = dg::remainder(idx + r, 3) + (r % 2) + 1;
  v = v.to(dt);
  if (!noncontig) return v.view({rows, cols});
  return v.view({rows, cols}).t().contiguous().t();  // the same values, strides {1, rows}
}

// The reduction over ranks r of rank_input(r + offset), as the collective
// must give it.
inline dg::Tensor expected_reduce(c10d::ReduceOp op, dg::ScalarType dt, int world, int64_t rows, int64_t cols,
                                  int offset = 0) {
  dg::Tensor acc;
  for (int r = 0; r < world; ++r) {
    auto x = rank_input(r + offset, dt, rows, cols, false);
    if (dt == dg::kBool) {
      if (r == 0) acc = x;
      else if (op == c10d::ReduceOp::SUM || op == c10d::ReduceOp::MAX || op == c10d::ReduceOp::BOR)
        acc = dg::logical_or(acc, x);
      else if (op == c10d::ReduceOp::PRODUCT || op == c10d::ReduceOp::MIN || op == c10d::ReduceOp::BAND)
        acc = dg::logical_and(acc, x);
      else acc = dg::logical_xor(acc, x);
      continue;
    }
    if (op == c10d::ReduceOp::BAND || op == c10d::ReduceOp::BOR || op == c10d::ReduceOp::BXOR) {
      auto xi = x.to(dg::kInt64);
      if (r == 0) acc = xi;
      else if (op == c10d::ReduceOp::BAND) acc = dg::bitwise_and(acc, xi);
      else if (op == c10d::ReduceOp::BOR) acc = dg::bitwise_or(acc, xi);
      else acc = dg::bitwise_xor(acc, xi);
      continue;
    }
    auto xd = x.to(dg::kFloat64);
    if (r == 0) acc = xd;
    else if (op == c10d::ReduceOp::SUM || op == c10d::ReduceOp::AVG) acc = acc + xd;
    else if (op == c10d::ReduceOp::PRODUCT) acc = acc * xd;
    else if (op == c10d::ReduceOp::MIN) acc = dg::minimum(acc, xd);
    else acc = dg::maximum(acc, xd);
  }
  if (op == c10d::ReduceOp::AVG) acc = acc / world;
  return acc;
}

// Throws (failing the scenario) unless `got` matches `want` for dtype dt:
// exact for integers and bool, within the dtype's rounding for floats.
inline void check_close(const dg::Tensor& got, const dg::Tensor& want, dg::ScalarType dt, const std::string& what) {
  dist_check(got.scalar_type() == dt, what, ": dtype ", got.scalar_type(), ", expected ", dt);
  dist_check(got.sizes() == want.sizes(), what, ": sizes differ");
  double rtol = 0, atol = 0;
  if (dt == dg::ScalarType::Float16) rtol = 2e-3;
  if (dt == dg::ScalarType::BFloat16) rtol = 1.6e-2;
  if (dt == dg::kFloat32) rtol = 1e-6;
  bool ok;
  if (dt == dg::kBool) ok = dg::equal(got, want.to(dg::kBool));
  else if (!dg::is_floating_point(dt)) ok = dg::equal(got.to(dg::kInt64), want.to(dt).to(dg::kInt64));
  else ok = dg::allclose(got.to(dg::kFloat64), want.to(dg::kFloat64), rtol, atol);
  if (!ok) {
    std::ostringstream os;
    os << what << " (" << dt << "): got\n" << got << "\nexpected\n" << want;
    throw dg::Error(os.str());
  }
}

inline std::vector<c10d::ReduceOp> ops_for(dg::ScalarType dt) {
  using R = c10d::ReduceOp;
  if (dg::is_floating_point(dt)) return {R::SUM, R::AVG, R::PRODUCT, R::MIN, R::MAX};
  return {R::SUM, R::PRODUCT, R::MIN, R::MAX, R::BAND, R::BOR, R::BXOR};
}

}  // namespace dg_dist
