#pragma once
// What the generated dispatch functions call: argument checks, output
// allocation from a meta function's answer, out= resizing, the in-place
// result rule, dtype casts for pointwise inputs and the kernel-table lookup.
// Private to the library; records nothing.
#include "core/arg_checks.h"
#include "ops/meta.h"

namespace dg::detail {

inline void bump_version(const Tensor& t, const char* op) { t.unsafeGetTensorImpl()->bump_version(op); }

// Allocates the output a meta function described.
Tensor make_output(const meta::TensorMeta& m);
// Checks dtype/device of an out= tensor and resizes it to m.sizes if needed.
void resize_out(const char* op, const Tensor& out, const meta::TensorMeta& m);
// In-place: the result must fit self's shape, and its dtype must be castable
// to self's (float into int is an error). Returns the dtype to compute in.
ScalarType check_inplace_result(const char* op, const Tensor& self, const meta::TensorMeta& m);

// `t` converted to `dtype` (no copy when it already is), without recording.
Tensor cast_for_compute(const Tensor& t, ScalarType dtype);

// Error for a [device][dtype] table slot without a kernel.
[[noreturn]] void no_kernel(const char* op, Device device, ScalarType dtype, const char* supported);

template <typename Fn>
Fn lookup_kernel(const Fn (&table)[kNumDeviceTypes][kNumScalarTypes], const char* op, Device device, ScalarType dtype,
                 const char* supported) {
  Fn fn = table[static_cast<int>(device.type)][static_cast<int>(dtype)];
  if (!fn) no_kernel(op, device, dtype, supported);
  return fn;
}

// Narrow integer dtypes (int32, int16, int8, uint8) run on an op's int64
// kernel when it has none of their own: the generated _run helper widens
// every narrow-integer Tensor argument to int64, runs the int64 kernel into
// int64 scratch and narrows the result back. Two's-complement truncation
// commutes with +, -, *, bitwise ops and comparisons, so the values are
// those of native int32 (int8, ...) arithmetic, wrap-around included; only
// copy_, fill_, zero_, clone and the random fills have narrow kernels.
template <typename Fn>
bool runs_widened(const Fn (&table)[kNumDeviceTypes][kNumScalarTypes], Device device, ScalarType dtype) {
  const Fn* row = table[static_cast<int>(device.type)];
  return is_narrow_integral(dtype) && !row[static_cast<int>(dtype)] && row[static_cast<int>(kInt64)];
}
// t as int64 when its dtype is a narrow integer, else t itself.
Tensor widen(const Tensor& t);
// int64 scratch of out's shape when out's dtype is a narrow integer, else out.
Tensor widen_output(const Tensor& out);
// Writes `result` (a widen_output scratch, an in-place comparison's bool
// result) into dst, converting its dtype, when they differ.
void copy_back(const Tensor& dst, const Tensor& result);

}  // namespace dg::detail
