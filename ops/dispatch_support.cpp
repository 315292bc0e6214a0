#include "ops/dispatch_support.h"

#include "core/arg_checks.h"
#include "dynagrad/grad_mode.h"

namespace dg::detail {

Tensor make_output(const meta::TensorMeta& m) { return make_empty(m.sizes, m.dtype, m.device); }

void resize_out(const char* op, const Tensor& out, const meta::TensorMeta& m) {
  check_defined(op, "out", out);
  DG_CHECK(out.dtype() == m.dtype, op, ": expected out to have dtype ", m.dtype, ", got ", out.dtype());
  DG_CHECK(out.device() == m.device, op, ": expected out on device ", m.device, ", got ", out.device());
  check_no_internal_overlap(op, out);
  if (out.sizes() == IntArrayRef(m.sizes)) return;
  TensorImpl* impl = out.unsafeGetTensorImpl();
  const int64_t numel = multiply_integers(m.sizes);
  const size_t needed = static_cast<size_t>(impl->storage_offset() + numel) * element_size(m.dtype);
  if (needed > impl->storage()->nbytes()) impl->storage()->reallocate(needed);
  impl->set_sizes_and_strides(m.sizes, contiguous_strides(m.sizes), impl->storage_offset());
}

ScalarType check_inplace_result(const char* op, const Tensor& self, const meta::TensorMeta& m) {
  DG_CHECK(self.sizes() == IntArrayRef(m.sizes), op, ": the result of shape ", IntArrayRef(m.sizes),
           " does not fit self of shape ", self.sizes());
  const ScalarType s = self.dtype();
  // Same rule as PyTorch's canCast: no float into integral/bool, no integral into bool.
  const bool bad = (is_floating_point(m.dtype) && !is_floating_point(s)) || (s == kBool && m.dtype != kBool);
  DG_CHECK(!bad, op, ": result type ", m.dtype, " can't be cast to the desired output type ", s);
  return s;
}

Tensor cast_for_compute(const Tensor& t, ScalarType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor r = make_empty(t.sizes(), dtype, t.device());
  NoGradGuard no_grad;  // a cast for the kernel, not part of the graph
  r.copy_(t);
  return r;
}

Tensor widen(const Tensor& t) { return is_narrow_integral(t.dtype()) ? cast_for_compute(t, kInt64) : t; }

Tensor widen_output(const Tensor& out) {
  if (is_narrow_integral(out.dtype())) return make_empty(out.sizes(), kInt64, out.device());
  return out;
}

void copy_back(const Tensor& dst, const Tensor& result) {
  if (dst.is_same(result)) return;
  NoGradGuard no_grad;  // part of the kernel's work, not of the graph
  dst.copy_(result);
}

void no_kernel(const char* op, Device device, ScalarType dtype, const char* supported) {
  throw Error(
      str(op, ": no ", device_type_name(device.type), " kernel for dtype ", dtype, " (supported: ", supported, ")"));
}

}  // namespace dg::detail
