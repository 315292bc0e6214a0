#pragma once
// A tensor [lead..., (H,) W] seen as planes, for the kernels that walk image
// planes (pooling, upsampling): the `lead` leading dims map a plane index to
// its offset, then H and W have their strides (H's is 0 when a plane is one
// row, as for 1-D upsampling of [N, C, W]).
#include <cstdint>

#include "common/offset_calc.h"
#include "cuda/cuda_common.cuh"

namespace dg::cuda {

template <typename P>
struct Planes {
  P* data;
  loop::Strided lead;
  int64_t sh, sw;

  __device__ P* plane(int64_t p) const { return data + lead.offset(p); }
  __device__ P& at(P* plane, int64_t h, int64_t w) const { return plane[h * sh + w * sw]; }
};

template <typename P>
Planes<P> planes_of(const TensorBase& t, P* data, int64_t lead, const char* op) {
  const size_t n = static_cast<size_t>(lead);
  return {data, loop::make_strided(IntArrayRef(t.sizes().data(), n), IntArrayRef(t.strides().data(), n), op),
          t.dim() - lead == 2 ? t.stride(-2) : 0, t.stride(-1)};
}

}  // namespace dg::cuda
