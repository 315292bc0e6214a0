// The data API (dynagrad/data.h, LibTorch's torch::data): Fashion-MNIST read
// from Debian's dataset-fashion-mnist against an independent Python reader
// (tests/golden/data_golden.yaml, tools/golden/make_data_golden.py), plain and
// gzip'ed files alike, broken files, transforms against PyTorch's values,
// samplers, and the loader with and without worker threads.
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "dynagrad/data.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace dg;
using namespace dg::testing;
using namespace dg::data;
using Catch::Matchers::Contains;

namespace {

const char* const kFashionRoot = "/usr/share/datasets/fashion-mnist";

const YAML::Node& golden() {
  static const YAML::Node node = YAML::LoadFile((fs::path(DG_GOLDEN_FILE).parent_path() / "data_golden.yaml").string());
  return node;
}

void require_fashion_mnist() {
  INFO("Fashion-MNIST is missing: apt-get install dataset-fashion-mnist (or run tools/install-deps.sh)");
  REQUIRE(fs::exists(fs::path(kFashionRoot) / "t10k-images-idx3-ubyte.gz"));
}

// A fresh temporary folder, removed with the object.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("dg_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
void put_be32(std::string& bytes, size_t offset, uint32_t v) {
  for (int k = 0; k < 4; ++k) bytes[offset + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xff);
}

// The test split of Fashion-MNIST, decompressed by gzip(1) into `dir`.
void decompress_test_split(const TempDir& dir) {
  require_fashion_mnist();
  for (const char* name : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    const std::string cmd =
        std::string("gzip -dc '") + kFashionRoot + "/" + name + ".gz' > '" + (dir.path / name).string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
}

// Loads the test split from `dir`, expecting a dg::Error that mentions each of `parts`.
void expect_mnist_error(const TempDir& dir, const std::vector<std::string>& parts) {
  try {
    datasets::MNIST(dir.str(), datasets::MNIST::Mode::kTest);
    FAIL("expected dg::Error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

std::vector<int64_t> int64s(const Tensor& t) {
  const Tensor c = t.to(kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Dataset of the values 0..n-1 (each example's data is [i], its target [2i]),
// counting get() calls, optionally slow or throwing at one index.
struct CountingDataset : datasets::Dataset<CountingDataset> {
  explicit CountingDataset(size_t n, std::chrono::milliseconds delay = {}, int64_t throw_at = -1)
      : n(n), delay(delay), throw_at(throw_at), calls(std::make_shared<std::atomic<int>>(0)) {}
  Example<> get(size_t index) override {
    ++*calls;
    if (delay.count()) std::this_thread::sleep_for(delay);
    DG_CHECK(static_cast<int64_t>(index) != throw_at, "CountingDataset: refusing index ", index);
    return {dg::tensor({static_cast<int64_t>(index)}), dg::tensor({2 * static_cast<int64_t>(index)})};
  }
  std::optional<size_t> size() const override { return n; }
  size_t n;
  std::chrono::milliseconds delay;
  int64_t throw_at;
  std::shared_ptr<std::atomic<int>> calls;
};

}  // namespace

TEST_CASE("data: MNIST reads Fashion-MNIST as the independent reader does", "[data]") {
  require_fashion_mnist();
  for (const auto& [mode, key] :
       {std::pair{datasets::MNIST::Mode::kTrain, "train"}, std::pair{datasets::MNIST::Mode::kTest, "test"}}) {
    INFO(key);
    const YAML::Node g = golden()["fashion_mnist"][key];
    datasets::MNIST mnist(kFashionRoot, mode);
    const auto n = g["count"].as<int64_t>();
    REQUIRE(mnist.size() == std::optional<size_t>(static_cast<size_t>(n)));
    CHECK(mnist.is_train() == (mode == datasets::MNIST::Mode::kTrain));
    check_shape(mnist.images(), {n, 1, g["rows"].as<int64_t>(), g["cols"].as<int64_t>()});
    check_shape(mnist.targets(), {n});
    CHECK(mnist.images().dtype() == kFloat32);
    CHECK(mnist.targets().dtype() == kInt64);

    const auto first_labels = g["first_labels"].as<std::vector<int64_t>>();
    const auto labels = int64s(mnist.targets());
    CHECK(std::vector<int64_t>(labels.begin(), labels.begin() + first_labels.size()) == first_labels);
    const auto class_counts = g["class_counts"].as<std::vector<int64_t>>();
    for (int64_t c = 0; c < 10; ++c) CHECK(std::count(labels.begin(), labels.end(), c) == class_counts[c]);

    // Pixels are byte / 255 in float32: the first image exactly, sums within
    // float32 rounding of each pixel (relative 6e-8).
    const auto first = g["first_image"].as<std::vector<int>>();
    const Tensor img0 = mnist.get(0).data.contiguous();
    check_shape(img0, {1, 28, 28});
    const float* p = img0.data_ptr<float>();
    for (size_t i = 0; i < first.size(); ++i) REQUIRE(p[i] == static_cast<float>(first[i]) / 255.0f);
    const auto sums = g["first_pixel_sums"].as<std::vector<double>>();
    for (size_t i = 0; i < sums.size(); ++i)
      CHECK(mnist.images()[static_cast<int64_t>(i)].to(kFloat64).sum().item<double>() * 255 ==
            Approx(sums[i]).epsilon(1e-7));
    CHECK(mnist.images().to(kFloat64).sum().item<double>() * 255 ==
          Approx(g["total_pixel_sum"].as<double>()).epsilon(1e-7));
    CHECK(mnist.images().min().item<float>() >= 0.0f);
    CHECK(mnist.images().max().item<float>() <= 1.0f);
    CHECK(mnist.get(3).target.item<int64_t>() == first_labels[3]);
  }
}

TEST_CASE("data: MNIST reads uncompressed and gzip'ed files alike", "[data]") {
  TempDir dir;
  decompress_test_split(dir);
  datasets::MNIST plain(dir.str(), datasets::MNIST::Mode::kTest);
  datasets::MNIST gz(kFashionRoot, datasets::MNIST::Mode::kTest);
  CHECK(dg::equal(plain.images(), gz.images()));
  CHECK(dg::equal(plain.targets(), gz.targets()));
  CHECK_THROWS_WITH(gz.get(10000), Contains("out of range"));
}

TEST_CASE("data: MNIST names the file and the fault of a missing or broken file", "[data]") {
  TempDir dir;
  SECTION("missing files") {
    expect_mnist_error(dir, {"t10k-images-idx3-ubyte", "does not exist", "dataset-fashion-mnist"});
  }
  decompress_test_split(dir);
  const fs::path images = dir.path / "t10k-images-idx3-ubyte";
  const fs::path labels = dir.path / "t10k-labels-idx1-ubyte";
  const std::string image_bytes = read_bytes(images), label_bytes = read_bytes(labels);
  SECTION("missing labels") {
    fs::remove(labels);
    expect_mnist_error(dir, {labels.string(), "does not exist", "dataset-fashion-mnist"});
  }
  SECTION("bad magic number") {
    std::string b = image_bytes;
    put_be32(b, 0, 1234);
    write_bytes(images, b);
    expect_mnist_error(dir, {images.string(), "magic number is 1234", "expected 2051"});
  }
  SECTION("labels where images belong") {
    write_bytes(images, label_bytes);
    expect_mnist_error(dir, {images.string(), "it is a labels file"});
  }
  SECTION("wrong image size") {
    std::string b = image_bytes;
    put_be32(b, 8, 27);
    write_bytes(images, b);
    expect_mnist_error(dir, {images.string(), "27x28", "expected 28x28"});
  }
  SECTION("truncated images") {
    write_bytes(images, image_bytes.substr(0, image_bytes.size() - 100));
    expect_mnist_error(dir, {images.string(), "truncated", "10000 images"});
  }
  SECTION("truncated header") {
    write_bytes(labels, label_bytes.substr(0, 5));
    expect_mnist_error(dir, {labels.string(), "truncated", "8-byte header"});
  }
  SECTION("trailing bytes") {
    write_bytes(labels, label_bytes + "xyz");
    expect_mnist_error(dir, {labels.string(), "3 bytes after the 10000 labels"});
  }
  SECTION("images and labels disagree") {
    std::string b = label_bytes.substr(0, label_bytes.size() - 1);
    put_be32(b, 4, 9999);
    write_bytes(labels, b);
    expect_mnist_error(dir, {images.string(), labels.string(), "10000 images", "9999 labels"});
  }
  SECTION("wrong count for the split") {
    std::string bi = image_bytes.substr(0, 16 + 100 * 784), bl = label_bytes.substr(0, 8 + 100);
    put_be32(bi, 4, 100);
    put_be32(bl, 4, 100);
    write_bytes(images, bi);
    write_bytes(labels, bl);
    expect_mnist_error(dir, {"expected 10000 examples in the t10k set", images.string(), "have 100"});
  }
  SECTION("truncated gzip") {
    fs::remove(images);
    const std::string gz = read_bytes(fs::path(kFashionRoot) / "t10k-images-idx3-ubyte.gz");
    write_bytes(images.string() + ".gz", gz.substr(0, gz.size() / 2));
    expect_mnist_error(dir, {images.string() + ".gz", "truncated or corrupt"});
  }
}

TEST_CASE("data: Normalize matches PyTorch's (x - mean) / stddev", "[data]") {
  const Tensor x = dg::arange(60, kFloat32).reshape({3, 4, 5});
  for (const auto& c : golden()["normalize"]) {
    const auto mean = c["mean"].as<std::vector<double>>(), stddev = c["stddev"].as<std::vector<double>>();
    transforms::Normalize<> normalize(mean, stddev);
    const Tensor y = normalize(x);
    CHECK(y.dtype() == kFloat32);
    check_shape(y, {3, 4, 5});
    check_values(y, c["output"].as<std::vector<double>>(), 0);
    // As a transform of examples the target passes through.
    const Example<> e = normalize.apply(Example<>(x, dg::tensor({int64_t{7}})));
    CHECK(dg::equal(e.data, y));
    CHECK(e.target.item<int64_t>() == 7);
  }
  // One value for every channel, as LibTorch's Normalize<>(0.5, 0.25).
  transforms::Normalize<> single(0.5, 0.25);
  CHECK(dg::equal(single(x), transforms::Normalize<>({0.5}, {0.25})(x)));
}

TEST_CASE("data: Stack, Lambda and TensorDataset", "[data]") {
  std::vector<Example<>> examples;
  for (int64_t i = 0; i < 3; ++i) examples.emplace_back(dg::full({2, 2}, static_cast<double>(i)), dg::tensor(10 + i));
  const Example<> batch = transforms::Stack<>().apply_batch(examples);
  check_shape(batch.data, {3, 2, 2});
  check_shape(batch.target, {3});
  CHECK(int64s(batch.target) == std::vector<int64_t>{10, 11, 12});
  for (int64_t i = 0; i < 3; ++i) CHECK(dg::equal(batch.data[i], examples[i].data));

  datasets::TensorDataset rows(dg::arange(10, kFloat64).reshape({5, 2}));
  REQUIRE(rows.size() == std::optional<size_t>(5));
  CHECK(dg::equal(rows.get(3).data, dg::tensor({6.0, 7.0}, kFloat64)));
  const std::vector<TensorExample> picked = rows.get_batch({4, 0});
  REQUIRE(picked.size() == 2);
  const Tensor stacked = transforms::Stack<TensorExample>().apply_batch(picked);
  CHECK(dg::equal(stacked, dg::tensor({{8.0, 9.0}, {0.0, 1.0}}, kFloat64)));
  datasets::TensorDataset from_list({dg::ones({2}), dg::zeros({2})});
  CHECK(from_list.size() == std::optional<size_t>(2));
  CHECK(dg::equal(from_list.get(1).data, dg::zeros({2})));

  // Lambda per example, BatchLambda (Collate) per batch, TensorLambda on the data.
  auto doubled =
      rows.map(transforms::Lambda<TensorExample>([](TensorExample e) { return TensorExample(e.data * 2); }))
          .map(transforms::Collate<TensorExample, std::vector<TensorExample>>([](std::vector<TensorExample> b) {
            return TensorExample(dg::stack({b[0].data, b[1].data}));
          }));
  CHECK(dg::equal(doubled.get_batch({1, 2}).data, dg::tensor({{4.0, 6.0}, {8.0, 10.0}}, kFloat64)));
  CHECK(doubled.size() == std::optional<size_t>(5));
  transforms::TensorLambda<> plus_one([](Tensor t) { return t + 1; });
  CHECK(plus_one.apply(Example<>(dg::zeros({1}), dg::zeros({1}))).data.item<float>() == 1.0f);
}

TEST_CASE("data: SequentialSampler and RandomSampler", "[data]") {
  samplers::SequentialSampler seq(10);
  std::vector<std::vector<size_t>> got;
  while (auto b = seq.next(3)) got.push_back(*b);
  CHECK(got == std::vector<std::vector<size_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});
  CHECK(seq.index() == 10);
  seq.reset(4);
  CHECK(seq.next(100) == std::vector<size_t>{0, 1, 2, 3});
  CHECK_FALSE(seq.next(1).has_value());

  auto epoch = [](samplers::RandomSampler& s) {
    std::vector<size_t> order;
    while (auto b = s.next(7)) {
      CHECK(b->size() <= 7);
      order.insert(order.end(), b->begin(), b->end());
    }
    return order;
  };
  dg::manual_seed(7);
  samplers::RandomSampler a(100);
  const auto first = epoch(a);
  std::vector<size_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> iota(100);
  std::iota(iota.begin(), iota.end(), size_t{0});
  CHECK(sorted == iota);  // each index once
  CHECK(first != iota);
  a.reset();
  const auto second = epoch(a);
  CHECK(second != first);  // a new order each epoch
  sorted = second;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == iota);
  dg::manual_seed(7);
  samplers::RandomSampler b(100);
  CHECK(epoch(b) == first);  // seeded: reproducible
  b.reset(10);
  CHECK(epoch(b).size() == 10);
  samplers::RandomSampler c(5, kInt32);
  CHECK(epoch(c).size() == 5);
  // A sampler's state round-trips through a checkpoint: the rest of the epoch
  // comes out the same.
  const std::string path = "/tmp/dg_test_sampler_" + std::to_string(getpid()) + ".safetensors";
  samplers::RandomSampler d(20);
  d.next(7);
  serialize::OutputArchive out;
  d.save(out);
  out.save_to(path);
  serialize::InputArchive in;
  in.load_from(path);
  samplers::RandomSampler e(20);
  e.load(in);
  CHECK(e.index() == 7);
  CHECK(epoch(e) == epoch(d));
  std::remove(path.c_str());
}

TEST_CASE("data: DataLoader batches, drop_last and iteration", "[data]") {
  datasets::TensorDataset ds(dg::arange(10, kInt64));
  auto loader = make_data_loader<samplers::SequentialSampler>(ds, DataLoaderOptions(3));
  CHECK(loader->options().batch_size == 3);
  CHECK(loader->options().max_jobs == 0);
  std::vector<size_t> sizes;
  std::vector<int64_t> seen;
  for (auto& batch : *loader) {
    sizes.push_back(batch.size());
    for (auto& e : batch) seen.push_back(e.data.item<int64_t>());
  }
  CHECK(sizes == std::vector<size_t>{3, 3, 3, 1});
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  auto dropping = make_data_loader<samplers::SequentialSampler>(ds, DataLoaderOptions(3).drop_last(true));
  size_t n = 0;
  for (auto& batch : *dropping) n += (batch.size() == 3);
  CHECK(n == 3);
  size_t again = 0;
  for (auto it = dropping->begin(); it != dropping->end(); ++it) ++again;  // a second epoch
  CHECK(again == 3);

  // The default sampler is random: every example once per epoch.
  dg::manual_seed(1);
  auto shuffled = make_data_loader(ds.map(transforms::Stack<TensorExample>()), DataLoaderOptions(4));
  std::multiset<int64_t> all;
  for (auto& batch : *shuffled)
    for (int64_t v : int64s(batch.data)) all.insert(v);
  CHECK(all == std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  // An empty dataset: begin() == end().
  auto empty = make_data_loader(datasets::TensorDataset(dg::zeros({0, 2})), DataLoaderOptions(2).workers(2));
  CHECK(empty->begin() == empty->end());
  CHECK_THROWS_WITH(*empty->end(), Contains("past-the-end"));
  CHECK_THROWS_WITH(make_data_loader(ds, DataLoaderOptions(0)), Contains("batch_size"));
}

TEST_CASE("data: workers produce the batches of the iterating thread", "[data]") {
  require_fashion_mnist();
  const auto ds = datasets::MNIST(kFashionRoot, datasets::MNIST::Mode::kTest)
                      .map(transforms::Normalize<>(0.2860, 0.3530))
                      .map(transforms::Stack<>());
  auto collect = [&](size_t workers, bool ordered) {
    dg::manual_seed(11);  // the random sampler draws its order from the default generator
    auto loader = make_data_loader(ds, DataLoaderOptions(64).workers(workers).enforce_ordering(ordered));
    std::vector<Example<>> batches;
    for (int epoch = 0; epoch < 2; ++epoch)
      for (auto& batch : *loader) batches.push_back(batch);
    return batches;
  };
  const auto serial = collect(0, true);
  REQUIRE(serial.size() == 2 * 157);  // 10000 / 64, rounded up, twice
  check_shape(serial[0].data, {64, 1, 28, 28});
  check_shape(serial[156].data, {10000 - 156 * 64, 1, 28, 28});
  const auto threaded = collect(3, true);
  REQUIRE(threaded.size() == serial.size());
  for (size_t i = 0; i < serial.size(); ++i) {
    INFO("batch " << i);
    REQUIRE(dg::equal(threaded[i].data, serial[i].data));
    REQUIRE(dg::equal(threaded[i].target, serial[i].target));
  }
  // Unordered: the same batches, in any order.
  const auto unordered = collect(3, false);
  std::multiset<int64_t> a, b;
  for (const auto& x : serial) a.insert(x.target.sum().item<int64_t>() * 1000003 + x.target[0].item<int64_t>());
  for (const auto& x : unordered) b.insert(x.target.sum().item<int64_t>() * 1000003 + x.target[0].item<int64_t>());
  CHECK(a == b);
}

TEST_CASE("data: a worker's exception reaches the iterating thread", "[data]") {
  for (size_t workers : {size_t{0}, size_t{2}}) {
    INFO("workers " << workers);
    CountingDataset ds(20, {}, /*throw_at=*/9);
    auto loader = make_data_loader<samplers::SequentialSampler>(ds, DataLoaderOptions(4).workers(workers));
    std::vector<int64_t> first;
    bool thrown = false;
    try {
      for (auto& batch : *loader) first.push_back(batch[0].data.item<int64_t>());
    } catch (const WorkerException& e) {
      thrown = true;
      CHECK(workers > 0);
      CHECK_THAT(e.what(), Contains("worker thread") && Contains("refusing index 9"));
      CHECK_THROWS_AS(std::rethrow_exception(e.original_exception), Error);
    } catch (const Error& e) {
      thrown = true;
      CHECK(workers == 0);
      CHECK_THAT(e.what(), Contains("refusing index 9"));
    }
    CHECK(thrown);
    CHECK(first == std::vector<int64_t>{0, 4});
    // The next epoch starts cleanly.
    int batches = 0;
    try {
      for (auto& batch : *loader) (void)batch, ++batches;
    } catch (const std::exception&) {}
    CHECK(batches == 2);
  }
}

TEST_CASE("data: the loader stays bounded, times out, and stops mid-epoch", "[data]") {
  SECTION("at most max_jobs requests ahead") {
    CountingDataset ds(1000);
    auto calls = ds.calls;
    auto loader = make_data_loader<samplers::SequentialSampler>(ds, DataLoaderOptions(10).workers(2).max_jobs(3));
    auto it = loader->begin();
    CHECK((*it).size() == 10);
    // The workers work ahead: the batch taken and 3 more, and no further.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (*calls < 10 * (1 + 3) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(*calls == 10 * (1 + 3));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(*calls == 10 * (1 + 3));
  }
  SECTION("timeout") {
    CountingDataset ds(10, std::chrono::milliseconds(300));
    auto loader = make_data_loader<samplers::SequentialSampler>(
        ds, DataLoaderOptions(1).workers(1).timeout(std::chrono::milliseconds(20)));
    CHECK_THROWS_WITH(*loader->begin(), Contains("timed out") && Contains("20 ms"));
  }
  SECTION("destroyed mid-epoch") {
    CountingDataset ds(100000, std::chrono::milliseconds(1));
    auto calls = ds.calls;
    auto loader = make_data_loader<samplers::SequentialSampler>(ds, DataLoaderOptions(8).workers(3));
    int taken = 0;
    for (auto& batch : *loader) {
      CHECK(batch.size() == 8);
      if (++taken == 3) break;
    }
    // A new epoch after a break starts from the beginning.
    auto it = loader->begin();
    CHECK((*it)[0].data.item<int64_t>() == 0);
    const auto start = std::chrono::steady_clock::now();
    loader.reset();  // joins the workers, each after its current batch
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < std::chrono::seconds(2));
    const int after = *calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(*calls == after);  // nobody works any more
    CHECK(after < 8 * 20);
  }
}

TEST_CASE("data: ProgressBar", "[data]") {
  SECTION("not a terminal: one final line per epoch") {
    std::ostringstream out;
    ProgressBar bar(3, &out);
    CHECK_FALSE(bar.interactive());
    bar.start_epoch(1, 2);
    for (int i = 0; i < 3; ++i) bar.update(64, 0.5 - 0.1 * i);
    CHECK(out.str().empty());
    bar.finish();
    const std::string s = out.str();
    CHECK(std::count(s.begin(), s.end(), '\n') == 1);
    CHECK_THAT(s, Contains("epoch 1/2") && Contains("3/3") && Contains("loss 0.3000") && Contains("items/s"));
    CHECK(s.find('\r') == std::string::npos);
  }
  SECTION("terminal: one line redrawn in place") {
    std::ostringstream out;
    ProgressBar bar(4, &out, /*interactive=*/true);
    bar.redraw_interval = std::chrono::milliseconds(0);
    bar.start_epoch(2);
    bar.update(10, 1.25);
    CHECK_THAT(bar.line(), Contains("epoch 2 ") && Contains("1/4") && Contains("loss 1.2500") && Contains("ETA"));
    bar.update(10);
    bar.finish();
    const std::string s = out.str();
    CHECK(std::count(s.begin(), s.end(), '\r') >= 3);
    CHECK(std::count(s.begin(), s.end(), '\n') == 1);
    CHECK(s.back() == '\n');
  }
}
