#include "dynagrad/storage.h"

#include <algorithm>
#include <cstring>

#include "dynagrad/cpu_allocator.h"
#include "dynagrad/error.h"

namespace dg {

namespace {
void check_device(Device device) {
  DG_CHECK(device.is_cpu(), "StorageImpl: cannot allocate on ", device,
           ": CUDA is not available in this build");
}
}  // namespace

StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check_device(device);
  data_ = cpu::allocate(nbytes);
}

StorageImpl::~StorageImpl() { cpu::deallocate(data_, nbytes_); }

void StorageImpl::reallocate(size_t nbytes) {
  check_device(device_);
  void* p = cpu::allocate(nbytes);
  std::memcpy(p, data_, std::min(nbytes, nbytes_));
  cpu::deallocate(data_, nbytes_);
  data_ = p;
  nbytes_ = nbytes;
}

}  // namespace dg
