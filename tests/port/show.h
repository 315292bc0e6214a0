// What every port program prints: a label, the sizes and the values of a
// tensor (as doubles, row-major), one line each. Written against the API the
// two libraries share, so the same text comes from LibTorch and from dynagrad.
#pragma once
#include <cstdio>
#include <string>

template <typename T>
void show(const char* label, const T& t) {
  const auto c = t.detach().to(torch::kDouble).contiguous();
  std::string line = std::string(label) + " [";
  for (int64_t d = 0; d < c.dim(); ++d) line += (d ? "," : "") + std::to_string(c.size(d));
  line += "]";
  const double* p = c.template data_ptr<double>();
  char buf[32];
  for (int64_t i = 0; i < c.numel(); ++i) {
    std::snprintf(buf, sizeof buf, " %.6g", p[i]);
    line += buf;
  }
  std::puts(line.c_str());
}
