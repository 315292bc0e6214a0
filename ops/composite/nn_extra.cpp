// More neural-network functions built from other ops: instance_norm (ATen's
// batch_norm over [1, N * C, ...]), channel-wise and alpha dropout,
// pixel_shuffle / pixel_unshuffle (a reshape, a permute, a reshape), cdist,
// im2col / col2im (strided slices of the padded input, and their adjoint),
// conv3d (a sum over the depth taps of conv2d).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/operators.h"
#include "kernels/common/spatial_params.h"
#include "ops/composite.h"
#include "ops/meta.h"

namespace dg::composite {

namespace {

bool given(const std::optional<Tensor>& t) { return t.has_value() && t->defined(); }

// 1 with probability 1 - p, else 0, of input's dtype and device, shaped like
// input or (feature) [N, C, 1, ...]. Drawn on the host, without history.
Tensor keep_mask(const char* op, const Tensor& input, double p, bool feature) {
  NoGradGuard g;
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  if (feature) {
    DG_CHECK(input.dim() >= 2, op, ": feature dropout expects an input of at least 2 dimensions [N, C, ...], got ",
             input.sizes());
    for (size_t i = 2; i < shape.size(); ++i) shape[i] = 1;
  }
  Tensor u = rand(shape, TensorOptions().dtype(kFloat64));
  Tensor keep = u.ge(p).to(input.scalar_type());
  return input.is_cuda() ? keep.to(input.device()) : keep;
}

Tensor dropout_impl(const char* op, const Tensor& input, double p, bool train, bool feature, bool alpha) {
  DG_CHECK(p >= 0.0 && p <= 1.0, op, ": dropout probability has to be between 0 and 1, got ", p);
  if (!train || p == 0.0 || input.numel() == 0) return input;
  check_floating(op, input, "input");
  if (p == 1.0) return input * 0.0;
  const Tensor keep = keep_mask(op, input, p, feature);
  if (!alpha) return input * (keep * (1.0 / (1.0 - p)));
  // SELU's negative saturation -alpha' for the dropped units, then the affine
  // map a x + b that restores mean 0 and variance 1 (ATen's constants).
  constexpr double kAlpha = 1.7580993408473766;
  const double a = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1.0) * (1.0 - p));
  const Tensor b = (keep - 1.0) * (kAlpha * a) + kAlpha * a * p;
  return input * (keep * a) + b;
}

}  // namespace

Tensor instance_norm(const Tensor& input, const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                     const std::optional<Tensor>& running_mean, const std::optional<Tensor>& running_var,
                     bool use_input_stats, double momentum, double eps, bool /*cudnn_enabled*/) {
  const char* op = "instance_norm";
  DG_CHECK(input.defined() && input.dim() >= 2, op,
           ": expected input of shape [N, C, ...] (at least 2 dimensions), got ",
           input.defined() ? input.sizes() : IntArrayRef{});
  DG_CHECK(use_input_stats || (given(running_mean) && given(running_var)), op,
           ": expected running_mean and running_var to be defined when use_input_stats is false");
  const int64_t b = input.size(0), c = input.size(1);
  const std::pair<const std::optional<Tensor>*, const char*> per_channel[] = {
      {&running_mean, "running_mean"}, {&running_var, "running_var"}, {&weight, "weight"}, {&bias, "bias"}};
  for (const auto& [t, name] : per_channel) {
    if (given(*t))
      DG_CHECK((*t)->numel() == c, op, ": expected ", name, " with ", c, " elements (one per channel), got shape ",
               (*t)->sizes());
  }
  if (use_input_stats) {
    const int64_t per_plane = c == 0 || b == 0 ? 0 : input.numel() / (b * c);
    DG_CHECK(per_plane > 1, op, ": expected more than 1 spatial element when training, got input of shape ",
             input.sizes());
  }
  auto repeated = [b](const std::optional<Tensor>& t) -> std::optional<Tensor> {
    if (!given(t)) return std::nullopt;
    return t->reshape({-1}).repeat({b});
  };
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  shape[0] = 1;
  shape[1] = b * c;
  const std::optional<Tensor> rm = repeated(running_mean), rv = repeated(running_var);
  const Tensor out =
      dg::batch_norm(input.reshape(shape), rm, rv, repeated(weight), repeated(bias), use_input_stats, momentum, eps);
  if (use_input_stats) {
    // Each running stat takes the mean over the batch of its per-sample updates.
    NoGradGuard g;
    if (given(running_mean)) running_mean->copy_(rm->view({b, c}).mean({0}).view(running_mean->sizes()));
    if (given(running_var)) running_var->copy_(rv->view({b, c}).mean({0}).view(running_var->sizes()));
  }
  return out.reshape(input.sizes());
}

Tensor feature_dropout(const Tensor& input, double p, bool train) {
  return dropout_impl("feature_dropout", input, p, train, true, false);
}

Tensor alpha_dropout(const Tensor& input, double p, bool train) {
  return dropout_impl("alpha_dropout", input, p, train, false, true);
}

Tensor feature_alpha_dropout(const Tensor& input, double p, bool train) {
  return dropout_impl("feature_alpha_dropout", input, p, train, true, true);
}

Tensor pixel_shuffle(const Tensor& self, int64_t upscale_factor) {
  const char* op = "pixel_shuffle";
  const int64_t r = upscale_factor;
  DG_CHECK(self.dim() >= 3, op, ": expected an input of at least 3 dimensions [*, C, H, W], got input of shape ",
           self.sizes());
  DG_CHECK(r > 0, op, ": expected a positive upscale_factor, got ", r);
  const int64_t c = self.size(-3), h = self.size(-2), w = self.size(-1);
  DG_CHECK(c % (r * r) == 0, op, ": expected the channel dimension (size(-3) = ", c,
           ") to be divisible by upscale_factor squared (", r * r, ")");
  const int64_t n = self.dim() - 3;
  std::vector<int64_t> lead(self.sizes().begin(), self.sizes().end() - 3), split = lead, perm, out = lead;
  split.insert(split.end(), {c / (r * r), r, r, h, w});
  for (int64_t i = 0; i < n; ++i) perm.push_back(i);
  perm.insert(perm.end(), {n, n + 3, n + 1, n + 4, n + 2});
  out.insert(out.end(), {c / (r * r), h * r, w * r});
  return self.reshape(split).permute(perm).reshape(out);
}

Tensor pixel_unshuffle(const Tensor& self, int64_t downscale_factor) {
  const char* op = "pixel_unshuffle";
  const int64_t r = downscale_factor;
  DG_CHECK(self.dim() >= 3, op, ": expected an input of at least 3 dimensions [*, C, H, W], got input of shape ",
           self.sizes());
  DG_CHECK(r > 0, op, ": expected a positive downscale_factor, got ", r);
  const int64_t c = self.size(-3), h = self.size(-2), w = self.size(-1);
  DG_CHECK(h % r == 0 && w % r == 0, op, ": expected height and width divisible by downscale_factor ", r,
           ", got input of shape ", self.sizes());
  const int64_t n = self.dim() - 3;
  std::vector<int64_t> lead(self.sizes().begin(), self.sizes().end() - 3), split = lead, perm, out = lead;
  split.insert(split.end(), {c, h / r, r, w / r, r});
  for (int64_t i = 0; i < n; ++i) perm.push_back(i);
  perm.insert(perm.end(), {n, n + 2, n + 4, n + 1, n + 3});
  out.insert(out.end(), {c * r * r, h / r, w / r});
  return self.reshape(split).permute(perm).reshape(out);
}

Tensor cdist(const Tensor& x1, const Tensor& x2, double p, std::optional<int64_t> compute_mode) {
  const char* op = "cdist";
  DG_CHECK(x1.dim() >= 2 && x2.dim() >= 2, op,
           ": expected x1 [..., P, M] and x2 [..., R, M] of at least 2 dimensions, got shapes ", x1.sizes(), " and ",
           x2.sizes());
  DG_CHECK(x1.size(-1) == x2.size(-1), op, ": expected x1 and x2 with the same number of columns, got ", x1.size(-1),
           " and ", x2.size(-1));
  check_floating(op, x1, "x1");
  check_floating(op, x2, "x2");
  meta::check_same_device(op, {&x1, &x2});
  DG_CHECK(x1.dtype() == x2.dtype(), op, ": expected x1 and x2 of the same dtype, got ", x1.dtype(), " and ",
           x2.dtype());
  DG_CHECK(p >= 0, op, ": expected a non-negative p, got ", p);
  const int64_t mode = compute_mode.value_or(0);
  DG_CHECK(mode >= 0 && mode <= 2, op, ": expected compute_mode None, 0, 1 or 2, got ", mode);
  const int64_t rows1 = x1.size(-2), rows2 = x2.size(-2);
  if (p == 2.0 && (mode == 1 || (mode == 0 && (rows1 > 25 || rows2 > 25)))) {
    // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, one matmul (as ATen's _euclidean_dist).
    const Tensor n1 = (x1 * x1).sum({-1}, true), n2 = (x2 * x2).sum({-1}, true);
    const Tensor d2 = n1 + n2.transpose(-2, -1) - x1.matmul(x2.transpose(-2, -1)) * 2.0;
    return d2.clamp_min(0.0).sqrt();
  }
  const Tensor diff = (x1.unsqueeze(-2) - x2.unsqueeze(-3)).abs();  // [..., P, R, M]
  if (p == 0.0) return diff.ne(0.0).to(x1.scalar_type()).sum({-1});
  if (std::isinf(p)) return diff.amax({-1});
  if (p == 1.0) return diff.sum({-1});
  return diff.pow(p).sum({-1}).pow(1.0 / p);
}

namespace {

// The block geometry of im2col / col2im on a [N, C, H, W] image.
struct Blocks {
  DimVector k, d, p, s;
  int64_t oh = 0, ow = 0;
};

Blocks blocks_of(const char* op, int64_t h, int64_t w, IntArrayRef kernel_size, IntArrayRef dilation,
                 IntArrayRef padding, IntArrayRef stride) {
  Blocks b;
  b.k = param::expand(op, "kernel_size", kernel_size, 2);
  b.d = param::expand(op, "dilation", dilation, 2);
  b.p = param::expand(op, "padding", padding, 2);
  b.s = param::expand(op, "stride", stride, 2);
  param::check_all(op, "kernel_size", b.k, 1, "positive");
  param::check_all(op, "dilation", b.d, 1, "positive");
  param::check_all(op, "padding", b.p, 0, "non-negative");
  param::check_all(op, "stride", b.s, 1, "positive");
  const int64_t span_h = h + 2 * b.p[0] - (b.d[0] * (b.k[0] - 1) + 1);
  const int64_t span_w = w + 2 * b.p[1] - (b.d[1] * (b.k[1] - 1) + 1);
  DG_CHECK(span_h >= 0 && span_w >= 0, op, ": expected the padded image (", h + 2 * b.p[0], " x ", w + 2 * b.p[1],
           ") to hold at least one dilated kernel (", b.d[0] * (b.k[0] - 1) + 1, " x ", b.d[1] * (b.k[1] - 1) + 1, ")");
  b.oh = span_h / b.s[0] + 1;
  b.ow = span_w / b.s[1] + 1;
  return b;
}

}  // namespace

Tensor im2col(const Tensor& self, IntArrayRef kernel_size, IntArrayRef dilation, IntArrayRef padding,
              IntArrayRef stride) {
  const char* op = "im2col";
  DG_CHECK(self.dim() == 3 || self.dim() == 4, op,
           ": expected a 3-D (unbatched) or 4-D (batched) input [N, C, H, W], got input of shape ", self.sizes());
  const bool batched = self.dim() == 4;
  const Tensor x = batched ? self : self.unsqueeze(0);
  const int64_t n = x.size(0), c = x.size(1);
  DG_CHECK(x.size(2) > 0 && x.size(3) > 0, op, ": expected an input of non-zero height and width, got input of shape ",
           self.sizes());
  const Blocks b = blocks_of(op, x.size(2), x.size(3), kernel_size, dilation, padding, stride);
  const Tensor xp = b.p[0] || b.p[1] ? dg::constant_pad_nd(x, {b.p[1], b.p[1], b.p[0], b.p[0]}) : x;
  std::vector<Tensor> taps;
  for (int64_t i = 0; i < b.k[0]; ++i) {
    const int64_t h0 = i * b.d[0];
    const Tensor rows = xp.slice(2, h0, h0 + b.s[0] * (b.oh - 1) + 1, b.s[0]);
    for (int64_t j = 0; j < b.k[1]; ++j) {
      const int64_t w0 = j * b.d[1];
      taps.push_back(rows.slice(3, w0, w0 + b.s[1] * (b.ow - 1) + 1, b.s[1]));
    }
  }
  const Tensor y = dg::stack(taps, 2).reshape({n, c * b.k[0] * b.k[1], b.oh * b.ow});
  return batched ? y : y.squeeze(0);
}

Tensor col2im(const Tensor& self, IntArrayRef output_size, IntArrayRef kernel_size, IntArrayRef dilation,
              IntArrayRef padding, IntArrayRef stride) {
  const char* op = "col2im";
  DG_CHECK(self.dim() == 2 || self.dim() == 3, op,
           ": expected a 2-D (unbatched) or 3-D (batched) input [N, C * kh * kw, L], got input of shape ",
           self.sizes());
  const DimVector out = param::expand(op, "output_size", output_size, 2);
  param::check_all(op, "output_size", out, 1, "positive");
  const bool batched = self.dim() == 3;
  const Tensor x = batched ? self : self.unsqueeze(0);
  const Blocks b = blocks_of(op, out[0], out[1], kernel_size, dilation, padding, stride);
  const int64_t taps = b.k[0] * b.k[1];
  DG_CHECK(x.size(1) % taps == 0, op, ": expected input.size(", batched ? 1 : 0,
           ") to be divisible by the product of kernel_size (", taps, "), got ", x.size(1));
  DG_CHECK(x.size(2) == b.oh * b.ow, op, ": expected input.size(", batched ? 2 : 1, ") to be the number of blocks ",
           b.oh, " * ", b.ow, " = ", b.oh * b.ow, " for output_size ", out, ", got ", x.size(2));
  const int64_t n = x.size(0), c = x.size(1) / taps;
  const int64_t hp = out[0] + 2 * b.p[0], wp = out[1] + 2 * b.p[1];
  const Tensor cols = x.reshape({n, c, b.k[0], b.k[1], b.oh, b.ow});
  Tensor acc;
  for (int64_t i = 0; i < b.k[0]; ++i) {
    const int64_t h0 = i * b.d[0];
    for (int64_t j = 0; j < b.k[1]; ++j) {
      const int64_t w0 = j * b.d[1];
      const Tensor tap = cols.select(2, i).select(2, j);  // [N, C, OH, OW]
      const Tensor wide = dg::slice_backward(tap, {n, c, b.oh, wp}, 3, w0, w0 + b.s[1] * (b.ow - 1) + 1, b.s[1]);
      const Tensor full = dg::slice_backward(wide, {n, c, hp, wp}, 2, h0, h0 + b.s[0] * (b.oh - 1) + 1, b.s[0]);
      acc = acc.defined() ? acc + full : full;
    }
  }
  const Tensor y = b.p[0] || b.p[1] ? acc.slice(2, b.p[0], b.p[0] + out[0]).slice(3, b.p[1], b.p[1] + out[1]) : acc;
  return batched ? y : y.squeeze(0);
}

Tensor conv3d(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, IntArrayRef stride,
              IntArrayRef padding, IntArrayRef dilation, int64_t groups) {
  const char* op = "conv3d";
  DG_CHECK(input.defined() && weight.defined(), op, ": input and weight must be defined tensors");
  DG_CHECK(weight.dim() == 5, op, ": expected weight of 5 dimensions [C_out, C / groups, KD, KH, KW], got ",
           weight.sizes());
  DG_CHECK(input.dim() == 4 || input.dim() == 5, op,
           ": expected input of 4 (unbatched) or 5 (batched) dimensions, got ", input.sizes());
  meta::check_same_device(op, {&input, &weight});
  DG_CHECK(input.dtype() == weight.dtype(), op, ": expected input and weight to have the same dtype, got ",
           input.dtype(), " and ", weight.dtype());
  DG_CHECK(groups > 0, op, ": groups must be positive, got ", groups);
  const bool batched = input.dim() == 5;
  const Tensor x = batched ? input : input.unsqueeze(0);
  const DimVector s = param::expand(op, "stride", stride, 3), p = param::expand(op, "padding", padding, 3),
                  d = param::expand(op, "dilation", dilation, 3);
  param::check_all(op, "stride", s, 1, "positive");
  param::check_all(op, "padding", p, 0, "non-negative");
  param::check_all(op, "dilation", d, 1, "positive");
  DG_CHECK(x.size(1) == weight.size(1) * groups, op, ": input has ", x.size(1), " channels but weight expects ",
           weight.size(1) * groups, " (groups=", groups, ")");
  DG_CHECK(weight.size(0) % groups == 0, op, ": weight has ", weight.size(0), " output channels, which groups=", groups,
           " does not divide");
  const int64_t n = x.size(0), c = x.size(1), kd = weight.size(2), co = weight.size(0);
  const int64_t padded = x.size(2) + 2 * p[0], kernel = d[0] * (kd - 1) + 1;
  DG_CHECK(kd > 0 && padded >= kernel, op, ": the padded input (depth ", padded,
           ") is smaller than the dilated kernel (depth ", kernel, "); input ", input.sizes(), ", weight ",
           weight.sizes());
  const int64_t od = (padded - kernel) / s[0] + 1;
  const Tensor xp = p[0] ? dg::constant_pad_nd(x, {0, 0, 0, 0, p[0], p[0]}) : x;
  // Output depth o reads input depth o * s + k * d for each depth tap k: the
  // taps' depth slices, depth moved into the batch, are 2-D convolutions.
  Tensor acc;
  for (int64_t k = 0; k < kd; ++k) {
    const int64_t d0 = k * d[0];
    const Tensor slab =
        xp.slice(2, d0, d0 + s[0] * (od - 1) + 1, s[0]).transpose(1, 2).reshape({n * od, c, x.size(3), x.size(4)});
    const Tensor y =
        dg::conv2d(slab, weight.select(2, k), std::nullopt, {s[1], s[2]}, {p[1], p[2]}, {d[1], d[2]}, groups);
    acc = acc.defined() ? acc + y : y;
  }
  Tensor y = acc.reshape({n, od, co, acc.size(2), acc.size(3)}).transpose(1, 2).contiguous();
  if (given(bias)) {
    DG_CHECK(bias->dim() == 1 && bias->size(0) == co, op, ": expected bias of shape [", co,
             "] (one per output channel), got ", bias->sizes());
    y = y + bias->view({1, co, 1, 1, 1});
  }
  return batched ? y : y.squeeze(0);
}

std::tuple<Tensor, Tensor, Tensor, Tensor> embedding_bag(const Tensor& weight, const Tensor& indices,
                                                         const Tensor& offsets, bool scale_grad_by_freq, int64_t mode,
                                                         bool sparse, const std::optional<Tensor>& per_sample_weights,
                                                         bool include_last_offset) {
  const char* op = "embedding_bag";
  DG_CHECK(weight.dim() == 2, op, ": expected weight of 2 dimensions [num_embeddings, D], got ", weight.sizes());
  DG_CHECK(indices.dim() == 1 && indices.dtype() == kInt64, op, ": expected 1-D int64 indices, got ", indices.dtype(),
           " of shape ", indices.sizes());
  DG_CHECK(offsets.dim() == 1 && offsets.dtype() == kInt64, op, ": expected 1-D int64 offsets, got ", offsets.dtype(),
           " of shape ", offsets.sizes());
  DG_CHECK(mode >= 0 && mode <= 2, op, ": expected mode 0 (sum), 1 (mean) or 2 (max), got ", mode);
  const bool weighted = given(per_sample_weights);
  if (weighted) {
    DG_CHECK(mode == 0, op, ": per_sample_weights are only supported with mode 0 (sum), got mode ", mode);
    DG_CHECK(per_sample_weights->sizes() == indices.sizes(), op, ": expected per_sample_weights of indices' shape ",
             indices.sizes(), ", got ", per_sample_weights->sizes());
  }
  const int64_t n = indices.numel(), d = weight.size(1);
  const std::vector<double> off = values(offsets);
  const int64_t bags = static_cast<int64_t>(off.size()) - (include_last_offset ? 1 : 0);
  DG_CHECK(bags >= 0 && (off.empty() || off[0] == 0), op, ": expected offsets to start at 0, got offsets of shape ",
           offsets.sizes(), off.empty() ? "" : " starting at ", off.empty() ? 0 : static_cast<int64_t>(off[0]));
  std::vector<int64_t> start(static_cast<size_t>(bags) + 1);
  for (int64_t b = 0; b < bags; ++b) start[b] = static_cast<int64_t>(off[b]);
  start[bags] = include_last_offset ? static_cast<int64_t>(off[bags]) : n;
  for (int64_t b = 0; b < bags; ++b)
    DG_CHECK(start[b] <= start[b + 1] && start[b + 1] <= n, op,
             ": expected non-decreasing offsets of at most the number of indices (", n, "), got offsets[", b + 1,
             "] = ", start[b + 1], " after ", start[b]);
  std::vector<int64_t> bag_of(static_cast<size_t>(n), 0), count(static_cast<size_t>(bags), 0);
  for (int64_t b = 0; b < bags; ++b)
    for (int64_t i = start[b]; i < start[b + 1]; ++i) bag_of[i] = b, ++count[b];
  const TensorOptions iopt = TensorOptions().dtype(kInt64);
  Tensor offset2bag = dg::tensor(bag_of, kInt64).to(indices.device());
  // embedding checks the index range and carries scale_grad_by_freq.
  Tensor rows = dg::embedding(weight, indices, -1, scale_grad_by_freq, sparse);  // [n, D]
  if (weighted) rows = rows * per_sample_weights->unsqueeze(1);
  const Tensor zeros_bd = dg::zeros({bags, d}, TensorOptions().dtype(weight.scalar_type())).to(weight.device());
  Tensor sizes = dg::tensor(count, kInt64).to(indices.device());
  if (mode == 0) {
    const Tensor z = dg::zeros({static_cast<int64_t>(off.size())}, iopt).to(indices.device());
    return {zeros_bd.index_add(0, offset2bag, rows), offset2bag, z, z.clone()};
  }
  if (mode == 1) {
    const Tensor denom = sizes.to(weight.scalar_type()).clamp_min(1.0).unsqueeze(1);
    return {zeros_bd.index_add(0, offset2bag, rows) / denom, offset2bag, sizes, sizes.clone()};
  }
  std::vector<Tensor> maxima, argmax;
  for (int64_t b = 0; b < bags; ++b) {
    if (count[b] == 0) {
      maxima.push_back(zeros_bd.select(0, b));
      argmax.push_back(dg::zeros({d}, iopt).to(indices.device()));
      continue;
    }
    auto [v, i] = rows.narrow(0, start[b], count[b]).max(0);
    maxima.push_back(v);
    argmax.push_back(indices.narrow(0, start[b], count[b]).index_select(0, i));
  }
  if (bags == 0) return {zeros_bd, offset2bag, sizes, dg::zeros({0, d}, iopt).to(indices.device())};
  return {dg::stack(maxima, 0), offset2bag, sizes, dg::stack(argmax, 0)};
}

Tensor unfold_backward(const Tensor& grad_in, IntArrayRef input_sizes, int64_t dim, int64_t size, int64_t step) {
  const char* op = "unfold_backward";
  const int64_t nd = static_cast<int64_t>(input_sizes.size());
  DG_CHECK(grad_in.dim() == std::max<int64_t>(nd, 1) + (nd == 0 ? 0 : 1), op,
           ": expected grad_in of one more dimension than input_sizes ", input_sizes, ", got ", grad_in.sizes());
  if (nd == 0) return grad_in.reshape({});
  const int64_t d = dim < 0 ? dim + nd : dim;
  DG_CHECK(d >= 0 && d < nd, op, ": dim ", dim, " is out of range for input_sizes ", input_sizes);
  DG_CHECK(step > 0, op, ": expected a positive step, got step=", step);
  const int64_t windows = grad_in.size(d);
  // Element k of every window sits at k, k + step, ...: the adjoint of that
  // strided slice puts it back; the windows' elements add up.
  Tensor acc;
  for (int64_t k = 0; k < size; ++k) {
    const Tensor part =
        dg::slice_backward(grad_in.select(-1, k), input_sizes, d, k, k + step * (windows - 1) + 1, step);
    acc = acc.defined() ? acc + part : part;
  }
  return acc.defined() ? acc
                       : dg::zeros(input_sizes, TensorOptions().dtype(grad_in.scalar_type())).to(grad_in.device());
}

}  // namespace dg::composite
