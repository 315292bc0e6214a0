// dg_bench's training groups (issue 13), included by tools/bench.cpp inside
// its anonymous namespace after the data group:
//   train       one Fashion-MNIST epoch of the demo's CNN (tools/demo.cpp):
//               DataLoader (RandomSampler, batch 64, 2 workers, Normalize +
//               Stack) + forward + cross-entropy + backward + Adam step
//   checkpoint  dg::save / dg::load of a 100M-parameter state dict (10
//               Linear(3162, 3162)) against torch::save / torch::load, and
//               the disk's sequential write and read speed measured with dd
//
// The model is written once as a macro over the library's namespace, so both
// libraries run the same code with only the namespace changed.
#define DG_BENCH_FASHION_NET(NS, Name)                                                                                \
  struct Name##Impl : NS::nn::Module {                                                                                \
    Name##Impl()                                                                                                      \
        : features(NS::nn::Conv2d(NS::nn::Conv2dOptions(1, 32, 3).padding(1)), NS::nn::BatchNorm2d(32),               \
                   NS::nn::ReLU(), NS::nn::MaxPool2d(2), NS::nn::Conv2d(NS::nn::Conv2dOptions(32, 32, 3).padding(1)), \
                   NS::nn::BatchNorm2d(32), NS::nn::ReLU(), NS::nn::MaxPool2d(2), NS::nn::Dropout2d(0.1),             \
                   NS::nn::Flatten()),                                                                                \
          head(32 * 7 * 7, 10) {                                                                                      \
      register_module("features", features);                                                                          \
      register_module("head", head);                                                                                  \
    }                                                                                                                 \
    NS::Tensor forward(const NS::Tensor& x) { return head(features->forward(x)); }                                    \
    NS::nn::Sequential features;                                                                                      \
    NS::nn::Linear head;                                                                                              \
  };                                                                                                                  \
  struct Name : NS::nn::ModuleHolder<Name##Impl> {                                                                    \
    using NS::nn::ModuleHolder<Name##Impl>::ModuleHolder;                                                             \
  }

// One epoch: seconds, and the mean loss of the last 100 steps as a check
// that the library trained (the values differ: the random streams do).
#define DG_BENCH_TRAIN_EPOCH(NS, Name, root, seconds)                                                            \
  do {                                                                                                           \
    NS::manual_seed(0);                                                                                          \
    Name model;                                                                                                  \
    auto loader = NS::data::make_data_loader<NS::data::samplers::RandomSampler>(                                 \
        NS::data::datasets::MNIST(root, NS::data::datasets::MNIST::Mode::kTrain)                                 \
            .map(NS::data::transforms::Normalize<>(0.2860, 0.3530))                                              \
            .map(NS::data::transforms::Stack<>()),                                                               \
        NS::data::DataLoaderOptions().batch_size(64).workers(2));                                                \
    NS::optim::Adam opt(model->parameters(), NS::optim::AdamOptions(2e-3));                                      \
    int64_t steps = 0;                                                                                           \
    double tail = 0;                                                                                             \
    const auto t0 = Clock::now();                                                                                \
    for (auto& batch : *loader) {                                                                                \
      opt.zero_grad();                                                                                           \
      auto loss = NS::nn::functional::cross_entropy(model(batch.data), batch.target);                            \
      loss.backward();                                                                                           \
      opt.step();                                                                                                \
      if (++steps > 937 - 100) tail += loss.template item<double>();                                             \
    }                                                                                                            \
    seconds = seconds_since(t0);                                                                                 \
    std::printf("  %-8s one epoch %.1f s (%.0f images/s), mean loss of the last 100 steps %.3f\n", #NS, seconds, \
                60000.0 / seconds, tail / 100);                                                                  \
  } while (0)

DG_BENCH_FASHION_NET(dg, DgFashionNet);
#ifdef DG_HAVE_LIBTORCH
DG_BENCH_FASHION_NET(torch, TorchFashionNet);
#endif

// Seconds for `cmd` (a shell command), or -1 when it fails.
double shell_seconds(const std::string& cmd) {
  const auto t0 = Clock::now();
  if (std::system(cmd.c_str()) != 0) return -1;
  return seconds_since(t0);
}

// Empties the page cache (root only), so that reads come from the disk;
// false when not permitted (reads then may come from memory).
bool drop_page_cache() { return std::system("sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null") == 0; }

// The train and checkpoint groups run once each (an epoch is a minute) and
// print their own lines: single runs, not medians.
void run_training(const Config& cfg) {
  if (cfg.named("train")) {
    const std::string& root = plain_fashion_mnist();
    if (!root.empty()) {
      std::printf("train: one Fashion-MNIST epoch of the demo's CNN, batch 64, Adam, 2 loader workers\n");
      double dg_s = 0, torch_s = 0;
      DG_BENCH_TRAIN_EPOCH(dg, DgFashionNet, root, dg_s);
#ifdef DG_HAVE_LIBTORCH
      DG_BENCH_TRAIN_EPOCH(torch, TorchFashionNet, root, torch_s);
      std::printf("  ratio dg/LibTorch (time): %.2f\n", dg_s / torch_s);
#endif
      (void)torch_s;
    }
  }
  if (cfg.named("checkpoint")) {
    const std::string dir = "/tmp/dg_bench_ckpt_" + std::to_string(getpid());
    if (std::system(("mkdir -p '" + dir + "'").c_str()) != 0) return;
    constexpr int kLayers = 10;
    constexpr int64_t kWidth = 3162;  // 10 x (3162^2 + 3162) = 100.0M parameters, 400 MB
    const double mb = kLayers * (kWidth * kWidth + kWidth) * 4.0 / 1e6;
    std::printf("checkpoint: %.0f MB of float32 parameters\n", mb);
    // The disk: dd writes the same amount (flushed) and reads it back.
    const double dd_write = shell_seconds("dd if=/dev/zero of='" + dir +
                                          "/dd' bs=4M count=" + std::to_string(static_cast<int>(mb / 4.194304) + 1) +
                                          " conv=fdatasync status=none");
    const bool cold = drop_page_cache();
    const double dd_read = shell_seconds("dd if='" + dir + "/dd' of=/dev/null bs=4M status=none");
    std::map<std::string, double> d, t;
    d["disk_write_MBps"] = mb / dd_write;
    d["disk_read_MBps"] = mb / dd_read;
    {
      dg::nn::Sequential model;
      for (int i = 0; i < kLayers; ++i) model->push_back(dg::nn::Linear(kWidth, kWidth));
      const std::string path = dir + "/dg.safetensors";
      auto t0 = Clock::now();
      dg::save(model, path);
      d["ckpt_save_MBps"] = mb / seconds_since(t0);
      dg::nn::Sequential back;
      for (int i = 0; i < kLayers; ++i) back->push_back(dg::nn::Linear(kWidth, kWidth));
      drop_page_cache();
      t0 = Clock::now();
      dg::load(back, path);
      d["ckpt_load_MBps"] = mb / seconds_since(t0);
      if (!dg::equal(back->parameters()[0], model->parameters()[0])) std::printf("  dynagrad: LOADED VALUES DIFFER\n");
    }
#ifdef DG_HAVE_LIBTORCH
    {
      torch::nn::Sequential model;
      for (int i = 0; i < kLayers; ++i) model->push_back(torch::nn::Linear(kWidth, kWidth));
      const std::string path = dir + "/torch.pt";
      auto t0 = Clock::now();
      torch::save(model, path);
      t["ckpt_save_MBps"] = mb / seconds_since(t0);
      torch::nn::Sequential back;
      for (int i = 0; i < kLayers; ++i) back->push_back(torch::nn::Linear(kWidth, kWidth));
      drop_page_cache();
      t0 = Clock::now();
      torch::load(back, path);
      t["ckpt_load_MBps"] = mb / seconds_since(t0);
      if (!torch::equal(back->parameters()[0], model->parameters()[0]))
        std::printf("  LibTorch: LOADED VALUES DIFFER\n");
    }
#endif
    std::printf("  disk (dd): write %.0f MB/s (fdatasync), read %.0f MB/s (%s)\n", d["disk_write_MBps"],
                d["disk_read_MBps"], cold ? "page cache dropped before each read" : "page cache as it is: not root");
    std::printf("  dynagrad: save %.0f MB/s (%.0f%% of dd's write; fsync'ed), load %.0f MB/s (%.0f%% of dd's read)\n",
                d["ckpt_save_MBps"], 100 * d["ckpt_save_MBps"] / d["disk_write_MBps"], d["ckpt_load_MBps"],
                100 * d["ckpt_load_MBps"] / d["disk_read_MBps"]);
#ifdef DG_HAVE_LIBTORCH
    std::printf("  LibTorch: save %.0f MB/s (no fsync), load %.0f MB/s\n", t["ckpt_save_MBps"], t["ckpt_load_MBps"]);
#endif
    std::system(("rm -rf '" + dir + "'").c_str());
  }
}
