#pragma once
#include <cstdint>
#include <ostream>

namespace dg {

// Order matters: it is the row order of the generated dispatch tables.
enum class DeviceType : int8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;
constexpr DeviceType kCPU = DeviceType::CPU;
constexpr DeviceType kCUDA = DeviceType::CUDA;

constexpr const char* device_type_name(DeviceType t) { return t == DeviceType::CPU ? "cpu" : "cuda"; }

struct Device {
  DeviceType type = DeviceType::CPU;
  int8_t index = -1;
  constexpr Device() = default;
  constexpr Device(DeviceType t, int8_t i = -1) : type(t), index(i) {}  // NOLINT: implicit like LibTorch
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && (a.index == b.index || a.index < 0 || b.index < 0);
  }
};
inline std::ostream& operator<<(std::ostream& os, const Device& d) {
  os << device_type_name(d.type);
  if (d.index >= 0) os << ':' << int(d.index);
  return os;
}

}  // namespace dg
