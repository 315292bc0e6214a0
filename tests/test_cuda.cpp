// The CUDA device queries. They must answer in every build: a build without
// CUDA support and a CUDA build on a machine without a GPU (like CI's) both
// report no device, say why, and refuse device work with a dg::Error. The
// GPU checks proper run from tools/gpu-check.sh on a machine with a GPU.
#include <catch2/catch.hpp>

#include <string>

#include "dynagrad/dynagrad.h"

using Catch::Matchers::Contains;

TEST_CASE("CUDA availability is reported consistently, with a reason when there is no device", "[cuda]") {
  const int n = dg::cuda::device_count();
  CHECK(n >= 0);
  CHECK(dg::cuda::is_available() == (n > 0));
  CHECK(dg::cuda::device_count() == n);  // asked twice, same answer
  if (!dg::cuda::is_built()) CHECK(n == 0);
  if (!dg::cuda::is_available()) {
    const std::string why = dg::cuda::unavailable_reason();
    CHECK_FALSE(why.empty());
    WARN("CUDA device tests skipped: " << why);
    CHECK_THROWS_WITH(dg::cuda::synchronize(),
                      Contains("cuda::synchronize") && Contains("no CUDA device") && Contains(why));
  } else {
    CHECK(std::string(dg::cuda::unavailable_reason()).empty());
    CHECK_NOTHROW(dg::cuda::synchronize());
  }
}
