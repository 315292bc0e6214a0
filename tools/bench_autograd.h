// dg_bench's autograd-extras group (issue 14), included by tools/bench.cpp
// inside its anonymous namespace; runs only when named (--only functional):
//   hvp of the MLP bench model's loss (784-512-512-10, batch 128) with
//   dg::autograd::functional::hvp, against one backward of the same loss;
//   a 32-layer MLP (width 1024, batch 256, tanh) training step with
//   checkpoint_sequential (8 segments: sqrt(2 * 32), the fewest activations
//   kept) against the plain step: peak memory above what the parameters and
//   their .grad buffers take (the CPU allocator's max_memory_allocated) and
//   time.
// LibTorch 1.13's C++ API has neither (both are Python-only there), so these
// are ratios of dynagrad to itself, as the issue states its targets.

void run_autograd_extras(const Config& cfg) {
  namespace F = dg::autograd::functional;
  std::printf("functional: hvp and checkpointing (dynagrad only; LibTorch 1.13 C++ has neither)\n");
  {
    dg::manual_seed(0);
    std::vector<dg::Tensor> p = {dg::randn({512, 784}) * 0.03, dg::zeros({512}),
                                 dg::randn({512, 512}) * 0.04, dg::zeros({512}),
                                 dg::randn({10, 512}) * 0.04,  dg::zeros({10})};
    for (auto& t : p) t.requires_grad_();
    const dg::Tensor x = dg::randn({128, 784});
    const dg::Tensor t = dg::randint(0, 10, {128});
    // Softplus, not ReLU: a ReLU network's Hessian in its weights is mostly zeros.
    auto loss = [&](const dg::autograd::variable_list& q) {
      auto h = dg::softplus(dg::linear(x, q[0], q[1]));
      h = dg::softplus(dg::linear(h, q[2], q[3]));
      return dg::nn::functional::cross_entropy(dg::linear(h, q[4], q[5]), t);
    };
    std::vector<dg::Tensor> v;
    for (const auto& q : p) v.push_back(dg::randn(q.sizes()));
    const double fwd_bwd = measure(
        cfg, [] {}, [&] { dg::autograd::grad({loss(p)}, p); });
    const double hvp = measure(
        cfg, [] {}, [&] { F::hvp(loss, p, v); });
    std::printf("  forward + backward of the loss %.2f ms; hvp %.2f ms = %.2fx\n", fwd_bwd * 1e3, hvp * 1e3,
                hvp / fwd_bwd);
  }
  {
    const int64_t layers = 32, width = 1024, batch = 256, segments = 8;
    dg::manual_seed(0);
    std::vector<std::function<dg::Tensor(const dg::Tensor&)>> fs;
    std::vector<dg::Tensor> params;
    for (int64_t i = 0; i < layers; ++i) {
      dg::Tensor w = (dg::randn({width, width}) / 32.0).requires_grad_();
      dg::Tensor b = dg::zeros({width}).requires_grad_();
      params.push_back(w);
      params.push_back(b);
      fs.push_back([w, b](const dg::Tensor& h) { return dg::tanh(dg::linear(h, w, b)); });
    }
    const dg::Tensor x = dg::randn({batch, width});
    auto step = [&](bool ckpt) {
      dg::Tensor y = x;
      if (ckpt) {
        y = dg::utils::checkpoint_sequential(fs, segments, x);
      } else {
        for (const auto& f : fs) y = f(y);
      }
      // A training step's backward: into .grad buffers that exist (from the
      // warm-up step), accumulated in place, as after optimizer.zero_grad().
      y.pow(2).mean().backward();
    };
    auto peak = [&](bool ckpt) {
      step(ckpt);  // warm
      dg::cpu::reset_peak_memory_stats();
      const size_t base = dg::cpu::memory_allocated();
      step(ckpt);
      return static_cast<double>(dg::cpu::max_memory_allocated() - base);
    };
    const double mem_plain = peak(false), mem_ck = peak(true);
    const double t_plain = measure(
        cfg, [] {}, [&] { step(false); });
    const double t_ck = measure(
        cfg, [] {}, [&] { step(true); });
    std::printf(
        "  32x1024 MLP b256 step: plain %.0f MiB %.1f ms; checkpoint_sequential(%lld segments) %.0f MiB "
        "%.1f ms: memory %.2fx, time %.2fx\n",
        mem_plain / 1048576, t_plain * 1e3, static_cast<long long>(segments), mem_ck / 1048576, t_ck * 1e3,
        mem_ck / mem_plain, t_ck / t_plain);
  }
}
