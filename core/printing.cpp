// Printing tensors the way PyTorch does (torch/_tensor_str.py): column widths
// from the shown values, fixed or scientific notation, summarised with "..."
// beyond 1000 elements, then the dtype, device and grad_fn suffixes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/element_access.h"
#include "dynagrad/tensor.h"

namespace dg {

namespace {
constexpr int kPrecision = 4;
constexpr int kLineWidth = 80;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
// PyTorch prints all-integral float tensors as "1., 2." (its int_mode); our
// tests and docs ask for fixed 4 decimals everywhere ("1.0000"). Flip this to
// get PyTorch's exact output back.
constexpr bool kIntMode = true;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, kPrecision, v);
  return buf;
}

std::string fixed_str(double v) { return fmt("%.*f", v); }
std::string sci_str(double v) { return fmt("%.*e", v); }

std::string nonfinite_str(double v) { return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"); }

// One element as text, before width padding.
struct Formatter {
  ScalarType dtype;
  bool floating = false;
  bool int_mode = kIntMode;
  bool sci_mode = false;
  size_t width = 1;

  Formatter(ScalarType t, const std::vector<double>& vals) : dtype(t), floating(is_floating_point(t)) {
    if (!floating) {
      for (double v : vals) width = std::max(width, raw(v).size());
      return;
    }
    std::vector<double> nz;
    for (double v : vals)
      if (std::isfinite(v) && v != 0) nz.push_back(v);
    if (nz.empty()) return;
    double mn = INFINITY, mx = 0;
    for (double v : nz) {
      mn = std::min(mn, std::fabs(v));
      mx = std::max(mx, std::fabs(v));
      if (v != std::ceil(v)) int_mode = false;
    }
    int_mode = int_mode && kIntMode;
    if (int_mode) {
      sci_mode = mx / mn > 1000.0 || mx > 1.0e8;
      for (double v : nz) width = std::max(width, sci_mode ? sci_str(v).size() : fmt("%.0f", v).size() + 1);
    } else {
      sci_mode = mx / mn > 1000.0 || mx > 1.0e8 || mn < 1.0e-4;
      for (double v : nz) width = std::max(width, sci_mode ? sci_str(v).size() : fixed_str(v).size());
    }
  }

  std::string raw(double v) const {
    if (dtype == kBool) return v != 0 ? "True" : "False";
    if (!floating) return std::to_string(static_cast<long long>(v));
    if (!std::isfinite(v)) return nonfinite_str(v);
    if (sci_mode) return sci_str(v);
    if (int_mode) return fmt("%.0f", v) + ".";
    return fixed_str(v);
  }
  std::string operator()(double v) const {
    std::string s = raw(v);
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
  }
};

// int64 values beyond 2^53 would lose digits as doubles: print those exactly.
struct Printer {
  const Tensor& t;
  const Formatter& f;
  bool summarize;

  double value(int64_t off) const {
    return detail::load_as_double(t.unsafeGetTensorImpl()->data() + off * int64_t(t.element_size()), t.dtype());
  }
  std::string element(int64_t off) const {
    if (t.dtype() == kInt64) {
      std::string s = std::to_string(*reinterpret_cast<const int64_t*>(t.unsafeGetTensorImpl()->data() + off * 8));
      return s.size() < f.width ? std::string(f.width - s.size(), ' ') + s : s;
    }
    return f(value(off));
  }

  // Indices of dim d to show (-1 stands for the "..." gap).
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  std::string str(size_t d, int64_t off, int indent) const {
    const int64_t nd = t.dim();
    if (nd == 0) return element(off);
    const int64_t n = t.sizes()[d];
    const int64_t stride = t.strides()[d];
    if (static_cast<int64_t>(d) == nd - 1) {
      const size_t elem_len = f.width + 2;
      const size_t per_line = std::max<size_t>(1, (kLineWidth - indent) / elem_len);
      std::vector<std::string> items;
      for (int64_t i : shown(n)) items.push_back(i < 0 ? std::string(" ...") : element(off + i * stride));
      std::string s = "[";
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) s += (i % per_line == 0) ? ",\n" + std::string(indent + 1, ' ') : ", ";
        s += items[i];
      }
      return s + "]";
    }
    std::string sep = ",";
    sep.append(static_cast<size_t>(nd) - d - 1, '\n').append(static_cast<size_t>(indent) + 1, ' ');
    std::string s = "[";
    bool first = true;
    for (int64_t i : shown(n)) {
      if (!first) s += sep;
      first = false;
      s += i < 0 ? std::string("...") : str(d + 1, off + i * stride, indent + 1);
    }
    return s + "]";
  }
};

// The values the formatter sizes its columns by (the shown ones when summarizing).
void collect(const Tensor& t, size_t d, int64_t off, bool summarize, std::vector<double>& out) {
  if (t.dim() == 0) {
    out.push_back(detail::load_as_double(t.unsafeGetTensorImpl()->data(), t.dtype()));
    return;
  }
  const int64_t n = t.sizes()[d];
  const int64_t stride = t.strides()[d];
  auto visit = [&](int64_t i) {
    if (static_cast<int64_t>(d) + 1 == t.dim())
      out.push_back(detail::load_as_double(
          t.unsafeGetTensorImpl()->data() + (off + i * stride) * int64_t(t.element_size()), t.dtype()));
    else collect(t, d + 1, off + i * stride, summarize, out);
  };
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) visit(i);
    for (int64_t i = n - kEdgeItems; i < n; ++i) visit(i);
  } else {
    for (int64_t i = 0; i < n; ++i) visit(i);
  }
}

std::string dtype_suffix(ScalarType t) { return std::string("dtype=torch.") + scalar_type_name(t); }
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  if (t.is_cuda()) suffixes.push_back("device='" + detail::str(t.device()) + "'");
  std::string body;
  if (t.numel() == 0) {
    if (t.dim() != 1) {
      std::string s = "size=(";
      for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.sizes()[i]);
      suffixes.push_back(s + (t.dim() == 1 ? ",)" : ")"));
    }
    if (t.dtype() != kFloat32) suffixes.push_back(dtype_suffix(t.dtype()));
    body = "[]";
  } else {
    const bool summarize = t.numel() > kThreshold;
    std::vector<double> vals;
    const Tensor host = detail::to_host(t);  // a CUDA tensor's values, waited for
    collect(host, 0, 0, summarize, vals);
    Formatter f(t.dtype(), vals);
    body = Printer{host, f, summarize}.str(0, 0, indent);
    // PyTorch leaves out the dtype of its defaults: float32, int64 and bool.
    if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) suffixes.push_back(dtype_suffix(t.dtype()));
  }
  if (const std::string fn = detail::grad_fn_name(t); !fn.empty()) {
    suffixes.push_back("grad_fn=<" + fn + ">");
  } else if (t.requires_grad()) {
    suffixes.push_back("requires_grad=True");
  }
  std::string s = prefix + body;
  const size_t nl = s.rfind('\n');
  size_t last_line = nl == std::string::npos ? s.size() + 2 : s.size() - nl + 1;
  for (const auto& suf : suffixes) {
    if (last_line + suf.size() + 2 > static_cast<size_t>(kLineWidth)) {
      s += ",\n" + std::string(indent, ' ') + suf;
      last_line = indent + suf.size();
    } else {
      s += ", " + suf;
      last_line += suf.size() + 2;
    }
  }
  return os << s << ')';
}

}  // namespace dg
