// Sorting and selection along one dim: the permutation that sorts each line
// (stable), the first k of it, the lower median, the mode, the running
// maximum/minimum's index, cumprod, logcumsumexp and searchsorted. Each line
// (every index of the other dims) is copied once into a contiguous buffer of
// (value, position) pairs, which the standard algorithms order; lines are
// spread over the thread pool. NaN orders as the largest value, as in PyTorch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/reduce_dims.h"
#include "common/sort_rules.h"
#include "cpu/index_walk.h"
#include "cpu/parallel.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

using reducing::acc_t;
using sorting::before;
using sorting::is_nan;

// The line geometry of self along dim and of out along the same dim: one
// line per index of the other dims (a 0-dim tensor is one line of one).
struct Lines {
  std::vector<int64_t> in, out;  // each line's first element
  int64_t len = 1, in_step = 0, out_step = 0;
};

Lines lines_of(const TensorBase& out, const TensorBase& self, int64_t dim) {
  Lines l;
  if (self.dim() == 0) {
    l.in = {0};
    l.out = {0};
    return l;
  }
  const int64_t d = dim < 0 ? dim + self.dim() : dim;
  const std::vector<bool> line = reducing::dims_mask(self.dim(), IntArrayRef(d));
  const ix::Split si = ix::split_dims(self, line), so = ix::split_dims(out, line);
  l.in = ix::offsets(si.kept_sizes, si.kept_strides);
  l.out = ix::offsets(so.kept_sizes, so.kept_strides);
  l.len = self.size(d);
  l.in_step = self.stride(d);
  l.out_step = out.dim() == 0 ? 0 : out.stride(d);
  return l;
}

// Calls f(line, buffer) for every line with the line's (value, position)
// pairs in the buffer, lines in parallel. Positions are int32 when they fit:
// half the bytes to move for float32.
template <typename T, typename F>
void for_each_line(const Lines& l, const T* in, const F& f) {
  const int64_t count = static_cast<int64_t>(l.in.size());
  if (count == 0 || l.len == 0) return;
  const auto run = [&]<typename P>() {
    parallel_for(count, l.len * 8, [&](int64_t b, int64_t e) {
      std::vector<std::pair<T, P>> buf(static_cast<size_t>(l.len));
      for (int64_t i = b; i < e; ++i) {
        const T* x = in + l.in[i];
        for (int64_t k = 0; k < l.len; ++k) buf[k] = {x[k * l.in_step], static_cast<P>(k)};
        f(i, buf);
      }
    });
  };
  if (l.len <= std::numeric_limits<int32_t>::max()) {
    run.template operator()<int32_t>();
  } else {
    run.template operator()<int64_t>();
  }
}

// A strict total order on (value, position): by value (NaN largest), then
// by position, so every algorithm below picks what a stable sort would.
template <typename T>
struct ByValueThenPosition {
  bool descending;
  template <typename Pair>
  bool operator()(const Pair& a, const Pair& b) const {
    if (before(a.first, b.first, descending)) return true;
    if (before(b.first, a.first, descending)) return false;
    return a.second < b.second;
  }
};

template <typename T, typename Pair>
bool any_nan(const std::vector<Pair>& buf) {
  if constexpr (std::is_floating_point_v<T>) {
    for (const Pair& p : buf)
      if (is_nan(p.first)) return true;
  }
  return false;
}

// std::stable_sort of [first, last) by value; without NaN a plain `<`.
template <typename T, typename It>
void stable_sort_values(It first, It last, bool descending, bool nan) {
  using Pair = typename std::iterator_traits<It>::value_type;
  if (nan) {
    std::stable_sort(first, last,
                     [descending](const Pair& a, const Pair& b) { return before(a.first, b.first, descending); });
  } else if (descending) {
    std::stable_sort(first, last, [](const Pair& a, const Pair& b) { return b.first < a.first; });
  } else {
    std::stable_sort(first, last, [](const Pair& a, const Pair& b) { return a.first < b.first; });
  }
}

// The same over one long line: chunks sorted on the thread pool, then
// merged (std::inplace_merge keeps the left chunk's equal values first, so
// the whole stays stable).
template <typename T, typename Pair>
void stable_sort_long(std::vector<Pair>& buf, bool descending, bool nan) {
  constexpr int64_t kChunks = 8;
  const int64_t n = static_cast<int64_t>(buf.size());
  const auto bound = [n](int64_t c) { return n * c / kChunks; };
  parallel_for(kChunks, n / kChunks, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      stable_sort_values<T>(buf.begin() + bound(c), buf.begin() + bound(c + 1), descending, nan);
  });
  for (int64_t width = 1; width < kChunks; width *= 2) {
    for (int64_t c = 0; c + width < kChunks; c += 2 * width) {
      const auto first = buf.begin() + bound(c), middle = buf.begin() + bound(c + width);
      const auto last = buf.begin() + bound(std::min(c + 2 * width, kChunks));
      if (nan) {
        std::inplace_merge(first, middle, last,
                           [descending](const Pair& a, const Pair& b) { return before(a.first, b.first, descending); });
      } else {
        std::inplace_merge(first, middle, last, [descending](const Pair& a, const Pair& b) {
          return descending ? b.first < a.first : a.first < b.first;
        });
      }
    }
  }
}

}  // namespace

template <typename T>
void sort_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool descending, bool stable) {
  (void)stable;  // always stable
  const Lines l = lines_of(out, self, dim);
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  // One long line (or a few) is split over the threads; many lines are not.
  const bool split = static_cast<int64_t>(l.in.size()) < 4 && l.len >= (int64_t(1) << 17);
  for_each_line(l, static_cast<const T*>(self.data_ptr()), [&](int64_t i, auto& buf) {
    const bool nan = any_nan<T>(buf);
    if (split) {
      stable_sort_long<T>(buf, descending, nan);
    } else {
      stable_sort_values<T>(buf.begin(), buf.end(), descending, nan);
    }
    for (int64_t k = 0; k < l.len; ++k) o[l.out[i] + k * l.out_step] = buf[k].second;
  });
}

template <typename T>
void topk_indices(const TensorBase& out, const TensorBase& self, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // always sorted
  if (k == 0) return;
  const Lines l = lines_of(out, self, dim);
  const T* in = static_cast<const T*>(self.data_ptr());
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  const ByValueThenPosition<T> cmp{largest};
  if (k <= 32 && k * 16 <= l.len) {
    // Few of many: one pass keeping the best k in order; most elements are
    // turned away by one comparison with the k-th.
    parallel_for(static_cast<int64_t>(l.in.size()), l.len, [&](int64_t b, int64_t e) {
      std::vector<std::pair<T, int64_t>> best(static_cast<size_t>(k) + 1);
      for (int64_t i = b; i < e; ++i) {
        const T* x = in + l.in[i];
        int64_t have = 0;
        for (int64_t p = 0; p < l.len; ++p) {
          const std::pair<T, int64_t> v{x[p * l.in_step], p};
          if (have == k && !cmp(v, best[k - 1])) continue;
          int64_t at = have < k ? have++ : k - 1;
          for (; at > 0 && cmp(v, best[at - 1]); --at) best[at] = best[at - 1];
          best[at] = v;
        }
        for (int64_t j = 0; j < k; ++j) o[l.out[i] + j * l.out_step] = best[j].second;
      }
    });
    return;
  }
  for_each_line(l, in, [&](int64_t i, auto& buf) {
    // Select the first k in O(n), then order only them.
    if (k < l.len) std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), cmp);
    std::sort(buf.begin(), buf.begin() + k, cmp);
    for (int64_t j = 0; j < k; ++j) o[l.out[i] + j * l.out_step] = buf[j].second;
  });
}

template <typename T>
void median_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool ignore_nan) {
  const Lines l = lines_of(out, self, dim);
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  const ByValueThenPosition<T> cmp{false};
  for_each_line(l, static_cast<const T*>(self.data_ptr()), [&](int64_t i, auto& buf) {
    int64_t nans = 0, first_nan = -1;
    for (const auto& p : buf) {
      if (!is_nan(p.first)) continue;
      if (first_nan < 0) first_nan = p.second;
      ++nans;
    }
    if (nans > 0 && (!ignore_nan || nans == l.len)) {  // median: NaN propagates; nanmedian of all NaN: NaN
      o[l.out[i]] = first_nan;
      return;
    }
    const int64_t m = (l.len - nans - 1) / 2;  // the lower median among the numbers
    std::nth_element(buf.begin(), buf.begin() + m, buf.end(), cmp);
    o[l.out[i]] = buf[m].second;
  });
}

template <typename T>
void mode_indices(const TensorBase& out, const TensorBase& self, int64_t dim) {
  const Lines l = lines_of(out, self, dim);
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  const ByValueThenPosition<T> cmp{false};
  for_each_line(l, static_cast<const T*>(self.data_ptr()), [&](int64_t i, auto& buf) {
    std::sort(buf.begin(), buf.end(), cmp);
    // As PyTorch: the first (smallest) value of the longest run, at the
    // run's last position (here the largest index of that value).
    int64_t best = 0, best_at = 0, run = 0;
    for (int64_t k = 0; k < l.len; ++k) {
      ++run;
      if (k + 1 == l.len || buf[k].first != buf[k + 1].first) {
        if (run > best) {
          best = run;
          best_at = buf[k].second;
        }
        run = 0;
      }
    }
    o[l.out[i]] = best_at;
  });
}

template <typename T>
void cummaxmin_indices(const TensorBase& out, const TensorBase& self, int64_t dim, bool max) {
  const Lines l = lines_of(out, self, dim);
  const T* in = static_cast<const T*>(self.data_ptr());
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  parallel_for(static_cast<int64_t>(l.in.size()), l.len, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* x = in + l.in[i];
      T best = l.len > 0 ? x[0] : T(0);
      int64_t at = 0;
      for (int64_t k = 0; k < l.len; ++k) {
        const T v = x[k * l.in_step];
        if (sorting::cum_extreme_takes(v, best, max)) {
          best = v;
          at = k;
        }
        o[l.out[i] + k * l.out_step] = at;
      }
    }
  });
}

template <typename T>
void cumprod(const TensorBase& out, const TensorBase& self, int64_t dim) {
  const Lines l = lines_of(out, self, dim);
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  parallel_for(static_cast<int64_t>(l.in.size()), l.len, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      acc_t<T> a = 1;  // double for floats, as cumsum
      for (int64_t k = 0; k < l.len; ++k) {
        a *= static_cast<acc_t<T>>(in[l.in[i] + k * l.in_step]);
        o[l.out[i] + k * l.out_step] = static_cast<T>(a);
      }
    }
  });
}

template <typename T>
void logcumsumexp(const TensorBase& out, const TensorBase& self, int64_t dim) {
  const Lines l = lines_of(out, self, dim);
  const T* in = static_cast<const T*>(self.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  parallel_for(static_cast<int64_t>(l.in.size()), l.len * 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double a = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < l.len; ++k) {
        const double x = static_cast<double>(in[l.in[i] + k * l.in_step]);
        a = sorting::log_add_exp(a, x);
        o[l.out[i] + k * l.out_step] = static_cast<T>(a);
      }
    }
  });
}

template <typename T>
void searchsorted(const TensorBase& out, const TensorBase& sorted_sequence, const TensorBase& self, bool right) {
  const TensorBase& seq = sorted_sequence;
  const int64_t m = seq.size(seq.dim() - 1), step = seq.stride(seq.dim() - 1);
  const std::vector<int64_t> rows = ix::offsets(IntArrayRef(seq.sizes().data(), seq.sizes().size() - 1),
                                                IntArrayRef(seq.strides().data(), seq.strides().size() - 1));
  const std::vector<int64_t> xs = ix::offsets(self.sizes(), self.strides());
  const std::vector<int64_t> os = ix::offsets(out.sizes(), out.strides());
  const int64_t per_row = seq.dim() == 1 || self.dim() == 0 ? std::max<int64_t>(self.numel(), 1) : self.size(-1);
  const T* s = static_cast<const T*>(seq.data_ptr());
  const T* x = static_cast<const T*>(self.data_ptr());
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  parallel_for(static_cast<int64_t>(xs.size()), 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* row = s + rows[static_cast<size_t>(i / per_row)];
      const T v = x[xs[i]];
      o[os[i]] = sorting::search_position(row, m, step, v, right);
    }
  });
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_sort_indices;
DG_INSTANTIATE_KERNEL_cpu_topk_indices;
DG_INSTANTIATE_KERNEL_cpu_median_indices;
DG_INSTANTIATE_KERNEL_cpu_mode_indices;
DG_INSTANTIATE_KERNEL_cpu_cummaxmin_indices;
DG_INSTANTIATE_KERNEL_cpu_cumprod;
DG_INSTANTIATE_KERNEL_cpu_logcumsumexp;
DG_INSTANTIATE_KERNEL_cpu_searchsorted;
