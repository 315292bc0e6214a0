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

}  // namespace dg::detail
