#include "core/arg_checks.h"

namespace dg::detail {

void check_defined(const char* op, const char* arg, const Tensor& t) {
  DG_CHECK(t.defined(), op, ": expected a defined tensor for argument '", arg, "', got an undefined one");
}

void check_no_internal_overlap(const char* op, const Tensor& t) {
  IntArrayRef sizes = t.sizes(), strides = t.strides();
  for (size_t d = 0; d < sizes.size(); ++d) {
    DG_CHECK(!(sizes[d] > 1 && strides[d] == 0), op,
             ": unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location (stride 0 along dimension ",
             d, " of size ", sizes[d],
             ", e.g. after expand()). clone() it "
             "before writing to it.");
  }
}

}  // namespace dg::detail
