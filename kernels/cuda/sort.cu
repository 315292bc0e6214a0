// CUDA sorting and selection, the counterpart of kernels/cpu/sort.cpp. Lines
// (every index of the other dims) are copied into contiguous scratch and
// sorted together by a stable merge sort whose passes are fully parallel:
// each element finds its place in its merged run by a binary search in the
// other run (O(n log^2 n) work, log n launches). topk, the median and the
// mode read the sorted lines (one thread per line for the last two); scans
// and searchsorted run one thread per line or per element.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "common/sort_rules.h"
#include "cuda/loops.cuh"
#include "cuda/reduce.cuh"
#include "kernel_decls.h"

namespace dg::cuda {

namespace {

using namespace reduction;

using sorting::before;
using sorting::is_nan;

template <typename T>
struct LoadLines {
  T* keys;
  int64_t* pos;
  const T* in;
  Lines<1> lines;
  __device__ void operator()(int64_t i) const {
    const int64_t l = i / lines.len, k = i % lines.len;
    keys[i] = in[offset_at(lines.outer[0], l) + k * lines.step[0]];
    pos[i] = k;
  }
};

// One pass: the runs of `width` of every line merged pairwise. A left
// element goes after the right run's elements strictly before it, a right
// one after the left run's elements not after it: equal keys keep order.
template <typename T>
struct MergePass {
  const T* keys;
  const int64_t* pos;
  T* keys_out;
  int64_t* pos_out;
  int64_t n, width;
  bool descending;
  __device__ void operator()(int64_t i) const {
    const int64_t base = (i / n) * n, k = i % n;
    const int64_t left = (k / (2 * width)) * (2 * width);
    const int64_t mid = min(left + width, n), end = min(left + 2 * width, n);
    const T key = keys[i];
    const bool in_left = k < mid;
    int64_t lo = in_left ? mid : left, hi = in_left ? end : mid;
    while (lo < hi) {
      const int64_t m = lo + ((hi - lo) >> 1);
      const T other = keys[base + m];
      const bool goes_first = in_left ? before(other, key, descending) : !before(key, other, descending);
      if (goes_first) {
        lo = m + 1;
      } else {
        hi = m;
      }
    }
    const int64_t others = lo - (in_left ? mid : left);
    const int64_t dest = left + (k - (in_left ? left : mid)) + others;
    keys_out[base + dest] = key;
    pos_out[base + dest] = pos[i];
  }
};

// Every line of self along d sorted: keys and original positions, line l at
// [l * len, (l + 1) * len).
struct SortedLines {
  TensorBase keys, pos;
  int64_t count = 0, len = 0;
};

template <typename T>
SortedLines sort_lines(const char* op, const TensorBase& self, int64_t d, bool descending) {
  const Lines<1> lines = make_lines<1>(self.sizes(), d, {&self}, op);
  SortedLines s;
  s.count = lines.count;
  s.len = lines.len;
  const int64_t total = s.count * s.len;
  s.keys = make_empty({total}, self.dtype(), self.device());
  s.pos = make_empty({total}, kInt64, self.device());
  if (total == 0) return s;
  launch_for_each(op, self, total,
                  LoadLines<T>{static_cast<T*>(s.keys.data_ptr()), static_cast<int64_t*>(s.pos.data_ptr()),
                               static_cast<const T*>(self.data_ptr()), lines});
  if (s.len < 2) return s;
  TensorBase keys2 = make_empty({total}, self.dtype(), self.device());
  TensorBase pos2 = make_empty({total}, kInt64, self.device());
  for (int64_t width = 1; width < s.len; width *= 2) {
    launch_for_each(op, self, total,
                    MergePass<T>{static_cast<const T*>(s.keys.data_ptr()),
                                 static_cast<const int64_t*>(s.pos.data_ptr()), static_cast<T*>(keys2.data_ptr()),
                                 static_cast<int64_t*>(pos2.data_ptr()), s.len, width, descending});
    std::swap(s.keys, keys2);
    std::swap(s.pos, pos2);
  }
  return s;
}

// out's line l, element j = the j-th sorted position of line l (j < take).
struct WritePositions {
  int64_t* out;
  const int64_t* pos;
  Lines<1> lines;  // of out
  int64_t len, take;
  __device__ void operator()(int64_t i) const {
    const int64_t l = i / take, j = i % take;
    out[offset_at(lines.outer[0], l) + j * lines.step[0]] = pos[l * len + j];
  }
};

template <typename T>
struct PickMedian {
  int64_t* out;
  const T* keys;
  const int64_t* pos;
  loop::Strided out_lines;
  int64_t len;
  bool ignore_nan;
  __device__ void operator()(int64_t l) const {
    const T* k = keys + l * len;
    int64_t nans = 0;
    while (nans < len && is_nan(k[len - 1 - nans])) ++nans;
    // NaNs sort last, stably: the first of them is the first NaN of the line.
    const int64_t at = nans > 0 && (!ignore_nan || nans == len) ? len - nans : (len - nans - 1) / 2;
    out[offset_at(out_lines, l)] = pos[l * len + at];
  }
};

template <typename T>
struct PickMode {
  int64_t* out;
  const T* keys;
  const int64_t* pos;
  loop::Strided out_lines;
  int64_t len;
  __device__ void operator()(int64_t l) const {
    const T* k = keys + l * len;
    int64_t best = 0, best_at = 0, run = 0;
    for (int64_t j = 0; j < len; ++j) {
      ++run;
      if (j + 1 == len || k[j] != k[j + 1]) {
        if (run > best) {
          best = run;
          best_at = pos[l * len + j];
        }
        run = 0;
      }
    }
    out[offset_at(out_lines, l)] = best_at;
  }
};

template <typename T>
struct CumMaxMinLine {
  int64_t* out;
  const T* in;
  Lines<2> lines;  // operand 0 out, 1 in
  bool max;
  __device__ void operator()(int64_t l) const {
    int64_t* o = out + offset_at(lines.outer[0], l);
    const T* x = in + offset_at(lines.outer[1], l);
    T best = x[0];
    int64_t at = 0;
    for (int64_t k = 0; k < lines.len; ++k) {
      const T v = x[k * lines.step[1]];
      if (sorting::cum_extreme_takes(v, best, max)) {
        best = v;
        at = k;
      }
      o[k * lines.step[0]] = at;
    }
  }
};

template <typename T>
struct CumprodLine {
  T* out;
  const T* in;
  Lines<2> lines;
  __device__ void operator()(int64_t l) const {
    T* o = out + offset_at(lines.outer[0], l);
    const T* x = in + offset_at(lines.outer[1], l);
    acc_t<T> a = 1;
    for (int64_t k = 0; k < lines.len; ++k) {
      a *= static_cast<acc_t<T>>(x[k * lines.step[1]]);
      o[k * lines.step[0]] = static_cast<T>(a);
    }
  }
};

template <typename T>
struct LogcumsumexpLine {
  T* out;
  const T* in;
  Lines<2> lines;
  __device__ void operator()(int64_t l) const {
    T* o = out + offset_at(lines.outer[0], l);
    const T* x = in + offset_at(lines.outer[1], l);
    double a = -INFINITY;
    for (int64_t k = 0; k < lines.len; ++k) {
      a = sorting::log_add_exp(a, static_cast<double>(x[k * lines.step[1]]));
      o[k * lines.step[0]] = static_cast<T>(a);
    }
  }
};

template <typename T>
struct SearchSorted {
  int64_t* out;
  const T* seq;
  const T* in;
  loop::Strided rows, xs, os;
  int64_t m, step, per_row;
  bool right;
  __device__ void operator()(int64_t i) const {
    const T* row = seq + offset_at(rows, i / per_row);
    const T v = in[offset_at(xs, i)];
    out[offset_at(os, i)] = sorting::search_position(row, m, step, v, right);
  }
};

int64_t wrap(int64_t dim, int64_t ndim) { return ndim == 0 ? 0 : (dim < 0 ? dim + ndim : dim); }

// One thread per line of self along dim, running Line<T>{out, in, lines, extra...}.
template <template <typename> class Line, typename T, typename O, typename... Extra>
void scan_lines(const char* op, const TensorBase& out, const TensorBase& self, int64_t dim, Extra... extra) {
  if (out.numel() == 0) return;
  const Lines<2> lines = make_lines<2>(self.sizes(), wrap(dim, self.dim()), {&out, &self}, op);
  launch_for_each(op, out, lines.count,
                  Line<T>{static_cast<O*>(out.data_ptr()), static_cast<const T*>(self.data_ptr()), lines, extra...});
}

}  // namespace

template <typename T>
void sort_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool descending, bool stable) {
  (void)stable;  // always stable
  const int64_t d = wrap(dim, self.dim());
  const SortedLines s = sort_lines<T>("sort", self, d, descending);
  const Lines<1> ol = make_lines<1>(out.sizes(), d, {&out}, "sort");
  launch_for_each("sort", out, s.count * s.len,
                  WritePositions{static_cast<int64_t*>(out.data_ptr()), static_cast<const int64_t*>(s.pos.data_ptr()),
                                 ol, s.len, s.len});
}

template <typename T>
void topk_indices(const TensorBase& out, const TensorBase& self, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;
  if (k == 0 || out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const SortedLines s = sort_lines<T>("topk", self, d, largest);
  const Lines<1> ol = make_lines<1>(out.sizes(), d, {&out}, "topk");
  launch_for_each("topk", out, s.count * k,
                  WritePositions{static_cast<int64_t*>(out.data_ptr()), static_cast<const int64_t*>(s.pos.data_ptr()),
                                 ol, s.len, k});
}

template <typename T>
void median_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool ignore_nan) {
  if (out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const SortedLines s = sort_lines<T>("median", self, d, false);
  const Lines<1> ol = make_lines<1>(out.sizes(), d, {&out}, "median");
  launch_for_each("median", out, s.count,
                  PickMedian<T>{static_cast<int64_t*>(out.data_ptr()), static_cast<const T*>(s.keys.data_ptr()),
                                static_cast<const int64_t*>(s.pos.data_ptr()), ol.outer[0], s.len, ignore_nan});
}

template <typename T>
void mode_indices(const TensorBase& out, const TensorBase& self, int64_t dim) {
  if (out.numel() == 0) return;
  const int64_t d = wrap(dim, self.dim());
  const SortedLines s = sort_lines<T>("mode", self, d, false);
  const Lines<1> ol = make_lines<1>(out.sizes(), d, {&out}, "mode");
  launch_for_each("mode", out, s.count,
                  PickMode<T>{static_cast<int64_t*>(out.data_ptr()), static_cast<const T*>(s.keys.data_ptr()),
                              static_cast<const int64_t*>(s.pos.data_ptr()), ol.outer[0], s.len});
}

template <typename T>
void cummaxmin_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool max) {
  scan_lines<CumMaxMinLine, T, int64_t>(max ? "cummax" : "cummin", out, self, dim, max);
}

template <typename T>
void cumprod(const TensorBase& out, const TensorBase& self, int64_t dim) {
  scan_lines<CumprodLine, T, T>("cumprod", out, self, dim);
}

template <typename T>
void logcumsumexp(const TensorBase& out, const TensorBase& self, int64_t dim) {
  scan_lines<LogcumsumexpLine, T, T>("logcumsumexp", out, self, dim);
}

template <typename T>
void searchsorted(const TensorBase& out, const TensorBase& sorted_sequence, const TensorBase& self, bool right) {
  if (out.numel() == 0) return;
  const TensorBase& seq = sorted_sequence;
  const size_t lead = seq.sizes().size() - 1;
  const loop::Strided rows =
      compact_strided(IntArrayRef(seq.sizes().data(), lead), IntArrayRef(seq.strides().data(), lead), "searchsorted");
  const int64_t per_row = seq.dim() == 1 || self.dim() == 0 ? self.numel() : self.size(self.dim() - 1);
  launch_for_each("searchsorted", out, out.numel(),
                  SearchSorted<T>{static_cast<int64_t*>(out.data_ptr()), static_cast<const T*>(seq.data_ptr()),
                                  static_cast<const T*>(self.data_ptr()), rows,
                                  compact_strided(self.sizes(), self.strides(), "searchsorted"),
                                  compact_strided(out.sizes(), out.strides(), "searchsorted"), seq.size(seq.dim() - 1),
                                  seq.stride(seq.dim() - 1), per_row, right});
}

}  // namespace dg::cuda

DG_INSTANTIATE_KERNEL_cuda_sort_indices;
DG_INSTANTIATE_KERNEL_cuda_topk_indices;
DG_INSTANTIATE_KERNEL_cuda_median_indices;
DG_INSTANTIATE_KERNEL_cuda_mode_indices;
DG_INSTANTIATE_KERNEL_cuda_cummaxmin_indices;
DG_INSTANTIATE_KERNEL_cuda_cumprod;
DG_INSTANTIATE_KERNEL_cuda_logcumsumexp;
DG_INSTANTIATE_KERNEL_cuda_searchsorted;
