// dg_bench: dynagrad and LibTorch side by side in one process, on the same
// inputs and thread counts, so the ratio column is a like-for-like comparison.
// The cases are issue 5's benchmark suite; tools/bench/RESULTS.md has the
// numbers and how to read them.
//
// LibTorch is timed twice: in this process as shipped, and in a re-exec of this
// binary with OMP_WAIT_POLICY=passive (the variable is read once, when OpenMP
// starts, so it cannot be flipped in-process). Peak RSS and start-up time are
// per process, so they are measured by re-executing too: the dynagrad numbers
// come from dg_bench_dgonly (this file built without LibTorch), since a
// LibTorch-linked binary maps and initialises libtorch before main().
//
// Usage: dg_bench [--quick] [--threads N] [--only GROUP,...]
//   groups: chain,pointwise,matmul,mlp,cnn,double,rnn,index,linalg,data,optim,process
//   internal modes (used by the re-execs, usable by hand):
//   --torch-only        run only the LibTorch cases, print "R key value" lines
//   --rss mlp-dg|mlp-torch  run only the MLP steps with one library, print its peak RSS (KiB)
//   --noop-dg | --noop-torch  make one 1-element tensor and exit
#include <dynagrad/data.h>
#include <dynagrad/dynagrad.h>
#include <dynagrad/optim.h>

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef DG_HAVE_LIBTORCH
#include <ATen/ATen.h>  // tensors + autograd; the nn frontend is not needed
#include <ATen/Parallel.h>
#include <ATen/TensorIndexing.h>
#include <torch/csrc/autograd/autograd.h>  // torch::autograd::grad, for the double backward
#include <torch/data.h>                    // the data group: MNIST, transforms, DataLoader
#include <torch/nn.h>                      // rnn (LSTM), train and checkpoint groups (tools/bench_train.h)
#include <torch/optim.h>                   // (12) torch::optim::SGD and Adam
#include <torch/serialize.h>
#include <torch/version.h>
#endif

extern char** environ;

namespace {

struct Config {
  bool quick = false;
  int threads = 0;           // OpenMP / OpenBLAS / LibTorch intra-op threads
  double min_batch_s = 0.1;  // one timed batch lasts at least this long
  int batches = 7;           // the median of this many batches is reported
  bool torch_only = false;
  std::string rss;   // "mlp-dg" / "mlp-torch": the peak-RSS child mode
  std::string noop;  // "dg" / "torch": the start-up child mode
  std::string only;  // comma-separated case groups; empty: all
  // For iterating on one case without the others' minutes.
  bool wants(const char* group) const { return only.empty() || named(group); }
  // The minutes-long groups (train, checkpoint) run only when --only names them.
  bool named(const char* group) const {
    return ("," + only + ",").find(std::string(",") + group + ",") != std::string::npos;
  }
};

constexpr int kChainOps = 1000;
constexpr int64_t kPointwiseN = int64_t{4} << 20;  // 4M float32 = 16 MiB per array
constexpr int64_t kTriadN = int64_t{16} << 20;     // 64 MiB per array, twice the L3 here
constexpr int64_t kMatSizes[] = {256, 1024, 2048};
constexpr int64_t kDoubleBackwardN = int64_t{1} << 20;
constexpr int64_t kIndexN = 1000000;     // (9) the indexed and sorted tensors
constexpr int64_t kIndexPicks = 100000;  // (9) int64 indices into them
constexpr int64_t kOptimN = 10000000;    // (12) parameters of the optimizer steps
constexpr int64_t kOptimTensors = 100;   // (12) ... in this many tensors
constexpr double kLr = 1e-3;             // small: thousands of steps on one batch must not drive grads denormal

// Every result is a number under a key: seconds per run for timings, and
// "check.*" values that both libraries must agree on.
using Results = std::map<std::string, double>;

// ---- timing ----------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Median seconds of one run(), with setup() before each run kept off the clock.
// Each run is timed on its own: the cheapest case (a 1000-op chain) lasts tens
// of microseconds, so the clock's ~20 ns is noise, and per-run timing lets the
// backward case rebuild its graph between runs.
template <typename Setup, typename Run>
double measure(const Config& cfg, Setup&& setup, Run&& run) {
  auto batch = [&](int64_t n) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      setup();
      const auto t0 = Clock::now();
      run();
      total += seconds_since(t0);
    }
    return total;
  };
  batch(2);  // warm-up: allocator, oneDNN primitive cache, lazy library init
  int64_t n = 1;
  double t = batch(n);
  while (t < cfg.min_batch_s) {
    // Aim 20% past the target so the next batch usually suffices.
    const double grow = t > 0 ? 1.2 * cfg.min_batch_s / t : 10.0;
    n = std::max<int64_t>(n + 1, static_cast<int64_t>(static_cast<double>(n) * std::min(grow, 10.0)));
    t = batch(n);
  }
  std::vector<double> per_run{t / static_cast<double>(n)};
  for (int b = 1; b < cfg.batches; ++b) per_run.push_back(batch(n) / static_cast<double>(n));
  std::nth_element(per_run.begin(), per_run.begin() + per_run.size() / 2, per_run.end());
  return per_run[per_run.size() / 2];
}

// ---- per-library glue -----------------------------------------------------------------
// dg::Tensor and at::Tensor spell methods and operators identically, so the
// cases below are written once; free functions, whose namespaces differ, go
// through these two structs.

struct DgApi {
  using Tensor = dg::Tensor;
  using NoGradGuard = dg::NoGradGuard;
  static Tensor copy_of(const dg::Tensor& t) { return t.clone(); }
  static void clear_grad(const Tensor& t) { t.mutable_grad().reset(); }
  static Tensor gelu(const Tensor& x) { return dg::gelu(x); }
  static Tensor relu(const Tensor& x) { return dg::relu(x); }
  static Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) { return dg::linear(x, w, b); }
  static Tensor conv3x3_same(const Tensor& x, const Tensor& w, const Tensor& b) {
    return dg::conv2d(x, w, b, {1, 1}, {1, 1});
  }
  static Tensor max_pool2(const Tensor& x) { return dg::max_pool2d(x, {2, 2}); }
  static Tensor cross_entropy(const Tensor& logits, const Tensor& target) { return dg::cross_entropy(logits, target); }
  static Tensor grad_with_graph(const Tensor& y, const Tensor& x) {
    return dg::autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  }
  static Tensor index(const Tensor& x, const Tensor& i) { return x.index({i}); }
  static void index_put(const Tensor& x, const Tensor& i, const Tensor& v) { x.index_put_({i}, v); }
  static void index_fill(const Tensor& x, const Tensor& m) { x.index_put_({m}, 0.0); }
  static Tensor solve(const Tensor& A, const Tensor& B) { return dg::linalg::solve(A, B, true); }
  static Tensor cholesky(const Tensor& A) { return dg::linalg::cholesky(A); }
  static Tensor bmm_einsum(const Tensor& a, const Tensor& b) { return dg::einsum("bij,bjk->bik", {a, b}); }
  using MNIST = dg::data::datasets::MNIST;
  using Normalize = dg::data::transforms::Normalize<>;
  using Stack = dg::data::transforms::Stack<>;
  template <typename Dataset>
  static auto data_loader(Dataset dataset, size_t batch_size, size_t workers) {
    return dg::data::make_data_loader(std::move(dataset),
                                      dg::data::DataLoaderOptions().batch_size(batch_size).workers(workers));
  }
  using SGD = dg::optim::SGD;
  using SGDOptions = dg::optim::SGDOptions;
  using Adam = dg::optim::Adam;
  using AdamOptions = dg::optim::AdamOptions;
};

#ifdef DG_HAVE_LIBTORCH
struct TorchApi {
  using Tensor = at::Tensor;
  using NoGradGuard = at::NoGradGuard;
  static Tensor copy_of(const dg::Tensor& t) {
    auto c = t.contiguous();
    std::vector<int64_t> sizes(c.sizes().begin(), c.sizes().end());
    auto out = at::empty(sizes, c.dtype() == dg::kInt64 ? at::kLong : at::kFloat);
    std::memcpy(out.data_ptr(), c.data_ptr(), c.nbytes());
    return out;
  }
  static void clear_grad(const Tensor& t) { t.mutable_grad().reset(); }
  static Tensor gelu(const Tensor& x) { return at::gelu(x); }
  static Tensor relu(const Tensor& x) { return at::relu(x); }
  static Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) { return at::linear(x, w, b); }
  static Tensor conv3x3_same(const Tensor& x, const Tensor& w, const Tensor& b) {
    return at::conv2d(x, w, b, {1, 1}, {1, 1});
  }
  static Tensor max_pool2(const Tensor& x) { return at::max_pool2d(x, {2, 2}); }
  static Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
    return at::cross_entropy_loss(logits, target);
  }
  static Tensor grad_with_graph(const Tensor& y, const Tensor& x) {
    return torch::autograd::grad({y}, {x}, {}, c10::nullopt, /*create_graph=*/true)[0];
  }
  static Tensor index(const Tensor& x, const Tensor& i) { return x.index({i}); }
  // ATen's index_put_ is a non-const member: a copy of the handle writes the same tensor.
  static void index_put(Tensor x, const Tensor& i, const Tensor& v) { x.index_put_({i}, v); }
  static void index_fill(Tensor x, const Tensor& m) { x.index_put_({m}, 0.0); }
  static Tensor solve(const Tensor& A, const Tensor& B) { return at::linalg_solve(A, B, true); }
  static Tensor cholesky(const Tensor& A) { return at::linalg_cholesky(A); }
  static Tensor bmm_einsum(const Tensor& a, const Tensor& b) { return at::einsum("bij,bjk->bik", {a, b}); }
  using MNIST = torch::data::datasets::MNIST;
  using Normalize = torch::data::transforms::Normalize<>;
  using Stack = torch::data::transforms::Stack<>;
  template <typename Dataset>
  static auto data_loader(Dataset dataset, size_t batch_size, size_t workers) {
    return torch::data::make_data_loader(std::move(dataset),
                                         torch::data::DataLoaderOptions().batch_size(batch_size).workers(workers));
  }
  using SGD = torch::optim::SGD;
  using SGDOptions = torch::optim::SGDOptions;
  using Adam = torch::optim::Adam;
  using AdamOptions = torch::optim::AdamOptions;
};
#endif

template <typename Api>
typename Api::Tensor leaf(const dg::Tensor& src) {
  auto t = Api::copy_of(src);
  t.requires_grad_(true);
  return t;
}

// ---- inputs, made once by dynagrad and copied into each library ----------------------

struct Inputs {
  dg::Tensor chain_x, chain_w;
  dg::Tensor pw_a, pw_b, pw_g;  // 4M elements each
  std::vector<dg::Tensor> mat_a, mat_b, mat_g;
  dg::Tensor mlp_x, mlp_t;
  std::vector<dg::Tensor> mlp_params;  // w1 b1 w2 b2 w3 b3
  dg::Tensor cnn_x, cnn_t;
  std::vector<dg::Tensor> cnn_params;  // conv1 w b, conv2 w b, head w b
  dg::Tensor dbl_x;
  dg::Tensor rnn_h0;
  std::vector<dg::Tensor> rnn_xs;      // 50 steps of [8, 32]
  std::vector<dg::Tensor> rnn_params;  // W U
  dg::Tensor ix_x, ix_idx, ix_vals;    // 1M floats, 100k int64 indices and their values
  dg::Tensor sort_x, topk_x;           // 1M floats, 1000 x 1000
  dg::Tensor lin_a, lin_b, chol_a;     // 64 x 128x128 and 64 x 128x1; 1024x1024 SPD
  dg::Tensor att_q, att_k;             // 32 heads of 128 x 64 and 64 x 128
};

dg::Tensor scaled_randn(std::vector<int64_t> shape, double fan_in) {
  return dg::randn(shape) * (1.0 / std::sqrt(fan_in));
}

dg::Tensor class_targets(int64_t n, int64_t classes) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 7 + 3) % classes;
  return dg::tensor(t);
}

void make_mlp_inputs(Inputs& in) {
  in.mlp_x = dg::randn({128, 784});
  in.mlp_t = class_targets(128, 10);
  in.mlp_params = {scaled_randn({512, 784}, 784), dg::zeros({512}), scaled_randn({512, 512}, 512), dg::zeros({512}),
                   scaled_randn({10, 512}, 512),  dg::zeros({10})};
}

Inputs make_inputs() {
  dg::manual_seed(0);
  const auto f32 = dg::TensorOptions().dtype(dg::kFloat32);
  Inputs in;
  in.chain_x = dg::full({1}, 0.5, f32);
  in.chain_w = dg::full({1}, 1.0001, f32);
  in.pw_a = dg::randn({kPointwiseN});
  in.pw_b = dg::randn({kPointwiseN});
  in.pw_g = dg::randn({kPointwiseN});
  for (int64_t n : kMatSizes) {
    in.mat_a.push_back(dg::randn({n, n}));
    in.mat_b.push_back(dg::randn({n, n}));
    in.mat_g.push_back(dg::randn({n, n}));
  }
  make_mlp_inputs(in);
  in.cnn_x = dg::randn({64, 1, 28, 28});
  in.cnn_t = class_targets(64, 10);
  in.cnn_params = {scaled_randn({8, 1, 3, 3}, 9),
                   dg::zeros({8}),
                   scaled_randn({16, 8, 3, 3}, 72),
                   dg::zeros({16}),
                   scaled_randn({10, 16 * 7 * 7}, 16 * 7 * 7),
                   dg::zeros({10})};
  in.dbl_x = dg::randn({kDoubleBackwardN});
  in.rnn_h0 = dg::zeros({8, 32});
  for (int s = 0; s < 50; ++s) in.rnn_xs.push_back(dg::randn({8, 32}));
  in.rnn_params = {scaled_randn({32, 32}, 32), scaled_randn({32, 32}, 32)};
  in.ix_x = dg::randn({kIndexN});
  // 100k positions spread over the 1M elements, with repeats.
  in.ix_idx = (dg::rand({kIndexPicks}) * static_cast<double>(kIndexN)).floor().to(dg::kInt64);
  in.ix_vals = dg::randn({kIndexPicks});
  in.sort_x = dg::randn({kIndexN});
  in.topk_x = dg::randn({1000, 1000});
  in.lin_a = dg::randn({64, 128, 128});
  in.lin_b = dg::randn({64, 128, 1});
  const dg::Tensor g = dg::randn({1024, 1024});
  in.chol_a = dg::matmul(g, g.t()) / 1024.0 + dg::eye(1024);
  in.att_q = dg::randn({32, 128, 64});
  in.att_k = dg::randn({32, 64, 128});
  return in;
}

// ---- the cases, written once for both libraries ------------------------------------

template <typename T>
T op_chain(T y, const T& w) {
  static_assert(kChainOps % 4 == 0);
  for (int i = 0; i < kChainOps / 4; ++i) {
    y = y * w;      // tensor-tensor
    y = y + 0.001;  // tensor-scalar
    y = y.sin();    // unary; sin and tanh keep the value in (-1, 1)
    y = y.tanh();
  }
  return y;
}

template <typename Api>
void sgd_step(const std::vector<typename Api::Tensor>& params) {
  typename Api::NoGradGuard no_grad;
  for (const auto& p : params) p.sub_(p.grad(), kLr);
}

template <typename Api>
typename Api::Tensor mlp_loss(const std::vector<typename Api::Tensor>& p, const typename Api::Tensor& x,
                              const typename Api::Tensor& t) {
  auto h = Api::relu(Api::linear(x, p[0], p[1]));
  h = Api::relu(Api::linear(h, p[2], p[3]));
  return Api::cross_entropy(Api::linear(h, p[4], p[5]), t);
}

template <typename Api>
typename Api::Tensor cnn_loss(const std::vector<typename Api::Tensor>& p, const typename Api::Tensor& x,
                              const typename Api::Tensor& t) {
  auto h = Api::max_pool2(Api::relu(Api::conv3x3_same(x, p[0], p[1])));  // [64, 8, 14, 14]
  h = Api::max_pool2(Api::relu(Api::conv3x3_same(h, p[2], p[3])));       // [64, 16, 7, 7]
  return Api::cross_entropy(Api::linear(h.flatten(1), p[4], p[5]), t);
}

template <typename Api>
typename Api::Tensor rnn_loss(const std::vector<typename Api::Tensor>& p, const typename Api::Tensor& h0,
                              const std::vector<typename Api::Tensor>& xs) {
  auto h = h0;
  for (const auto& x : xs) h = (h.mm(p[0]) + x.mm(p[1])).tanh();
  return (h * h).sum();
}

// One training step: clearing .grad belongs to the step, as zero_grad(set_to_none) does.
template <typename Api, typename Loss>
typename Api::Tensor train_step(const std::vector<typename Api::Tensor>& params, Loss&& loss_fn) {
  for (const auto& p : params) Api::clear_grad(p);
  auto loss = loss_fn();
  loss.backward();
  sgd_step<Api>(params);
  return loss;
}

template <typename Api>
std::vector<typename Api::Tensor> leaves(const std::vector<dg::Tensor>& src) {
  std::vector<typename Api::Tensor> out;
  for (const auto& s : src) out.push_back(leaf<Api>(s));
  return out;
}

template <typename Api>
std::vector<typename Api::Tensor> copies(const std::vector<dg::Tensor>& src) {
  std::vector<typename Api::Tensor> out;
  for (const auto& s : src) out.push_back(Api::copy_of(s));
  return out;
}

// The first step runs from identical weights in both libraries: its loss and
// first-layer gradient are the cross-check.
template <typename Api, typename Loss>
void first_step_checks(const char* name, const std::vector<typename Api::Tensor>& params, Loss&& loss_fn, Results& r) {
  r[std::string("check.") + name + "_loss"] = train_step<Api>(params, loss_fn).template item<double>();
  const auto& g = params[0].grad();
  r[std::string("check.") + name + "_grad0_sq"] = (g * g).sum().template item<double>();
}

template <typename Api>
void run_mlp(const Config& cfg, const Inputs& in, Results& r) {
  const auto params = leaves<Api>(in.mlp_params);
  const auto x = Api::copy_of(in.mlp_x);
  const auto t = Api::copy_of(in.mlp_t);
  auto loss = [&] { return mlp_loss<Api>(params, x, t); };
  first_step_checks<Api>("mlp", params, loss, r);
  r["mlp"] = measure(
      cfg, [] {}, [&] { train_step<Api>(params, loss); });
}

// (11) data loading: Fashion-MNIST's training set (60000 images) through
// MNIST -> Normalize -> Stack, batches of 64 from a RandomSampler, 2 worker
// threads; one run is one epoch. LibTorch's MNIST reads only uncompressed
// IDX files, so both libraries read a copy gunzipped into a temporary folder
// (made once per process); dynagrad's own reading of the .gz files is its
// own row.
constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// The uncompressed copy, or "" when Fashion-MNIST is not installed.
const std::string& plain_fashion_mnist() {
  struct Copy {
    std::string dir;
    Copy() {
      if (access((std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz").c_str(), R_OK) != 0) {
        std::fprintf(stderr, "dg_bench: %s missing (apt-get install dataset-fashion-mnist); skipping the data group\n",
                     kFashionMnist);
        return;
      }
      std::string d = "/tmp/dg_bench_mnist_" + std::to_string(getpid());
      for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
        const std::string cmd =
            "mkdir -p '" + d + "' && gzip -dc '" + kFashionMnist + "/" + name + ".gz' > '" + d + "/" + name + "'";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot gunzip Fashion-MNIST into " + d);
      }
      dir = d;
    }
    ~Copy() {
      if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
    }
  };
  static const Copy copy;
  return copy.dir;
}

template <typename Api>
void run_data(const Config& cfg, Results& r) {
  using MNIST = typename Api::MNIST;
  const std::string& root = plain_fashion_mnist();
  if (root.empty()) return;
  r["data_mnist_load"] = measure(
      cfg, [] {}, [&] { MNIST(root, MNIST::Mode::kTrain); });
  if constexpr (std::is_same_v<Api, DgApi>) {
    r["data_mnist_load_gz"] = measure(
        cfg, [] {}, [&] { MNIST(kFashionMnist, MNIST::Mode::kTrain); });
  }
  auto dataset =
      MNIST(root, MNIST::Mode::kTrain).map(typename Api::Normalize(0.2860, 0.3530)).map(typename Api::Stack());
  auto loader = Api::data_loader(dataset, 64, 2);
  int64_t images = 0;
  r["data_loader"] = measure(
      cfg, [&] { images = 0; },
      [&] {
        for (auto& batch : *loader) images += batch.data.size(0);
      });
  r["check.data_images"] = static_cast<double>(images);
  double targets = 0, pixels = 0;
  for (auto& batch : *loader) {
    targets += batch.target.sum().template item<double>();
    pixels += batch.data.sum().template item<double>();
  }
  r["check.data_target_sum"] = targets;
  r["check.data_pixel_sum"] = pixels;
}

// (7b) LSTM, 2 layers, input and hidden 256, seq 50, batch 32: forward +
// backward of sum(output^2) through each library's own LSTM module
// (dg::nn::LSTM, torch::nn::LSTM), from the same weights and input. The
// weights are one dg::nn::LSTM's default initialisation, made once per
// process; the input is deterministic.
dg::nn::LSTM& bench_lstm() {
  static dg::nn::LSTM m(dg::nn::LSTMOptions(256, 256).num_layers(2));
  return m;
}

template <typename Api>
void run_lstm(const Config& cfg, Results& r) {
  const auto x = Api::copy_of((dg::arange(50 * 32 * 256, dg::kFloat32) * 0.37).sin().reshape({50, 32, 256}));
  auto measure_module = [&](auto& module, const auto& params) {
    auto step = [&] {
      for (const auto& p : params) Api::clear_grad(p);
      auto out = std::get<0>(module->forward(x));
      auto loss = (out * out).sum();
      loss.backward();
      return loss;
    };
    r["check.lstm_loss"] = step().template item<double>();
    const auto& g = params[0].grad();
    r["check.lstm_grad0_sq"] = (g * g).sum().template item<double>();
    r["lstm"] = measure(
        cfg, [] {}, [&] { step(); });
  };
  if constexpr (std::is_same_v<Api, DgApi>) {
    auto& m = bench_lstm();
    measure_module(m, m->parameters());
  } else {
#ifdef DG_HAVE_LIBTORCH
    torch::nn::LSTM m(torch::nn::LSTMOptions(256, 256).num_layers(2));
    {
      torch::NoGradGuard no_grad;
      auto dst = m->named_parameters();
      for (const auto& item : bench_lstm()->named_parameters()) dst[item.key()].copy_(Api::copy_of(item.value()));
    }
    measure_module(m, m->parameters());
#endif
  }
}

// (12) One optimizer step over 10M float32 parameters in 100 tensors, each
// with a fixed gradient: SGD with momentum and Adam, as torch::optim and
// dg::optim run them (the same source, the namespace changed). The
// parameters and gradients are drawn by dynagrad from a fixed seed and copied
// into each library; three steps from them give the cross-check.
template <typename Api>
void run_optim(const Config& cfg, Results& r) {
  dg::manual_seed(11);
  std::vector<dg::Tensor> src_p, src_g;
  for (int64_t i = 0; i < kOptimTensors; ++i) {
    src_p.push_back(dg::randn({kOptimN / kOptimTensors}));
    src_g.push_back(dg::randn({kOptimN / kOptimTensors}) * 0.01);
  }
  auto run = [&](const std::string& key, auto make_opt) {
    const auto params = leaves<Api>(src_p);
    for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = Api::copy_of(src_g[i]);
    auto opt = make_opt(params);
    for (int k = 0; k < 3; ++k) opt.step();
    {
      typename Api::NoGradGuard no_grad;
      r["check." + key] = (params[0] * params[0]).sum().template item<double>();
    }
    r[key] = measure(
        cfg, [] {}, [&] { opt.step(); });
  };
  run("optim_sgd", [](const std::vector<typename Api::Tensor>& ps) {
    return typename Api::SGD(ps, typename Api::SGDOptions(kLr).momentum(0.9));
  });
  run("optim_adam", [](const std::vector<typename Api::Tensor>& ps) {
    return typename Api::Adam(ps, typename Api::AdamOptions(kLr));
  });
}

#include "bench_autograd.h"
#include "bench_train.h"

template <typename Api>
void run_cases(const Config& cfg, const Inputs& in, Results& r) {
  using Tensor = typename Api::Tensor;
  auto noop = [] {};

  // (1) per-op overhead
  const Tensor x = Api::copy_of(in.chain_x);
  const Tensor w = Api::copy_of(in.chain_w);
  if (cfg.wants("chain")) {
    typename Api::NoGradGuard no_grad;
    Tensor y;
    r["chain_nograd"] = measure(cfg, noop, [&] { y = op_chain(x, w); }) / kChainOps;
    r["check.chain_value"] = y.template item<double>();
  }
  const Tensor xr = leaf<Api>(in.chain_x);
  if (cfg.wants("chain")) {  // the previous graph is freed in setup, off the clock, so only recording is timed
    Tensor y;
    r["chain_record"] = measure(
                            cfg, [&] { y.reset(); }, [&] { y = op_chain(xr, w); }) /
                        kChainOps;
  }
  if (cfg.wants("chain")) {
    Tensor y;
    auto build = [&] {
      y = Tensor();  // frees the last graph before the next is built
      Api::clear_grad(xr);
      y = op_chain(xr, w);
    };
    r["chain_backward"] = measure(cfg, build, [&] { y.backward(); }) / kChainOps;
    r["check.chain_grad"] = xr.grad().template item<double>();
  }

  // (2) large pointwise, forward + backward with a given output gradient
  if (cfg.wants("pointwise")) {
    const Tensor a = leaf<Api>(in.pw_a);
    const Tensor b = leaf<Api>(in.pw_b);
    const Tensor g = Api::copy_of(in.pw_g);
    auto unary = [&](const char* key, auto&& f) {
      r[std::string("pw_") + key] = measure(
          cfg, [&] { Api::clear_grad(a); }, [&] { f(a).backward(g); });
      r[std::string("check.pw_") + key] = a.grad().sum().template item<double>();
    };
    unary("tanh", [](const Tensor& v) { return v.tanh(); });
    unary("sigmoid", [](const Tensor& v) { return v.sigmoid(); });
    unary("exp", [](const Tensor& v) { return v.exp(); });
    unary("sin", [](const Tensor& v) { return v.sin(); });
    unary("gelu", [](const Tensor& v) { return Api::gelu(v); });
    auto binary = [&](const char* key, auto&& f) {
      auto clear = [&] {
        Api::clear_grad(a);
        Api::clear_grad(b);
      };
      r[std::string("pw_") + key] = measure(cfg, clear, [&] { f(a, b).backward(g); });
      r[std::string("check.pw_") + key] =
          a.grad().sum().template item<double>() + 2 * b.grad().sum().template item<double>();
    };
    binary("add", [](const Tensor& u, const Tensor& v) { return u + v; });
    binary("mul", [](const Tensor& u, const Tensor& v) { return u * v; });
  }

  // (3) matmul forward + backward
  for (size_t i = 0; i < std::size(kMatSizes) && cfg.wants("matmul"); ++i) {
    const Tensor a = leaf<Api>(in.mat_a[i]);
    const Tensor b = leaf<Api>(in.mat_b[i]);
    const Tensor g = Api::copy_of(in.mat_g[i]);
    auto clear = [&] {
      Api::clear_grad(a);
      Api::clear_grad(b);
    };
    const std::string n = std::to_string(kMatSizes[i]);
    r["mm" + n] = measure(cfg, clear, [&] { a.mm(b).backward(g); });
    r["check.mm" + n] =
        (a.grad() * a.grad()).sum().template item<double>() + (b.grad() * b.grad()).sum().template item<double>();
  }

  // (4) MLP and (5) CNN training steps
  if (cfg.wants("mlp")) run_mlp<Api>(cfg, in, r);
  if (cfg.wants("cnn")) {
    const auto params = leaves<Api>(in.cnn_params);
    const Tensor cx = Api::copy_of(in.cnn_x);
    const Tensor ct = Api::copy_of(in.cnn_t);
    auto loss = [&] { return cnn_loss<Api>(params, cx, ct); };
    first_step_checks<Api>("cnn", params, loss, r);
    r["cnn"] = measure(cfg, noop, [&] { train_step<Api>(params, loss); });
  }

  // (6) double backward
  if (cfg.wants("double")) {
    const Tensor dx = leaf<Api>(in.dbl_x);
    auto run = [&] {
      const Tensor gx = Api::grad_with_graph((dx.sin() * dx).sum(), dx);
      gx.sum().backward();
    };
    r["double_backward"] = measure(
        cfg, [&] { Api::clear_grad(dx); }, run);
    r["check.double_backward"] = dx.grad().sum().template item<double>();
  }

  // (9) indexing and sorting, forward only: a 1M-element bool mask, 100k
  // int64 indices, a sort of 1M floats, top-10 of each row of 1000 x 1000.
  if (cfg.wants("index")) {
    const Tensor ix = Api::copy_of(in.ix_x);
    const Tensor mask = ix > 0;
    const Tensor idx = Api::copy_of(in.ix_idx);
    const Tensor vals = Api::copy_of(in.ix_vals);
    Tensor out;
    r["index_mask"] = measure(cfg, noop, [&] { out = Api::index(ix, mask); });
    r["check.index_mask"] = out.sum().template item<double>();
    r["index_int"] = measure(cfg, noop, [&] { out = Api::index(ix, idx); });
    r["check.index_int"] = out.sum().template item<double>();
    Tensor y = ix.clone();
    r["index_put_mask"] = measure(
        cfg, [&] { y.copy_(ix); }, [&] { Api::index_fill(y, mask); });
    r["check.index_put_mask"] = y.sum().template item<double>();
    r["index_put_int"] = measure(
        cfg, [&] { y.copy_(ix); }, [&] { Api::index_put(y, idx, vals); });
    r["check.index_put_int"] = (y - ix).abs().sum().template item<double>();
    const Tensor sx = Api::copy_of(in.sort_x);
    r["sort"] = measure(cfg, noop, [&] { out = std::get<0>(sx.sort()); });
    r["check.sort"] = (out.narrow(0, 1, kIndexN - 1) - out.narrow(0, 0, kIndexN - 1)).min().template item<double>();
    const Tensor tx = Api::copy_of(in.topk_x);
    r["topk"] = measure(cfg, noop, [&] { out = std::get<0>(tx.topk(10)); });
    r["check.topk"] = out.sum().template item<double>();
  }

  // (10) linear algebra, forward only: a batch of 64 systems 128x128 with one
  // right-hand side each (B 64x128x1, the usual batched solve), the
  // Cholesky factor of a 1024x1024 SPD matrix, and the batched product of
  // 32 attention heads as einsum writes it.
  if (cfg.wants("linalg")) {
    const Tensor la = Api::copy_of(in.lin_a), lb = Api::copy_of(in.lin_b), ca = Api::copy_of(in.chol_a);
    Tensor out;
    r["linalg_solve"] = measure(cfg, noop, [&] { out = Api::solve(la, lb); });
    r["check.linalg_solve"] = out.sum().template item<double>();
    r["cholesky"] = measure(cfg, noop, [&] { out = Api::cholesky(ca); });
    r["check.cholesky"] = out.sum().template item<double>();
    const Tensor q = Api::copy_of(in.att_q), k = Api::copy_of(in.att_k);
    r["einsum_attention"] = measure(cfg, noop, [&] { out = Api::bmm_einsum(q, k); });
    r["check.einsum_attention"] = out.sum().template item<double>();
  }

  // (7) tiny RNN
  if (cfg.wants("rnn")) {
    const auto params = leaves<Api>(in.rnn_params);
    const Tensor h0 = Api::copy_of(in.rnn_h0);
    const auto xs = copies<Api>(in.rnn_xs);
    auto loss = [&] { return rnn_loss<Api>(params, h0, xs); };
    first_step_checks<Api>("rnn", params, loss, r);
    r["rnn"] = measure(cfg, noop, [&] { train_step<Api>(params, loss); });
  }
  if (cfg.wants("rnn")) run_lstm<Api>(cfg, r);

  if (cfg.wants("data")) run_data<Api>(cfg, r);

  // (12) optimizer steps
  if (cfg.wants("optim")) run_optim<Api>(cfg, r);
}

// ---- machine limits: references the library numbers are held against -----------------

// STREAM's triad with plain loops on std::threads: no library code involved.
// n elements per array (64 MiB by default; (12) uses its parameter count).
double triad_seconds(const Config& cfg, int threads, int64_t n = kTriadN) {
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);  // zero-filled: pages touched
  const float s = 3.0f;
  auto part = [&](int k) {
    const int64_t lo = n * k / threads, hi = n * (k + 1) / threads;
    float* __restrict ap = a.data();
    const float* __restrict bp = b.data();
    const float* __restrict cp = c.data();
    for (int64_t i = lo; i < hi; ++i) ap[i] = bp[i] + s * cp[i];
  };
  const double t = measure(
      cfg, [] {},
      [&] {
        std::vector<std::thread> pool;
        for (int k = 1; k < threads; ++k) pool.emplace_back(part, k);
        part(0);
        for (auto& th : pool) th.join();
      });
  if (a[n / 2] != 7.0f) std::fprintf(stderr, "dg_bench: triad computed a wrong value\n");
  return t;
}

double sgemm_seconds(const Config& cfg, const Inputs& in, size_t i) {
  const int64_t n = kMatSizes[i];
  const dg::Tensor c = dg::empty({n, n});
  const float* a = in.mat_a[i].data_ptr<float>();
  const float* b = in.mat_b[i].data_ptr<float>();
  return measure(
      cfg, [] {},
      [&] {
        if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c.data_ptr<float>(), n) != dnnl_success) {
          throw std::runtime_error("dnnl_sgemm failed");
        }
      });
}

// ---- machine and thread setup -------------------------------------------------------

int cpus_available() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return 1;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

// OpenMP (oneDNN's threads, and LibTorch's) and OpenBLAS (LibTorch's matmul)
// are loaded by the libraries, not linked here; look their controls up at run
// time so the benchmark works whichever of them is present.
template <typename F>
F* runtime_symbol(const char* name) {
  return reinterpret_cast<F*>(dlsym(RTLD_DEFAULT, name));
}

struct ThreadReport {
  int openmp = -1;
  int openblas = -1;
  int openblas_parallel = -1;  // 0 sequential, 1 pthreads, 2 OpenMP
  int libtorch = -1;
};

ThreadReport set_threads(int n) {
  ThreadReport t;
  if (auto set = runtime_symbol<void(int)>("omp_set_num_threads")) set(n);
  if (auto set = runtime_symbol<void(int)>("openblas_set_num_threads")) set(n);
#ifdef DG_HAVE_LIBTORCH
  at::set_num_threads(n);
  t.libtorch = at::get_num_threads();
#endif
  if (auto get = runtime_symbol<int()>("omp_get_max_threads")) t.openmp = get();
  if (auto get = runtime_symbol<int()>("openblas_get_num_threads")) t.openblas = get();
  if (auto get = runtime_symbol<int()>("openblas_get_parallel")) t.openblas_parallel = get();
  return t;
}

std::string count_or_absent(int n) { return n < 0 ? std::string("not loaded") : std::to_string(n); }

// ---- re-executing this benchmark ---------------------------------------------------------

std::string self_exe() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf.data(), static_cast<size_t>(n));
}

// The LibTorch-free build of this file, next to this binary (or this binary, if it is that build).
std::string dg_only_exe() {
  const std::string self = self_exe();
  const std::string sibling = self.substr(0, self.rfind('/') + 1) + "dg_bench_dgonly";
#ifdef DG_HAVE_LIBTORCH
  if (access(sibling.c_str(), X_OK) == 0) return sibling;
  std::fprintf(stderr, "dg_bench: %s missing; dynagrad's RSS and start-up are measured in a LibTorch-linked process\n",
               sibling.c_str());
#endif
  return self;
}

struct ChildRun {
  std::string out;
  double wall_s = 0;  // spawn to exit, the start-up time for the noop modes
};

// posix_spawn (vfork-like in glibc) rather than fork: the parent's size then
// does not leak into the child's measured start-up time.
ChildRun run_child(const std::string& exe, std::vector<std::string> args, const std::vector<std::string>& set_env) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);

  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const bool overridden = std::any_of(set_env.begin(), set_env.end(), [&](const std::string& s) {
      return kv.compare(0, s.find('=') + 1, s, 0, s.find('=') + 1) == 0;
    });
    if (!overridden) env.push_back(kv);
  }
  env.insert(env.end(), set_env.begin(), set_env.end());
  args.insert(args.begin(), exe);
  auto c_strings = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (auto& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  auto argv = c_strings(args);
  auto envp = c_strings(env);

  ChildRun r;
  const auto t0 = Clock::now();
  pid_t pid = 0;
  const int err = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start " + exe + ": " + std::strerror(err));
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.wall_s = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(exe + " " + args[1] + " failed (status " + std::to_string(status) + ")");
  }
  return r;
}

// "R key value" lines: how children hand results back.
void print_results(const Results& r) {
  for (const auto& [k, v] : r) std::printf("R %s %.17g\n", k.c_str(), v);
}

Results parse_results(const std::string& out) {
  Results r;
  std::istringstream in(out);
  std::string tag, key;
  double v;
  while (in >> tag) {
    if (tag == "R" && in >> key >> v) {
      r[key] = v;
    } else {
      in.ignore(1 << 20, '\n');
    }
  }
  return r;
}

std::vector<std::string> child_flags(const Config& cfg) {
  std::vector<std::string> f{"--threads", std::to_string(cfg.threads)};
  if (cfg.quick) f.push_back("--quick");
  if (!cfg.only.empty()) f.insert(f.end(), {"--only", cfg.only});
  return f;
}

template <typename... Extra>
std::vector<std::string> with(std::vector<std::string> v, Extra... extra) {
  (v.push_back(extra), ...);
  return v;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Peak RSS (KiB) and start-up (s) for one library's process.
void measure_process(const Config& cfg, const std::string& exe, const char* lib, Results& r) {
  r["rss_mlp"] =
      parse_results(run_child(exe, with(child_flags(cfg), "--rss", std::string("mlp-") + lib), {}).out).at("rss_mlp");
  const std::string noop = std::string("--noop-") + lib;
  run_child(exe, {noop}, {});  // warm-up: the binary and its libraries into the page cache
  std::vector<double> t;
  for (int i = 0; i < (cfg.quick ? 3 : 7); ++i) t.push_back(run_child(exe, {noop}, {}).wall_s);
  r["startup"] = median(t);
}

// ---- output ---------------------------------------------------------------------------

void print_header(const Config& cfg, const ThreadReport& threads) {
  std::printf("dg_bench%s: %s, %d CPU(s) available (nproc)\n", cfg.quick ? " --quick" : "", cpu_model().c_str(),
              cpus_available());
  std::printf(
      "threads: dynagrad = one OpenMP pool for its own loops (large tensors only) and oneDNN's "
      "matmul/conv = %s\n",
      count_or_absent(threads.openmp).c_str());
#ifdef DG_HAVE_LIBTORCH
  const char* blas_kind = threads.openblas_parallel == 1   ? " (pthreads build)"
                          : threads.openblas_parallel == 0 ? " (SEQUENTIAL build: LibTorch's matmul gets one core)"
                                                           : "";
  std::printf("         LibTorch %s intra-op = %d; OpenBLAS (LibTorch's matmul) = %s%s\n", TORCH_VERSION,
              threads.libtorch, count_or_absent(threads.openblas).c_str(), blas_kind);
  std::printf(
      "note: LibTorch's CPU matmul goes through the system BLAS; without libopenblas0-pthread\n"
      "      (tools/install-deps.sh installs it) its matmul column is not a fair comparison.\n");
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) {
    std::printf("WARNING: OMP_WAIT_POLICY=%s is set, so the 'LibTorch' column is not LibTorch as shipped.\n", policy);
  }
#else
  std::printf(
      "LibTorch: not in this build (dg_bench_dgonly, or LibTorch not found when configuring);\n"
      "          the LibTorch columns are skipped.\n");
#endif
  std::printf("timing: median of %d batches, each >= %.2f s\n\n", cfg.batches, cfg.min_batch_s);
}

// How a row turns seconds into its unit: value = work / seconds for throughputs,
// seconds * scale for times.
struct Row {
  std::string key;
  std::string label;
  const char* unit;
  double work = 0;    // bytes or flops per run (/1e9 shown), 0 for a time
  double scale = 1;   // for times
  std::string limit;  // key of the machine-limit row this throughput is held against
};

std::vector<Row> table_rows() {
  constexpr double pw = static_cast<double>(kPointwiseN) * sizeof(float);
  std::vector<Row> rows = {
      {"chain_nograd", "(1a) 1000-op chain, no grad", "us/op", 0, 1e6, ""},
      {"chain_record", "(1b) 1000-op chain, recording", "us/op", 0, 1e6, ""},
      {"chain_backward", "(1c) backward of (1b)", "us/op", 0, 1e6, ""},
  };
  // Nominal traffic: each array a fused kernel must touch once. Unary: read x,
  // write y; backward read g and x (or y), write dx = 5 arrays. add: 3 + read
  // g, write da, db = 6. mul: 3 + read g, a, b, write da, db = 8.
  for (std::string op : {"tanh", "sigmoid", "exp", "sin", "gelu"}) {
    rows.push_back({"pw_" + op, "(2) " + op + " 4M fwd+bwd", "GB/s", 5 * pw, 1, "triad"});
  }
  rows.push_back({"pw_add", "(2) add 4M fwd+bwd", "GB/s", 6 * pw, 1, "triad"});
  rows.push_back({"pw_mul", "(2) mul 4M fwd+bwd", "GB/s", 8 * pw, 1, "triad"});
  for (int64_t n : kMatSizes) {
    const std::string s = std::to_string(n);
    const double f = static_cast<double>(n);
    rows.push_back({"mm" + s, "(3) matmul " + s + "^2 fwd+bwd", "GFLOP/s", 6 * f * f * f, 1, "sgemm" + s});
  }
  rows.push_back({"mlp", "(4) MLP step 784-512-512-10, b128", "ms", 0, 1e3, ""});
  rows.push_back({"cnn", "(5) CNN step 2x(conv3x3+relu+pool), b64", "ms", 0, 1e3, ""});
  rows.push_back({"double_backward", "(6) double backward sin(x)*x, 1M", "ms", 0, 1e3, ""});
  rows.push_back({"rnn", "(7) tiny-RNN step, 50 x 8x32", "ms", 0, 1e3, ""});
  rows.push_back({"lstm", "(7b) LSTM 2x256, seq 50, b32 fwd+bwd", "ms", 0, 1e3, ""});
  rows.push_back({"index_mask", "(9) x[mask], 1M bool mask", "ms", 0, 1e3, ""});
  rows.push_back({"index_int", "(9) x[idx], 100k int64 of 1M", "ms", 0, 1e3, ""});
  rows.push_back({"index_put_mask", "(9) x[mask] = 0, 1M bool mask", "ms", 0, 1e3, ""});
  rows.push_back({"index_put_int", "(9) x[idx] = v, 100k int64 of 1M", "ms", 0, 1e3, ""});
  rows.push_back({"sort", "(9) sort 1M float32", "ms", 0, 1e3, ""});
  rows.push_back({"topk", "(9) topk(10) of 1000x1000", "ms", 0, 1e3, ""});
  rows.push_back({"linalg_solve", "(10) linalg::solve 64x128x128, B 64x128x1", "ms", 0, 1e3, ""});
  rows.push_back({"cholesky", "(10) linalg::cholesky 1024^2 SPD", "ms", 0, 1e3, ""});
  rows.push_back({"einsum_attention", "(10) einsum bij,bjk->bik, 32 heads 128x64", "ms", 0, 1e3, ""});
  // k images/s: work = images * 1e6, shown as work / s / 1e9.
  rows.push_back({"data_loader", "(11) DataLoader FMNIST Norm+Stack b64 w2", "kimg/s", 60000 * 1e6, 1, ""});
  rows.push_back({"data_mnist_load", "(11) MNIST(train) load, uncompressed", "ms", 0, 1e3, ""});
  rows.push_back({"data_mnist_load_gz", "(11) MNIST(train) load, .gz (dg only)", "ms", 0, 1e3, ""});
  // (12) Nominal traffic of one step: SGD with momentum reads p, g, buf and
  // writes p, buf (5 arrays of 40 MB); Adam reads p, g, m, v and writes p, m,
  // v (7 arrays).
  constexpr double op = static_cast<double>(kOptimN) * sizeof(float);
  rows.push_back({"optim_sgd", "(12) SGD momentum step, 10M in 100", "ms", 0, 1e3, ""});
  rows.push_back({"optim_sgd", "(12) SGD momentum step, 10M in 100", "GB/s", 5 * op, 1, "triad_optim"});
  rows.push_back({"optim_adam", "(12) Adam step, 10M in 100", "ms", 0, 1e3, ""});
  rows.push_back({"optim_adam", "(12) Adam step, 10M in 100", "GB/s", 7 * op, 1, "triad_optim"});
  rows.push_back({"rss_mlp", "(8) peak RSS, MLP process", "MiB", 0, 1.0 / 1024, ""});
  rows.push_back({"startup", "(8) start-up, exec to exit", "ms", 0, 1e3, ""});
  return rows;
}

std::vector<Row> limit_rows() {
  std::vector<Row> rows = {
      {"triad", "STREAM triad, 64 MiB arrays", "GB/s", 3.0 * kTriadN * sizeof(float), 1, ""},
      {"triad_optim", "STREAM triad, 10M-float arrays (12)", "GB/s", 3.0 * kOptimN * sizeof(float), 1, ""}};
  for (int64_t n : kMatSizes) {
    const std::string s = std::to_string(n);
    const double f = static_cast<double>(n);
    rows.push_back({"sgemm" + s, "oneDNN dnnl_sgemm " + s + "^2", "GFLOP/s", 2 * f * f * f, 1, ""});
  }
  return rows;
}

double shown(const Row& row, const Results& r) {
  const auto it = r.find(row.key);
  if (it == r.end()) return NAN;
  return row.work > 0 ? row.work / it->second / 1e9 : it->second * row.scale;
}

std::string cell(double v, int width = 10) {
  char buf[32];
  if (std::isnan(v)) {
    std::snprintf(buf, sizeof buf, "%*s", width, "-");
  } else {
    std::snprintf(buf, sizeof buf, "%*.*f", width, std::abs(v) >= 100 ? 1 : 3, v);
  }
  return buf;
}

// ratio = dynagrad's time (or size) / LibTorch's: below 1, dynagrad is
// faster or smaller, in GB/s and GFLOP/s rows too.
double ratio(const Row& row, const Results& d, const Results& t) {
  const auto a = d.find(row.key), b = t.find(row.key);
  if (a == d.end() || b == t.end()) return NAN;
  return a->second / b->second;
}

void print_table(const Results& d, const Results& t, const Results& p, const Results& limits) {
  std::printf("%-42s %-8s %10s %10s %7s %10s %7s %8s\n", "case", "unit", "dynagrad", "LibTorch", "ratio", "LT passiv",
              "ratio", "dg/limit");
  const auto lim_rows = limit_rows();
  for (const Row& row : table_rows()) {
    if (!d.count(row.key) && !t.count(row.key) && !p.count(row.key)) continue;  // not run (--only)
    std::string vs_limit = cell(NAN, 8);
    const auto lim = std::find_if(lim_rows.begin(), lim_rows.end(), [&](const Row& l) { return l.key == row.limit; });
    if (lim != lim_rows.end() && limits.count(row.limit) && d.count(row.key)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%7.0f%%", 100 * shown(row, d) / shown(*lim, limits));
      vs_limit = buf;
    }
    std::printf("%-42s %-8s %s %s %s %s %s %s\n", row.label.c_str(), row.unit, cell(shown(row, d)).c_str(),
                cell(shown(row, t)).c_str(), cell(ratio(row, d, t), 7).c_str(), cell(shown(row, p)).c_str(),
                cell(ratio(row, d, p), 7).c_str(), vs_limit.c_str());
  }
  std::printf(
      "ratio = dynagrad / LibTorch in time (and in MiB): below 1, dynagrad is faster (smaller),\n"
      "        in the GB/s and GFLOP/s rows too. 'LT passiv' = LibTorch re-run with OMP_WAIT_POLICY=passive.\n"
      "GB/s counts each array a fused kernel must touch once (unary 5, add 6, mul 8 arrays of 16 MiB).\n"
      "GFLOP/s counts 3 matmuls (6 n^3 flops). dg/limit: dynagrad against the row below it is held to.\n\n");
  if (!limits.empty()) std::printf("machine limits (no dynagrad or LibTorch code):\n");
  for (const Row& row : lim_rows) {
    if (!limits.count(row.key)) continue;
    std::printf("%-42s %-8s %s\n", row.label.c_str(), row.unit, cell(shown(row, limits)).c_str());
  }
}

bool agree(double a, double b, double rel) { return std::abs(a - b) <= rel * (1.0 + std::abs(b)); }

// Both libraries ran on the same inputs; if their results differ, the
// timings compare different work, so say so loudly (and fail).
[[maybe_unused]] bool cross_check(const char* what, const Results& d, const Results& t) {
  bool ok = true;
  std::string bad;
  for (const auto& [k, v] : d) {
    if (k.rfind("check.", 0) != 0) continue;
    auto it = t.find(k);
    if (it == t.end() || !agree(v, it->second, 1e-3)) {
      ok = false;
      char buf[160];
      std::snprintf(buf, sizeof buf, "  %s: dynagrad %.8g vs %.8g\n", k.c_str(), v, it == t.end() ? NAN : it->second);
      bad += buf;
    }
  }
  std::printf("cross-check, dynagrad vs %s (loss, gradient sums of every case): %s\n%s", what,
              ok ? "agree" : "DISAGREE", bad.c_str());
  return ok;
}

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: dg_bench [--quick] [--threads N] [--only GROUPS]\n"
               "  --quick      short batches; noisier numbers\n"
               "  --threads N  OpenMP/OpenBLAS/LibTorch threads (default: the CPUs available)\n"
               "  --only G,..  run only these groups: chain pointwise matmul mlp cnn double rnn index linalg data "
               "optim process\n"
               "              (train, checkpoint: minutes each, functional: hvp and checkpointing;\n"
               "               these run only when named)\n"
               "internal modes: --torch-only, --rss mlp-dg|mlp-torch, --noop-dg, --noop-torch\n");
  std::exit(code);
}

Config parse_args(int argc, char** argv) {
  Config cfg;
  cfg.threads = cpus_available();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      cfg.quick = true;
      cfg.min_batch_s = 0.02;
      cfg.batches = 3;
    } else if (arg == "--threads" && i + 1 < argc) {
      cfg.threads = std::atoi(argv[++i]);
      if (cfg.threads < 1) usage(2);
    } else if (arg == "--only" && i + 1 < argc) {
      cfg.only = argv[++i];
    } else if (arg == "--torch-only") {
      cfg.torch_only = true;
    } else if (arg == "--rss" && i + 1 < argc) {
      cfg.rss = argv[++i];
      if (cfg.rss != "mlp-dg" && cfg.rss != "mlp-torch") usage(2);
    } else if (arg == "--noop-dg" || arg == "--noop-torch") {
      cfg.noop = arg.substr(7);
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "dg_bench: unknown argument '%s'\n", arg.c_str());
      usage(2);
    }
  }
  return cfg;
}

// VmHWM, the high-water mark of this process image, rather than getrusage's
// ru_maxrss: Linux carries ru_maxrss across execve, so a child spawned by the
// full benchmark would report the parent's peak (hundreds of MiB) instead of its own.
double peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss);
}

[[maybe_unused]] [[noreturn]] void needs_libtorch(const char* mode) {
  std::fprintf(stderr, "dg_bench: %s needs the LibTorch-linked build (dg_bench)\n", mode);
  std::exit(2);
}

int child_main(const Config& cfg) {
  if (cfg.noop == "dg") {
    return dg::ones({1}).item<double>() == 1.0 ? 0 : 1;
  }
  if (cfg.noop == "torch") {
#ifdef DG_HAVE_LIBTORCH
    return at::ones({1}).item<double>() == 1.0 ? 0 : 1;
#else
    needs_libtorch("--noop-torch");
#endif
  }
  set_threads(cfg.threads);
  if (!cfg.rss.empty()) {
    Inputs in;
    dg::manual_seed(0);
    make_mlp_inputs(in);
    Results r;
    if (cfg.rss == "mlp-dg") {
      run_mlp<DgApi>(cfg, in, r);
    } else {
#ifdef DG_HAVE_LIBTORCH
      run_mlp<TorchApi>(cfg, in, r);
#else
      needs_libtorch("--rss mlp-torch");
#endif
    }
    print_results({{"rss_mlp", peak_rss_kib()}});
    return 0;
  }
  // --torch-only
#ifdef DG_HAVE_LIBTORCH
  Results r;
  run_cases<TorchApi>(cfg, make_inputs(), r);
  print_results(r);
  return 0;
#else
  needs_libtorch("--torch-only");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);
  try {
    if (cfg.torch_only || !cfg.rss.empty() || !cfg.noop.empty()) return child_main(cfg);

    const auto start = Clock::now();
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    print_header(cfg, set_threads(cfg.threads));
    const Inputs in = make_inputs();

    Results limits;
    if (cfg.wants("pointwise")) limits["triad"] = triad_seconds(cfg, cfg.threads);
    if (cfg.wants("optim")) limits["triad_optim"] = triad_seconds(cfg, cfg.threads, kOptimN);
    for (size_t i = 0; i < std::size(kMatSizes) && cfg.wants("matmul"); ++i) {
      limits["sgemm" + std::to_string(kMatSizes[i])] = sgemm_seconds(cfg, in, i);
    }
    std::printf("machine limits measured (%.0f s)\n", seconds_since(start));

    Results d, t, p;  // dynagrad, LibTorch as shipped, LibTorch with OMP_WAIT_POLICY=passive
    run_cases<DgApi>(cfg, in, d);
    std::printf("dynagrad cases done (%.0f s)\n", seconds_since(start));
    if (cfg.wants("process")) measure_process(cfg, dg_only_exe(), "dg", d);
    bool ok = true;
#ifdef DG_HAVE_LIBTORCH
    run_cases<TorchApi>(cfg, in, t);
    std::printf("LibTorch cases done (%.0f s)\n", seconds_since(start));
    if (cfg.wants("process")) measure_process(cfg, self_exe(), "torch", t);
    p = parse_results(run_child(self_exe(), with(child_flags(cfg), "--torch-only"), {"OMP_WAIT_POLICY=passive"}).out);
    std::printf("LibTorch (OMP_WAIT_POLICY=passive) cases done (%.0f s)\n\n", seconds_since(start));
#endif
    print_table(d, t, p, limits);
    if (cfg.named("train") || cfg.named("checkpoint")) {
      std::printf("\n");
      run_training(cfg);
    }
    if (cfg.named("functional")) {
      std::printf("\n");
      run_autograd_extras(cfg);
    }
#ifdef DG_HAVE_LIBTORCH
    std::printf("\n");
    const bool ok_shipped = cross_check("LibTorch", d, t);
    ok = cross_check("LibTorch passive", d, p) && ok_shipped;
#endif
    std::printf("total time %.1f s\n", seconds_since(start));
    return ok ? 0 : 1;
  } catch (const dg::Error& e) {
    std::fprintf(stderr, "dg_bench: dynagrad error: %s\n", e.what());
  } catch (const std::exception& e) {  // LibTorch's c10::Error
    std::fprintf(stderr, "dg_bench: error: %s\n", e.what());
  }
  return 2;
}
