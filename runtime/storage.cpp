#include "dynagrad/storage.h"

#include <cstdlib>
#include <cstring>

#include "dynagrad/error.h"

namespace dg {

namespace {
constexpr size_t kAlignment = 64;

void* allocate_cpu(size_t nbytes) {
  // aligned_alloc wants a multiple of the alignment; an empty tensor still
  // gets a real (tiny) block so data() is never null.
  size_t rounded = nbytes == 0 ? kAlignment : (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  DG_CHECK(p, "StorageImpl: out of memory allocating ", nbytes, " bytes on cpu");
  return p;
}

void check_device(Device device) {
  DG_CHECK(device.is_cpu(), "StorageImpl: cannot allocate on ", device,
           ": CUDA is not available in this build");
}
}  // namespace

StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check_device(device);
  data_ = allocate_cpu(nbytes);
}

StorageImpl::~StorageImpl() { std::free(data_); }

void StorageImpl::reallocate(size_t nbytes) {
  check_device(device_);
  void* p = allocate_cpu(nbytes);
  std::memcpy(p, data_, std::min(nbytes, nbytes_));
  std::free(data_);
  data_ = p;
  nbytes_ = nbytes;
}

}  // namespace dg
