#pragma once
// The CUDA device as dynagrad sees it. Every function works in every build:
// without CUDA support compiled in (DG_CUDA=OFF, or no nvcc at configure
// time), or on a machine without a GPU or driver, there are simply no
// devices.
namespace dg::cuda {

// Whether this build of dynagrad has CUDA support compiled in.
bool is_built();
// Number of usable CUDA devices: 0 without CUDA support, without a driver
// or without a GPU (the CUDA runtime's "no device"/"insufficient driver"
// errors mean "none" here, not failure).
int device_count();
// device_count() > 0.
bool is_available();
// Waits for all work queued on the current device. Throws dg::Error when no
// device is available (saying why) or when queued work failed.
void synchronize();
// Why no device is available ("" when one is): for skip messages.
const char* unavailable_reason();

}  // namespace dg::cuda
