#pragma once
// The JSON goldens of tests/golden/*.json (written by tools/golden/*.py from
// PyTorch 1.13): a tensor is {"shape", "dtype", "data"}; infinities are the
// strings "inf" / "-inf" (JSON has none), bool data true / false.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "helpers.h"

namespace dg::testing {

using Json = nlohmann::json;

// tests/golden/<name>, parsed once per name.
inline const Json& golden_json(const std::string& name) {
  static std::map<std::string, Json> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::ifstream in(std::string(DG_GOLDEN_DIR) + "/" + name);
  REQUIRE(in.good());
  return cache.emplace(name, Json::parse(in)).first->second;
}

inline double golden_number(const Json& v) {
  if (v.is_string()) return v.get<std::string>() == "inf" ? INFINITY : -INFINITY;
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  return v.get<double>();
}

inline Tensor decode_golden(const Json& j) {
  std::vector<int64_t> shape = j["shape"].get<std::vector<int64_t>>();
  std::vector<double> data;
  for (const Json& v : j["data"]) data.push_back(golden_number(v));
  const std::string dtype = j["dtype"].get<std::string>();
  Tensor t = dg::tensor(data, kFloat64).reshape(shape);
  if (dtype == "int64") return t.to(kInt64);
  if (dtype == "bool") return t.to(kBool);
  return t;
}

// got against the golden tensor, element by element, to a relative tol.
inline void check_golden(const Tensor& got, const Json& expected, const std::string& what, double tol = 1e-9) {
  INFO(what);
  Tensor want = decode_golden(expected);
  REQUIRE(got.defined());
  REQUIRE(got.sizes() == want.sizes());
  const auto g = values(got), w = values(want);
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(g[i] == Approx(w[i]).margin(tol / 10).epsilon(tol));
  }
}

// A golden case's module state: float64, the case's training mode, every
// parameter (all must be in the golden) and the buffers it lists under
// "buffers_before".
inline void load_golden_module(nn::Module& module, const Json& g) {
  module.to(kFloat64);
  module.train(g["train"].get<bool>());
  NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    INFO("parameter " << item.key());
    REQUIRE(g["params"].contains(item.key()));
    item.value().copy_(decode_golden(g["params"][item.key()]));
  }
  if (g.contains("buffers_before"))
    for (auto& item : module.named_buffers())
      if (g["buffers_before"].contains(item.key())) item.value().copy_(decode_golden(g["buffers_before"][item.key()]));
  REQUIRE(module.named_parameters().size() == g["params"].size());
}

}  // namespace dg::testing
