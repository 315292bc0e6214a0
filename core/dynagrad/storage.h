#pragma once
// StorageImpl: the bytes behind one or more tensors. Views of one base share
// it, so the version counter lives here: a write through any view is seen by
// every SavedVariable that holds any other view of the same memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "dynagrad/device.h"
#include "dynagrad/intrusive_ptr.h"

namespace dg {

class StorageImpl : public intrusive_target {
 public:
  using Deleter = void (*)(void* data, Device device);
  // Allocates `nbytes` on `device` (64-byte aligned on the CPU).
  StorageImpl(size_t nbytes, Device device);
  // Memory the caller owns (from_blob): never freed here; `deleter`, when
  // given, is called on `data` when the storage goes instead.
  StorageImpl(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter);
  ~StorageImpl() override;
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // False for memory from from_blob (which cannot be reallocated).
  bool owns_data() const { return !external_; }

  // Grows (or shrinks) the allocation in place, keeping the first
  // min(old, new) bytes. Used by out= resizing; the version counter is kept so
  // every alias of this storage still sees later writes.
  void reallocate(size_t nbytes);

  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  // `op` (a string literal) is remembered so a version-mismatch error can say
  // which in-place op changed the memory.
  void bump_version(const char* op = nullptr) {
    last_writer_.store(op, std::memory_order_relaxed);
    version_.fetch_add(1, std::memory_order_relaxed);
  }
  const char* last_writer() const { return last_writer_.load(std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  // Set for caller-owned memory: its deleter (possibly empty). A pointer, so
  // owned storages (nearly all) stay small.
  std::unique_ptr<std::function<void(void*)>> external_;
  std::atomic<uint32_t> version_{0};
  std::atomic<const char*> last_writer_{nullptr};
};
using Storage = intrusive_ptr<StorageImpl>;

}  // namespace dg
