// Convolution (1-D and 2-D, groups, stride, padding, dilation, transposed).
//
// Everything is expressed with the three products of one ordinary
// convolution y = conv(x, w): forward (x, w -> y), backward data (gy, w -> gx)
// and backward weights (gy, x -> gw). A transposed convolution is the
// backward-data product of the ordinary convolution it inverts, and the
// backward of each op is another of the three, so one set of kernels serves
// convolution_nobias, convolution_backward_input and
// convolution_backward_weight in both modes. 1-D is 2-D with a height of 1.
//
// float32 runs oneDNN's convolution primitives (cached by shape, on plain
// NCHW memory or, where measured faster, in oneDNN's blocked layouts with
// reorders); float64, shapes oneDNN refuses and empty problems run direct
// loops.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "common/conv_geometry.h"
#include "cpu/dense.h"
#include "cpu/parallel.h"
#include "dynagrad/cpu_allocator.h"
#include "kernel_decls.h"

namespace dg::cpu {

namespace {

// One ordinary convolution: x [N, C, H, W] * w [O, C / G, KH, KW] -> y [N, O, OH, OW].
struct ConvGeom {
  int64_t N, C, H, W, O, KH, KW, OH, OW, sh, sw, ph, pw, dh, dw, G;
  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  bool empty() const { return N == 0 || C == 0 || O == 0 || OH == 0 || OW == 0 || H == 0 || W == 0; }
};

// The 2-D view of the shared geometry (1-D is 2-D with a height of 1; its
// padding in front makes the last two slots the 2-D ones).
ConvGeom geom_2d(const conv::Geom& c) {
  DG_CHECK(c.spatial <= 2, "convolution", ": only 1 and 2 spatial dimensions are supported on the CPU, got ",
           c.spatial);
  constexpr int h = conv::kMaxSpatial - 2, w = conv::kMaxSpatial - 1;
  ConvGeom g{};
  g.N = c.N, g.C = c.C, g.O = c.O, g.G = c.G;
  g.H = c.in[h], g.W = c.in[w], g.KH = c.k[h], g.KW = c.k[w], g.OH = c.out[h], g.OW = c.out[w];
  g.sh = c.s[h], g.sw = c.s[w], g.ph = c.p[h], g.pw = c.p[w], g.dh = c.d[h], g.dw = c.d[w];
  return g;
}

// ---------------------------------------------------------------- direct loops

// For each kernel tap (kh, kw): the output rows/cols that read inside the
// input, and the input offset they read at.
struct Tap {
  int64_t oh0, oh1, ow0, ow1, offh, offw;
};

inline Tap tap(const ConvGeom& g, int64_t kh, int64_t kw) {
  Tap t{};
  t.offh = kh * g.dh - g.ph;
  t.offw = kw * g.dw - g.pw;
  cv::valid_range(t.offh, g.sh, g.H, g.OH, t.oh0, t.oh1);
  cv::valid_range(t.offw, g.sw, g.W, g.OW, t.ow0, t.ow1);
  return t;
}

template <typename T>
void loop_forward(T* y, const T* x, const T* w, const ConvGeom& g) {
  const int64_t Cg = g.Cg(), Og = g.Og(), HW = g.H * g.W, OHW = g.OH * g.OW, K = g.KH * g.KW;
  parallel_for(g.N * g.O, Cg * K * OHW, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t n = idx / g.O, o = idx % g.O, grp = o / Og;
      T* yp = y + idx * OHW;
      std::fill(yp, yp + OHW, T(0));
      for (int64_t c = 0; c < Cg; ++c) {
        const T* xp = x + (n * g.C + grp * Cg + c) * HW;
        const T* wp = w + (o * Cg + c) * K;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const Tap t = tap(g, kh, kw);
            const T wv = wp[kh * g.KW + kw];
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              const T* xr = xp + (oh * g.sh + t.offh) * g.W + t.offw;
              T* yr = yp + oh * g.OW;
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) yr[ow] += wv * xr[ow * g.sw];
            }
          }
        }
      }
    }
  });
}

template <typename T>
void loop_backward_data(T* gx, const T* gy, const T* w, const ConvGeom& g) {
  const int64_t Cg = g.Cg(), Og = g.Og(), HW = g.H * g.W, OHW = g.OH * g.OW, K = g.KH * g.KW;
  // One task per input channel: each writes only its own plane of gx.
  parallel_for(g.N * g.C, Og * K * OHW, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t n = idx / g.C, ci = idx % g.C, grp = ci / Cg, c = ci % Cg;
      T* xp = gx + idx * HW;
      std::fill(xp, xp + HW, T(0));
      for (int64_t o = grp * Og; o < (grp + 1) * Og; ++o) {
        const T* yp = gy + (n * g.O + o) * OHW;
        const T* wp = w + (o * Cg + c) * K;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const Tap t = tap(g, kh, kw);
            const T wv = wp[kh * g.KW + kw];
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              T* xr = xp + (oh * g.sh + t.offh) * g.W + t.offw;
              const T* yr = yp + oh * g.OW;
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) xr[ow * g.sw] += wv * yr[ow];
            }
          }
        }
      }
    }
  });
}

template <typename T>
void loop_backward_weight(T* gw, const T* gy, const T* x, const ConvGeom& g) {
  const int64_t Cg = g.Cg(), Og = g.Og(), HW = g.H * g.W, OHW = g.OH * g.OW, K = g.KH * g.KW;
  parallel_for(g.O * Cg, g.N * K * OHW, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t o = idx / Cg, c = idx % Cg, grp = o / Og;
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const Tap t = tap(g, kh, kw);
          T acc = 0;
          for (int64_t n = 0; n < g.N; ++n) {
            const T* yp = gy + (n * g.O + o) * OHW;
            const T* xp = x + (n * g.C + grp * Cg + c) * HW;
            for (int64_t oh = t.oh0; oh < t.oh1; ++oh) {
              const T* xr = xp + (oh * g.sh + t.offh) * g.W + t.offw;
              const T* yr = yp + oh * g.OW;
              for (int64_t ow = t.ow0; ow < t.ow1; ++ow) acc += yr[ow] * xr[ow * g.sw];
            }
          }
          gw[idx * K + kh * g.KW + kw] = acc;
        }
      }
    }
  });
}

// ---------------------------------------------------------------- oneDNN f32

enum class ConvKind : int64_t { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

struct ConvKey {
  std::array<int64_t, 18> v;
  bool operator==(const ConvKey& o) const { return v == o.v; }
};
struct ConvKeyHash {
  size_t operator()(const ConvKey& k) const {
    size_t h = 1469598103934665603ull;
    for (int64_t x : k.v) h = (h ^ static_cast<size_t>(x)) * 1099511628211ull;
    return h;
  }
};

// The memory each argument of a product is in: role x, w, y as (user
// layout, layout the primitive wants). They differ when oneDNN's faster
// blocked-layout kernels are chosen; then the argument is reordered on the
// way in (inputs) or out (the output).
struct ConvArgs {
  dnnl::memory::desc x, w, y;
};

// DG_CONV_LAYOUT=plain|blocked forces one side of the choice below (the
// tests check both against float64); unset, each shape takes the faster.
enum class Layout : int64_t { kMeasure = 0, kPlain = 1, kBlocked = 2 };
Layout layout_policy() {
  const char* e = std::getenv("DG_CONV_LAYOUT");
  if (!e) return Layout::kMeasure;
  if (std::strcmp(e, "plain") == 0) return Layout::kPlain;
  if (std::strcmp(e, "blocked") == 0) return Layout::kBlocked;
  return Layout::kMeasure;
}

class ConvContext {
 public:
  static ConvContext& get() {
    static ConvContext ctx;
    return ctx;
  }
  const dnnl::engine& engine() const { return engine_; }

  struct Entry {
    bool ok = false;  // false: oneDNN has no implementation for this shape; use the loops
    dnnl::primitive prim;
    ConvArgs user, impl;
  };

  Entry primitive(ConvKind kind, const ConvGeom& g) {
    const Layout layout = layout_policy();
    const ConvKey key{{static_cast<int64_t>(kind), g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.OH, g.OW, g.sh, g.sw, g.ph,
                       g.pw, g.dh, g.dw, g.G, static_cast<int64_t>(layout)}};
    std::lock_guard<std::mutex> lk(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    Entry e = choose(kind, g, layout);
    if (cache_.size() >= kMaxEntries) cache_.clear();  // shapes churn rarely; keep it bounded
    cache_.emplace(key, e);
    return e;
  }

  // Runs a product on user-layout buffers, reordering where the entry's
  // primitive wants another layout.
  void run(const Entry& e, ConvKind kind, float* x, float* w, float* y) const {
    thread_local dnnl::stream stream(engine_);  // streams are per thread, primitives shared
    const bool x_out = kind == ConvKind::kBackwardData, w_out = kind == ConvKind::kBackwardWeights,
               y_out = kind == ConvKind::kForward;
    Staged xs(*this, stream, e.user.x, e.impl.x, x, x_out), ws(*this, stream, e.user.w, e.impl.w, w, w_out),
        ys(*this, stream, e.user.y, e.impl.y, y, y_out);
    switch (kind) {
      case ConvKind::kForward:
        e.prim.execute(stream, {{DNNL_ARG_SRC, xs.mem}, {DNNL_ARG_WEIGHTS, ws.mem}, {DNNL_ARG_DST, ys.mem}});
        break;
      case ConvKind::kBackwardData:
        e.prim.execute(stream, {{DNNL_ARG_DIFF_SRC, xs.mem}, {DNNL_ARG_WEIGHTS, ws.mem}, {DNNL_ARG_DIFF_DST, ys.mem}});
        break;
      case ConvKind::kBackwardWeights:
        e.prim.execute(stream, {{DNNL_ARG_SRC, xs.mem}, {DNNL_ARG_DIFF_WEIGHTS, ws.mem}, {DNNL_ARG_DIFF_DST, ys.mem}});
        break;
    }
    xs.finish(stream);
    ws.finish(stream);
    ys.finish(stream);
    stream.wait();
  }

 private:
  static constexpr size_t kMaxEntries = 512;
  ConvContext() : engine_(dnnl::engine::kind::cpu, 0) {}

  // One argument in the primitive's layout: the user's memory itself, or a
  // temporary reordered from it (input) or into it (output, on finish()).
  struct Staged {
    Staged(const ConvContext& ctx, dnnl::stream& stream, const dnnl::memory::desc& user, const dnnl::memory::desc& impl,
           float* data, bool is_output)
        : user_mem(user, ctx.engine_, data), output(is_output) {
      if (impl == user) {
        mem = user_mem;
        return;
      }
      bytes = impl.get_size();
      scratch = cpu::allocate(bytes);
      mem = dnnl::memory(impl, ctx.engine_, scratch);
      if (!output) dnnl::reorder(user_mem, mem).execute(stream, user_mem, mem);
    }
    void finish(dnnl::stream& stream) {
      if (scratch && output) dnnl::reorder(mem, user_mem).execute(stream, mem, user_mem);
    }
    ~Staged() {
      if (scratch) cpu::deallocate(scratch, bytes);
    }
    Staged(const Staged&) = delete;
    Staged& operator=(const Staged&) = delete;
    dnnl::memory user_mem, mem;
    void* scratch = nullptr;
    size_t bytes = 0;
    bool output;
  };

  static ConvArgs user_args(const ConvGeom& g, bool any) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    auto t = [any](tag plain) { return any ? tag::any : plain; };
    return {dnnl::memory::desc({g.N, g.C, g.H, g.W}, dt::f32, t(tag::nchw)),
            g.G == 1 ? dnnl::memory::desc({g.O, g.C, g.KH, g.KW}, dt::f32, t(tag::oihw))
                     : dnnl::memory::desc({g.G, g.Og(), g.Cg(), g.KH, g.KW}, dt::f32, t(tag::goihw)),
            dnnl::memory::desc({g.N, g.O, g.OH, g.OW}, dt::f32, t(tag::nchw))};
  }

  // The primitive for `kind`, on plain memory (`any` false) or in the
  // layouts oneDNN prefers; throws dnnl::error when there is none.
  Entry create(ConvKind kind, const ConvGeom& g, bool any) const {
    Entry e;
    e.user = user_args(g, false);
    const ConvArgs a = user_args(g, any);
    // oneDNN wants the right padding explicitly; the exact value can be
    // negative when the stride skips the input's last elements, and any
    // value up to stride - 1 larger describes the same output size.
    auto pad_r = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
      const int64_t exact = (out - 1) * s + (k - 1) * d + 1 - in - p;
      return exact < 0 && exact + s - 1 >= 0 ? int64_t(0) : exact;
    };
    const dnnl::memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pl{g.ph, g.pw},
        pr{pad_r(g.H, g.OH, g.KH, g.sh, g.ph, g.dh), pad_r(g.W, g.OW, g.KW, g.sw, g.pw, g.dw)};
    const auto alg = dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, a.x, a.w, a.y, strides, dil, pl, pr),
        engine_);
    if (kind == ConvKind::kForward) {
      e.impl = {fwd.src_desc(), fwd.weights_desc(), fwd.dst_desc()};
      e.prim = dnnl::convolution_forward(fwd);
    } else if (kind == ConvKind::kBackwardData) {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(alg, a.x, a.w, a.y, strides, dil, pl, pr), engine_, fwd);
      e.impl = {pd.diff_src_desc(), pd.weights_desc(), pd.diff_dst_desc()};
      e.prim = dnnl::convolution_backward_data(pd);
    } else {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(alg, a.x, a.w, a.y, strides, dil, pl, pr), engine_, fwd);
      e.impl = {pd.src_desc(), pd.diff_weights_desc(), pd.diff_dst_desc()};
      e.prim = dnnl::convolution_backward_weights(pd);
    }
    e.ok = true;
    return e;
  }

  // Plain NCHW or oneDNN's own layouts (plus reorders), whichever runs this
  // shape faster: measured once, on zeroed buffers, when the shape is first
  // seen. Neither wins everywhere (on 2 EPYC cores the blocked kernels were
  // 2-7x faster for the backward-weights of a [64,8,14,14] 3x3 layer and 8x
  // slower for the backward-data of a 1-channel input).
  Entry choose(ConvKind kind, const ConvGeom& g, Layout layout) const {
    Entry plain, blocked;
    try {
      if (layout != Layout::kBlocked) plain = create(kind, g, false);
    } catch (const dnnl::error&) {}
    try {
      if (layout != Layout::kPlain) blocked = create(kind, g, true);
    } catch (const dnnl::error&) {}
    if (!blocked.ok) return plain;
    if (!plain.ok) return blocked;
    if (blocked.impl.x == plain.impl.x && blocked.impl.w == plain.impl.w && blocked.impl.y == plain.impl.y)
      return plain;
    const ConvArgs u = plain.user;
    std::vector<float> x(u.x.get_size() / sizeof(float)), w(u.w.get_size() / sizeof(float)),
        y(u.y.get_size() / sizeof(float));
    auto best_of_two = [&](const Entry& e) {
      double best = 1e30;
      for (int i = 0; i < 2; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run(e, kind, x.data(), w.data(), y.data());
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return best;
    };
    return best_of_two(blocked) < best_of_two(plain) ? blocked : plain;
  }

  dnnl::engine engine_;
  std::mutex mutex_;
  std::unordered_map<ConvKey, Entry, ConvKeyHash> cache_;
};

// Runs one product with oneDNN; false when oneDNN cannot (the caller loops).
bool dnnl_conv(ConvKind kind, const ConvGeom& g, float* x, float* w, float* y) {
  if (g.empty()) return false;
  ConvContext& ctx = ConvContext::get();
  const ConvContext::Entry e = ctx.primitive(kind, g);
  if (!e.ok) return false;
  ctx.run(e, kind, x, w, y);
  return true;
}

// ---------------------------------------------------------------- the three products

template <typename T>
void conv_forward(const TensorBase& y, const TensorBase& x, const TensorBase& w, const ConvGeom& g) {
  const TensorBase xd = cv::dense<T>(x), wd = cv::dense<T>(w);
  cv::DenseOut<T> yd(y);
  bool done = false;
  if constexpr (std::is_same_v<T, float>)
    done = dnnl_conv(ConvKind::kForward, g, xd.data_ptr<float>(), wd.data_ptr<float>(), yd.data());
  if (!done) loop_forward<T>(yd.data(), xd.data_ptr<T>(), wd.data_ptr<T>(), g);
  yd.finish();
}

template <typename T>
void conv_backward_data(const TensorBase& gx, const TensorBase& gy, const TensorBase& w, const ConvGeom& g) {
  const TensorBase gyd = cv::dense<T>(gy), wd = cv::dense<T>(w);
  cv::DenseOut<T> gxd(gx);
  bool done = false;
  if constexpr (std::is_same_v<T, float>)
    done = dnnl_conv(ConvKind::kBackwardData, g, gxd.data(), wd.data_ptr<float>(), gyd.data_ptr<float>());
  if (!done) loop_backward_data<T>(gxd.data(), gyd.data_ptr<T>(), wd.data_ptr<T>(), g);
  gxd.finish();
}

template <typename T>
void conv_backward_weight(const TensorBase& gw, const TensorBase& gy, const TensorBase& x, const ConvGeom& g) {
  const TensorBase gyd = cv::dense<T>(gy), xd = cv::dense<T>(x);
  cv::DenseOut<T> gwd(gw);
  bool done = false;
  if constexpr (std::is_same_v<T, float>)
    done = dnnl_conv(ConvKind::kBackwardWeights, g, xd.data_ptr<float>(), gwd.data(), gyd.data_ptr<float>());
  if (!done) loop_backward_weight<T>(gwd.data(), gyd.data_ptr<T>(), xd.data_ptr<T>(), g);
  gwd.finish();
}

// Runs the product an op's plan names (kernels/common/conv_geometry.h).
template <typename T>
void run(const TensorBase& out, const conv::Plan& p) {
  if (out.numel() == 0) return;
  const ConvGeom g = geom_2d(p.g);
  switch (p.product) {
    case conv::Product::kForward: return conv_forward<T>(out, p.a, p.b, g);
    case conv::Product::kBackwardData: return conv_backward_data<T>(out, p.a, p.b, g);
    case conv::Product::kBackwardWeight: return conv_backward_weight<T>(out, p.a, p.b, g);
  }
}

}  // namespace

// output_padding is already in the shapes, and so are input_size and
// weight_size (out's).
template <typename T>
void convolution_nobias(const TensorBase& out, const TensorBase& input, const TensorBase& weight, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/,
                        int64_t groups) {
  run<T>(out, conv::plan_convolution(out, input, weight, stride, padding, dilation, transposed, groups));
}

template <typename T>
void convolution_backward_input(const TensorBase& out, const TensorBase& grad_output, const TensorBase& weight,
                                IntArrayRef /*input_size*/, IntArrayRef stride, IntArrayRef padding,
                                IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/, int64_t groups) {
  run<T>(out, conv::plan_backward_input(out, grad_output, weight, stride, padding, dilation, transposed, groups));
}

template <typename T>
void convolution_backward_weight(const TensorBase& out, const TensorBase& grad_output, const TensorBase& input,
                                 IntArrayRef /*weight_size*/, IntArrayRef stride, IntArrayRef padding,
                                 IntArrayRef dilation, bool transposed, IntArrayRef /*output_padding*/,
                                 int64_t groups) {
  run<T>(out, conv::plan_backward_weight(out, grad_output, input, stride, padding, dilation, transposed, groups));
}

}  // namespace dg::cpu

DG_INSTANTIATE_KERNEL_cpu_convolution_nobias;
DG_INSTANTIATE_KERNEL_cpu_convolution_backward_input;
DG_INSTANTIATE_KERNEL_cpu_convolution_backward_weight;
