#pragma once
#include <atomic>
#include <optional>

#include "dynagrad/device.h"
#include "dynagrad/scalar_type.h"

namespace dg {

namespace detail {
extern std::atomic<ScalarType> g_default_dtype;
}  // namespace detail

// The dtype of factories given no dtype, and of dg::tensor of floating
// literals: float32 unless set (torch::set_default_dtype/get_default_dtype;
// LibTorch takes a caffe2::TypeMeta, dynagrad a ScalarType). Only floating
// dtypes may be the default.
inline ScalarType get_default_dtype() { return detail::g_default_dtype.load(std::memory_order_relaxed); }
inline ScalarType get_default_dtype_as_scalartype() { return get_default_dtype(); }  // c10's name
void set_default_dtype(ScalarType dtype);

// What a factory function makes: dtype (default get_default_dtype()), device, requires_grad.
// Builder style as in LibTorch: TensorOptions().dtype(kFloat64).requires_grad(true).
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t) {}   // NOLINT: zeros({2}, kFloat64)
  TensorOptions(Device d) : device_(d) {}      // NOLINT
  TensorOptions(DeviceType d) : device_(d) {}  // NOLINT

  TensorOptions dtype(ScalarType t) const {
    auto r = *this;
    r.dtype_ = t;
    return r;
  }
  TensorOptions device(Device d) const {
    auto r = *this;
    r.device_ = d;
    return r;
  }
  // No default argument: `requires_grad()` is the getter below (as in LibTorch).
  TensorOptions requires_grad(bool r) const {
    auto o = *this;
    o.requires_grad_ = r;
    return o;
  }

  ScalarType dtype() const { return dtype_ ? *dtype_ : get_default_dtype(); }
  bool has_dtype() const { return dtype_.has_value(); }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  std::optional<ScalarType> dtype_;
  Device device_;
  bool requires_grad_ = false;
};

inline TensorOptions dtype(ScalarType t) { return TensorOptions().dtype(t); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace dg
