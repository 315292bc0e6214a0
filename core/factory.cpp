#include "dynagrad/factory.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/element_access.h"
#include "dynagrad/cuda.h"
#include "dynagrad/storage.h"

namespace dg {

namespace {

Tensor finish(Tensor t, const TensorOptions& options, const char* op) {
  if (options.requires_grad()) {
    DG_CHECK(is_floating_point(t.dtype()), op, ": only tensors of floating point dtype can require gradients, got ",
             t.dtype());
    t.requires_grad_(true);
  }
  return t;
}

Tensor alloc(const char* op, IntArrayRef size, const TensorOptions& options) {
  DG_CHECK(!options.requires_grad() || is_floating_point(options.dtype()), op,
           ": only tensors of floating point dtype can require gradients, got ", options.dtype());
  return make_empty(size, options.dtype(), options.device());
}

// Factories that fill on the host (random numbers, ranges, literal values)
// fill a CPU tensor and copy it to a CUDA device at the end, so one seed
// gives the same values on every device.
Tensor alloc_host(const char* op, IntArrayRef size, const TensorOptions& options) {
  cuda::resolve(options.device());  // a missing device fails before any work
  return alloc(op, size, options.device(Device(kCPU)));
}
Tensor finish_host(const Tensor& t, const TensorOptions& options, const char* op) {
  return finish(options.device().is_cuda() ? Tensor(detail::copy_to_device(t, options.device())) : t, options, op);
}

template <typename T>
void fill_typed(const Tensor& t, T v) {
  T* p = static_cast<T*>(t.data_ptr());
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = v;
}

// Fills a freshly made (contiguous) tensor.
void fill_all(const Tensor& t, const Scalar& v) {
  visit_dtype(t.dtype(), [&]<typename T>() { fill_typed<T>(t, v.to<T>()); });
}

template <typename T>
Tensor from_values(const char* op, const std::vector<T>& values, IntArrayRef shape, ScalarType natural,
                   const TensorOptions& options) {
  TensorOptions o = options.has_dtype() ? options : options.dtype(natural);
  Tensor t = alloc_host(op, shape, o);
  char* p = static_cast<char*>(t.data_ptr());
  const size_t es = element_size(t.dtype());
  for (size_t i = 0; i < values.size(); ++i)
    detail::store_from_double(p + i * es, t.dtype(), static_cast<double>(values[i]));
  if (t.dtype() == kInt64 && natural == kInt64) {
    // Exact for values beyond 2^53.
    int64_t* q = static_cast<int64_t*>(t.data_ptr());
    for (size_t i = 0; i < values.size(); ++i) q[i] = static_cast<int64_t>(values[i]);
  }
  return finish_host(t, o, op);
}

TensorOptions like_options(const Tensor& t, const std::optional<TensorOptions>& options) {
  TensorOptions o = options.value_or(TensorOptions());
  o = o.dtype(options && options->has_dtype() ? options->dtype() : t.dtype());
  if (!(options && options->device().is_cuda())) o = o.device(t.device());
  return o;
}

}  // namespace

Tensor empty(IntArrayRef size, TensorOptions options) {
  return finish(alloc("empty", size, options), options, "empty");
}

Tensor zeros(IntArrayRef size, TensorOptions options) {
  Tensor t = alloc("zeros", size, options);
  if (t.is_cuda()) {
    t.zero_();
  } else {
    std::memset(t.data_ptr(), 0, t.nbytes());  // all-zero bits are 0 / 0.0 / false in every dtype
  }
  return finish(t, options, "zeros");
}

Tensor ones(IntArrayRef size, TensorOptions options) { return full(size, 1, options.dtype(options.dtype())); }

// Without a dtype, full's comes from the value (LibTorch 1.13): bool -> bool,
// integer -> int64, floating -> the default dtype.
Tensor full(IntArrayRef size, const Scalar& fill_value, TensorOptions options) {
  if (!options.has_dtype()) {
    options = options.dtype(fill_value.is_boolean()          ? kBool
                            : fill_value.is_floating_point() ? get_default_dtype()
                                                             : kInt64);
  }
  Tensor t = alloc("full", size, options);
  if (t.is_cuda()) {
    t.fill_(fill_value);
  } else {
    fill_all(t, fill_value);
  }
  return finish(t, options, "full");
}

Tensor scalar_tensor(const Scalar& value, TensorOptions options) {
  return full({}, value, options.dtype(options.dtype()));  // the default dtype whatever the value, as LibTorch
}

Tensor arange(const Scalar& end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options) {
  const bool integral = !start.is_floating_point() && !end.is_floating_point() && !step.is_floating_point();
  const ScalarType dtype = options.has_dtype() ? options.dtype() : (integral ? kInt64 : get_default_dtype());
  const double s = start.toDouble(), e = end.toDouble(), st = step.toDouble();
  DG_CHECK(st != 0, "arange: step must be nonzero");
  DG_CHECK(std::isfinite(s) && std::isfinite(e), "arange: unsupported range: ", start, " -> ", end);
  DG_CHECK((st > 0 && e >= s) || (st < 0 && e <= s),
           "arange: upper bound and lower bound inconsistent with step sign (start ", start, ", end ", end, ", step ",
           step, ")");
  int64_t n;
  if (integral) {
    const int64_t a = start.toLong(), b = end.toLong(), c = step.toLong();
    n = c > 0 ? (b - a + c - 1) / c : (a - b + (-c) - 1) / (-c);
  } else {
    n = static_cast<int64_t>(std::ceil((e - s) / st));
  }
  Tensor t = alloc_host("arange", {n}, options.dtype(dtype));
  char* p = static_cast<char*>(t.data_ptr());
  const size_t es = element_size(dtype);
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == kInt64 && integral) reinterpret_cast<int64_t*>(p)[i] = start.toLong() + i * step.toLong();
    else detail::store_from_double(p + i * es, dtype, s + static_cast<double>(i) * st);
  }
  return finish_host(t, options.dtype(dtype), "arange");
}

// ---- random factories: a tensor of the asked dtype and device, filled in
// place by the random ops (the same Philox stream on every device).

namespace {
void check_random_floating(const char* op, ScalarType dtype) {
  DG_CHECK(is_floating_point(dtype), op, ": expected a floating point dtype, got ", dtype);
}
// The 16-bit floats have no random kernels: they draw in float32 and round.
template <typename Fill>
Tensor random_floating(const char* op, IntArrayRef size, const TensorOptions& options, const Fill& fill) {
  check_random_floating(op, options.dtype());
  const ScalarType dtype = options.dtype();
  const bool narrow = dtype == kFloat16 || dtype == kBFloat16;
  Tensor t = alloc(op, size, narrow ? options.dtype(kFloat32) : options);
  fill(t);
  if (narrow) t = t.to(dtype);
  return finish(t, options, op);
}
}  // namespace

Tensor rand(IntArrayRef size, TensorOptions options) { return rand(size, std::nullopt, options); }
Tensor rand(IntArrayRef size, std::optional<Generator> generator, TensorOptions options) {
  return random_floating("rand", size, options, [&](const Tensor& t) { t.uniform_(0, 1, generator); });
}

Tensor randn(IntArrayRef size, TensorOptions options) { return randn(size, std::nullopt, options); }
Tensor randn(IntArrayRef size, std::optional<Generator> generator, TensorOptions options) {
  return random_floating("randn", size, options, [&](const Tensor& t) { t.normal_(0, 1, generator); });
}

Tensor normal(double mean, double std, IntArrayRef size, std::optional<Generator> generator, TensorOptions options) {
  return random_floating("normal", size, options, [&](const Tensor& t) { t.normal_(mean, std, generator); });
}

Tensor randint(int64_t high, IntArrayRef size, TensorOptions options) {
  return randint(0, high, size, std::nullopt, options);
}
Tensor randint(int64_t high, IntArrayRef size, std::optional<Generator> generator, TensorOptions options) {
  return randint(0, high, size, std::move(generator), options);
}
Tensor randint(int64_t low, int64_t high, IntArrayRef size, TensorOptions options) {
  return randint(low, high, size, std::nullopt, options);
}
Tensor randint(int64_t low, int64_t high, IntArrayRef size, std::optional<Generator> generator, TensorOptions options) {
  const ScalarType dtype = options.dtype();
  DG_CHECK(dtype != kBool && dtype != kFloat16 && dtype != kBFloat16,
           "randint: expected an integer, float32 or float64 dtype, got ", dtype);
  Tensor t = alloc("randint", size, options);
  t.random_(low, high, generator);
  return finish(t, options, "randint");
}

Tensor randperm(int64_t n, TensorOptions options) { return randperm(n, std::nullopt, options); }
Tensor randperm(int64_t n, std::optional<Generator> generator, TensorOptions options) {
  DG_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  // Fisher-Yates on the host over n draws of the stream (the same on every
  // device): position i swaps with key_i mod (i + 1).
  Tensor keys = empty({n}, kInt64);
  keys.random_(generator);
  const int64_t* k = keys.data_ptr<int64_t>();
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[static_cast<uint64_t>(k[i]) % uint64_t(i + 1)]);
  const ScalarType dtype = options.dtype();
  DG_CHECK(dtype != kBool && (dtype != kFloat16 || n <= 2049) && (dtype != kBFloat16 || n <= 257) &&
               (dtype != kFloat32 || n <= (int64_t(1) << 24)),
           "randperm: n=", n, " is too large for dtype ", dtype, " (its integers are not all exact)");
  return from_values("randperm", perm, {n}, kInt64, options.dtype(dtype));
}

// torch::tensor's dtypes: floating values take the default dtype, integers int64.
Tensor tensor(const std::vector<double>& values, TensorOptions options) {
  return from_values("tensor", values, {static_cast<int64_t>(values.size())}, get_default_dtype(), options);
}
Tensor tensor(const std::vector<float>& values, TensorOptions options) {
  return from_values("tensor", values, {static_cast<int64_t>(values.size())}, get_default_dtype(), options);
}
Tensor tensor(const std::vector<int64_t>& values, TensorOptions options) {
  return from_values("tensor", values, {static_cast<int64_t>(values.size())}, kInt64, options);
}
Tensor tensor(const std::vector<int>& values, TensorOptions options) {
  return tensor(std::vector<int64_t>(values.begin(), values.end()), options);
}
Tensor tensor(std::initializer_list<double> values, TensorOptions options) {
  return tensor(std::vector<double>(values), options);
}
Tensor tensor(std::initializer_list<float> values, TensorOptions options) {
  return tensor(std::vector<float>(values), options);
}
Tensor tensor(std::initializer_list<int> values, TensorOptions options) {
  return tensor(std::vector<int64_t>(values.begin(), values.end()), options);
}
Tensor tensor(std::initializer_list<int64_t> values, TensorOptions options) {
  return tensor(std::vector<int64_t>(values), options);
}
Tensor tensor(std::initializer_list<bool> values, TensorOptions options) {
  return from_values("tensor", std::vector<uint8_t>(values.begin(), values.end()),
                     {static_cast<int64_t>(values.size())}, kBool, options);
}

namespace {
template <typename T>
Tensor from_rows(std::initializer_list<std::initializer_list<T>> rows, ScalarType natural,
                 const TensorOptions& options) {
  std::vector<T> flat;
  const size_t cols = rows.size() ? rows.begin()->size() : 0;
  size_t r = 0;
  for (const auto& row : rows) {
    DG_CHECK(row.size() == cols, "tensor: rows must all have the same length, but row ", r, " has ", row.size(),
             " elements and row 0 has ", cols);
    flat.insert(flat.end(), row.begin(), row.end());
    ++r;
  }
  return from_values("tensor", flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols)}, natural, options);
}
}  // namespace

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options) {
  return from_rows(rows, get_default_dtype(), options);
}
Tensor tensor(std::initializer_list<std::initializer_list<int>> rows, TensorOptions options) {
  return from_rows(rows, kInt64, options);
}
Tensor tensor(double value, TensorOptions options) {
  return from_values("tensor", std::vector<double>{value}, {}, get_default_dtype(), options);
}
Tensor tensor(float value, TensorOptions options) {
  return from_values("tensor", std::vector<float>{value}, {}, get_default_dtype(), options);
}
Tensor tensor(int value, TensorOptions options) { return tensor(static_cast<int64_t>(value), options); }
Tensor tensor(int64_t value, TensorOptions options) {
  return from_values("tensor", std::vector<int64_t>{value}, {}, kInt64, options);
}
Tensor tensor(bool value, TensorOptions options) {
  return from_values("tensor", std::vector<uint8_t>{value}, {}, kBool, options);
}

// ---- tensors over given memory

namespace {
// The bytes a tensor of these sizes and strides reaches (0 when it is empty).
int64_t storage_span(const char* op, IntArrayRef sizes, IntArrayRef strides) {
  DG_CHECK(sizes.size() == strides.size(), op, ": expected as many strides as sizes, got sizes ", sizes,
           " and strides ", strides);
  int64_t span = 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    DG_CHECK(sizes[i] >= 0, op, ": negative dimension ", sizes[i], " in shape ", sizes);
    DG_CHECK(strides[i] >= 0, op, ": negative stride ", strides[i], " in strides ", strides);
    if (sizes[i] == 0) return 0;
    span += (sizes[i] - 1) * strides[i];
  }
  return span;
}

Tensor blob(void* data, IntArrayRef sizes, IntArrayRef strides, std::function<void(void*)> deleter,
            const TensorOptions& options) {
  const int64_t span = storage_span("from_blob", sizes, strides);
  DG_CHECK(data != nullptr || span == 0, "from_blob: expected a non-null data pointer for ", span, " elements");
  auto storage = make_intrusive<StorageImpl>(data, static_cast<size_t>(span) * element_size(options.dtype()),
                                             options.device(), std::move(deleter));
  Tensor t(make_intrusive<TensorImpl>(std::move(storage), options.dtype(), sizes, strides, 0));
  return finish(t, options, "from_blob");
}
}  // namespace

Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions options) {
  return blob(data, sizes, contiguous_strides(sizes), nullptr, options);
}
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions options) {
  return blob(data, sizes, strides, nullptr, options);
}
Tensor from_blob(void* data, IntArrayRef sizes, const std::function<void(void*)>& deleter, TensorOptions options) {
  return blob(data, sizes, contiguous_strides(sizes), deleter, options);
}
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, const std::function<void(void*)>& deleter,
                 TensorOptions options) {
  return blob(data, sizes, strides, deleter, options);
}

Tensor empty_strided(IntArrayRef size, IntArrayRef stride, TensorOptions options) {
  const int64_t span = storage_span("empty_strided", size, stride);
  auto storage =
      make_intrusive<StorageImpl>(static_cast<size_t>(span) * element_size(options.dtype()), options.device());
  Tensor t(make_intrusive<TensorImpl>(std::move(storage), options.dtype(), size, stride, 0));
  return finish(t, options, "empty_strided");
}

// ---- ranges and structured factories

Tensor linspace(const Scalar& start, const Scalar& end, int64_t steps, TensorOptions options) {
  DG_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  const double a = start.toDouble(), b = end.toDouble();
  std::vector<double> v(static_cast<size_t>(steps));
  // PyTorch's form: from start for the first half, back from end for the
  // second, so both ends are exact (one step: start).
  const double step = steps > 1 ? (b - a) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps == 1 ? 1 : steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < half ? a + step * static_cast<double>(i) : b - step * static_cast<double>(steps - 1 - i);
  return from_values("linspace", v, {steps}, get_default_dtype(), options);
}

Tensor logspace(const Scalar& start, const Scalar& end, int64_t steps, double base, TensorOptions options) {
  DG_CHECK(steps >= 0, "logspace: number of steps must be non-negative, got ", steps);
  const double a = start.toDouble(), b = end.toDouble();
  const double step = steps > 1 ? (b - a) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps == 1 ? 1 : steps / 2;
  std::vector<double> v(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i)
    v[i] = std::pow(base, i < half ? a + step * static_cast<double>(i) : b - step * static_cast<double>(steps - 1 - i));
  return from_values("logspace", v, {steps}, get_default_dtype(), options);
}

Tensor eye(int64_t n, TensorOptions options) { return eye(n, n, options); }
Tensor eye(int64_t n, int64_t m, TensorOptions options) {
  DG_CHECK(n >= 0, "eye: n must be greater or equal to 0, got ", n);
  DG_CHECK(m >= 0, "eye: m must be greater or equal to 0, got ", m);
  std::vector<double> v(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < std::min(n, m); ++i) v[i * m + i] = 1.0;
  return from_values("eye", v, {n, m}, get_default_dtype(), options);
}

namespace {
Tensor triangle_indices(const char* op, int64_t row, int64_t col, int64_t offset, bool lower,
                        const TensorOptions& options) {
  DG_CHECK(row >= 0, op, ": row must be non-negative, got ", row);
  DG_CHECK(col >= 0, op, ": col must be non-negative, got ", col);
  std::vector<int64_t> rs, cs;
  for (int64_t i = 0; i < row; ++i)
    for (int64_t j = 0; j < col; ++j)
      if (lower ? j - i <= offset : j - i >= offset) {
        rs.push_back(i);
        cs.push_back(j);
      }
  const int64_t count = static_cast<int64_t>(rs.size());
  rs.insert(rs.end(), cs.begin(), cs.end());
  return from_values(op, rs, {2, count}, kInt64, options.dtype(options.dtype()));
}
}  // namespace

Tensor tril_indices(int64_t row, int64_t col, int64_t offset, TensorOptions options) {
  return triangle_indices("tril_indices", row, col, offset, true, options);
}
Tensor triu_indices(int64_t row, int64_t col, int64_t offset, TensorOptions options) {
  return triangle_indices("triu_indices", row, col, offset, false, options);
}

Tensor empty_like(const Tensor& t, std::optional<TensorOptions> options) {
  return empty(t.sizes(), like_options(t, options));
}
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> options) {
  return zeros(t.sizes(), like_options(t, options));
}
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> options) {
  return ones(t.sizes(), like_options(t, options));
}
Tensor full_like(const Tensor& t, const Scalar& fill_value, std::optional<TensorOptions> options) {
  return full(t.sizes(), fill_value, like_options(t, options));
}
Tensor rand_like(const Tensor& t, std::optional<TensorOptions> options) {
  return rand(t.sizes(), like_options(t, options));
}
Tensor randn_like(const Tensor& t, std::optional<TensorOptions> options) {
  return randn(t.sizes(), like_options(t, options));
}
Tensor randint_like(const Tensor& t, int64_t high, std::optional<TensorOptions> options) {
  return randint(0, high, t.sizes(), like_options(t, options));
}
Tensor randint_like(const Tensor& t, int64_t low, int64_t high, std::optional<TensorOptions> options) {
  return randint(low, high, t.sizes(), like_options(t, options));
}

std::atomic<ScalarType> detail::g_default_dtype{kFloat32};

void set_default_dtype(ScalarType dtype) {
  DG_CHECK(is_floating_point(dtype),
           "set_default_dtype: only floating-point types are supported as the default type, got ", dtype);
  detail::g_default_dtype.store(dtype, std::memory_order_relaxed);
}

namespace {
// Strides of `t` as seen from the broadcast shape `shape` (0 where broadcast).
DimVector broadcast_strides(const Tensor& t, IntArrayRef shape) {
  DimVector s(shape.size(), 0);
  const size_t lead = shape.size() - t.sizes().size();
  for (size_t i = 0; i < t.sizes().size(); ++i) s[lead + i] = t.sizes()[i] == 1 ? 0 : t.strides()[i];
  return s;
}
}  // namespace

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  DG_CHECK(a.defined() && b.defined(), "allclose: expected defined tensors");
  if (!a.is_cpu() || !b.is_cpu())  // compared on the host, like the values a user would print
    return allclose(detail::to_host(a), detail::to_host(b), rtol, atol, equal_nan);
  const IntArrayRef sa = a.sizes(), sb = b.sizes();
  const size_t nd = std::max(sa.size(), sb.size());
  DimVector shape(nd, 1);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t x = i < nd - sa.size() ? 1 : sa[i - (nd - sa.size())];
    const int64_t y = i < nd - sb.size() ? 1 : sb[i - (nd - sb.size())];
    DG_CHECK(x == y || x == 1 || y == 1, "allclose: shapes ", sa, " and ", sb, " are not broadcastable");
    shape[i] = x == 1 ? y : x;
  }
  const DimVector st_a = broadcast_strides(a, shape), st_b = broadcast_strides(b, shape);
  const int64_t n = multiply_integers(shape);
  const char* pa = static_cast<const char*>(a.data_ptr());
  const char* pb = static_cast<const char*>(b.data_ptr());
  for (int64_t k = 0; k < n; ++k) {
    const double x =
        detail::load_as_double(pa + detail::offset_of(shape, st_a, k) * int64_t(a.element_size()), a.dtype());
    const double y =
        detail::load_as_double(pb + detail::offset_of(shape, st_b, k) * int64_t(b.element_size()), b.dtype());
    if (std::isnan(x) || std::isnan(y)) {
      if (equal_nan && std::isnan(x) && std::isnan(y)) continue;
      return false;
    }
    if (x == y) continue;  // equal infinities
    if (!(std::fabs(x - y) <= atol + rtol * std::fabs(y))) return false;
  }
  return true;
}

bool equal(const Tensor& a, const Tensor& b) {
  DG_CHECK(a.defined() && b.defined(), "equal: expected defined tensors");
  if (!a.is_cpu() || !b.is_cpu()) return equal(detail::to_host(a), detail::to_host(b));
  if (a.sizes() != b.sizes()) return false;
  const char* pa = static_cast<const char*>(a.data_ptr());
  const char* pb = static_cast<const char*>(b.data_ptr());
  const bool both_int = a.dtype() == kInt64 && b.dtype() == kInt64;  // exact beyond 2^53
  for (int64_t k = 0, n = a.numel(); k < n; ++k) {
    const int64_t oa = detail::offset_of(a.sizes(), a.strides(), k) * int64_t(a.element_size());
    const int64_t ob = detail::offset_of(b.sizes(), b.strides(), k) * int64_t(b.element_size());
    if (both_int) {
      if (*reinterpret_cast<const int64_t*>(pa + oa) != *reinterpret_cast<const int64_t*>(pb + ob)) return false;
    } else if (detail::load_as_double(pa + oa, a.dtype()) != detail::load_as_double(pb + ob, b.dtype())) {
      return false;
    }
  }
  return true;
}

}  // namespace dg
