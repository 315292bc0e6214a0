#include "dynagrad/storage.h"

#include <algorithm>
#include <cstring>

#include "dynagrad/cpu_allocator.h"
#include "dynagrad/cuda.h"
#include "dynagrad/error.h"

namespace dg {

namespace {
void* allocate_on(size_t nbytes, Device device) {
  return device.is_cuda() ? cuda::allocate(nbytes, device.index) : cpu::allocate(nbytes);
}
void deallocate_on(void* p, size_t nbytes, Device device) {
  if (device.is_cuda()) {
    cuda::deallocate(p, nbytes, device.index);
  } else {
    cpu::deallocate(p, nbytes);
  }
}
}  // namespace

// A CUDA storage always carries its device's index (kCUDA alone means the
// current device at the time of allocation).
StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(cuda::resolve(device)) {
  data_ = allocate_on(nbytes, device_);
}

StorageImpl::StorageImpl(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter)
    : data_(data),
      nbytes_(nbytes),
      device_(cuda::resolve(device)),
      external_(std::make_unique<std::function<void(void*)>>(std::move(deleter))) {}

StorageImpl::~StorageImpl() {
  if (!external_) {
    deallocate_on(data_, nbytes_, device_);
  } else if (*external_) {
    (*external_)(data_);
  }
}

void StorageImpl::reallocate(size_t nbytes) {
  DG_CHECK(!external_, "resize: trying to resize storage that is not resizable (memory from from_blob, ", nbytes_,
           " bytes, asked for ", nbytes, ")");
  void* p = allocate_on(nbytes, device_);
  const size_t keep = std::min(nbytes, nbytes_);
  if (device_.is_cuda()) {
    cuda::copy_bytes("resize", p, device_, data_, device_, keep);
  } else {
    std::memcpy(p, data_, keep);
  }
  deallocate_on(data_, nbytes_, device_);
  data_ = p;
  nbytes_ = nbytes;
}

}  // namespace dg
