// MNIST's IDX files (http://yann.lecun.com/exdb/mnist/): a big-endian header
// (magic number, count, and for images rows and columns) followed by one
// unsigned byte per pixel or label. gzread reads a gzip'ed file and passes
// a plain one through, so both forms share one reader.
#include <zlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dynagrad/data/datasets/mnist.h"
#include "dynagrad/error.h"
#include "dynagrad/factory.h"

namespace dg::data::datasets {
namespace {

constexpr uint32_t kImageMagic = 2051;  // 0x00000803: unsigned bytes, 3 dims
constexpr uint32_t kLabelMagic = 2049;  // 0x00000801: unsigned bytes, 1 dim
constexpr int64_t kTrainSize = 60000;
constexpr int64_t kTestSize = 10000;
constexpr int64_t kRows = 28;
constexpr int64_t kCols = 28;
constexpr size_t kImageHeader = 16;
constexpr size_t kLabelHeader = 8;

struct IdxFile {
  std::string path;
  std::vector<uint8_t> bytes;

  uint32_t be32(size_t offset) const {
    return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) | (uint32_t{bytes[offset + 2]} << 8) |
           uint32_t{bytes[offset + 3]};
  }
};

// Reads `root/name`, or `root/name.gz` when that is absent.
IdxFile read_idx(const std::string& root, const std::string& name, const char* what) {
  namespace fs = std::filesystem;
  const fs::path plain = fs::path(root) / name;
  const fs::path gz = fs::path(root) / (name + ".gz");
  IdxFile file;
  std::error_code ec;
  if (fs::is_regular_file(plain, ec)) {
    file.path = plain.string();
  } else if (fs::is_regular_file(gz, ec)) {
    file.path = gz.string();
  } else {
    dg::detail::fail(
        dg::detail::str("MNIST: the ", what, " file ", plain.string(), " (or its gzip'ed copy ", gz.string(),
                        ") does not exist. Fashion-MNIST comes with Debian's package dataset-fashion-mnist "
                        "(apt-get install dataset-fashion-mnist, or tools/install-deps.sh), which installs it "
                        "under /usr/share/datasets/fashion-mnist"));
  }
  gzFile f = gzopen(file.path.c_str(), "rb");
  DG_CHECK(f != nullptr, "MNIST: cannot open the ", what, " file ", file.path);
  gzbuffer(f, 1 << 17);
  std::array<uint8_t, 1 << 16> chunk;
  int n;
  while ((n = gzread(f, chunk.data(), chunk.size())) > 0)
    file.bytes.insert(file.bytes.end(), chunk.data(), chunk.data() + n);
  int err = Z_OK;
  const char* msg = gzerror(f, &err);
  const std::string zlib_msg = msg ? msg : "";
  gzclose(f);
  DG_CHECK(n == 0 && (err == Z_OK || err == Z_STREAM_END), "MNIST: cannot read the ", what, " file ", file.path,
           ": the gzip data is truncated or corrupt (zlib: ", zlib_msg, ")");
  return file;
}

// Checks the header and length of an IDX file of `count` items of
// `item_bytes` bytes after a `header`-byte header; returns count.
int64_t check_idx(const IdxFile& f, const char* what, uint32_t magic, size_t header, size_t item_bytes) {
  DG_CHECK(f.bytes.size() >= header, "MNIST: the ", what, " file ", f.path, " is truncated: it has ", f.bytes.size(),
           " bytes, fewer than its ", header, "-byte header");
  const uint32_t got = f.be32(0);
  DG_CHECK(got == magic, "MNIST: the ", what, " file ", f.path, " is not an MNIST ", what,
           " file: its magic number is ", got, ", expected ", magic,
           got == kImageMagic   ? " (it is an images file)"
           : got == kLabelMagic ? " (it is a labels file)"
                                : "");
  const int64_t count = f.be32(4);
  const size_t expected = header + static_cast<size_t>(count) * item_bytes;
  DG_CHECK(f.bytes.size() >= expected, "MNIST: the ", what, " file ", f.path, " is truncated: its header announces ",
           count, " ", what, " (", expected, " bytes), the file has ", f.bytes.size(), " bytes");
  DG_CHECK(f.bytes.size() == expected, "MNIST: the ", what, " file ", f.path, " has ", f.bytes.size() - expected,
           " bytes after the ", count, " ", what, " its header announces");
  return count;
}

}  // namespace

MNIST::MNIST(const std::string& root, Mode mode) {
  const bool train = mode == Mode::kTrain;
  const std::string prefix = train ? "train" : "t10k";
  const IdxFile images = read_idx(root, prefix + "-images-idx3-ubyte", "images");
  DG_CHECK(images.bytes.size() < kImageHeader || images.be32(0) != kImageMagic ||
               (images.be32(8) == kRows && images.be32(12) == kCols),
           "MNIST: the images file ", images.path, " holds ", images.be32(8), "x", images.be32(12),
           " images, expected ", kRows, "x", kCols);
  const int64_t n_images = check_idx(images, "images", kImageMagic, kImageHeader, kRows * kCols);
  const IdxFile labels = read_idx(root, prefix + "-labels-idx1-ubyte", "labels");
  const int64_t n_labels = check_idx(labels, "labels", kLabelMagic, kLabelHeader, 1);
  DG_CHECK(n_images == n_labels, "MNIST: the images file ", images.path, " has ", n_images,
           " images but the labels file ", labels.path, " has ", n_labels, " labels");
  const int64_t expected = train ? kTrainSize : kTestSize;
  DG_CHECK(n_images == expected, "MNIST: expected ", expected, " examples in the ", prefix, " set, the files ",
           images.path, " and ", labels.path, " have ", n_images);

  // Pixels to [0, 1] as LibTorch (byte -> float32, then / 255), by table.
  std::array<float, 256> scale;
  for (int v = 0; v < 256; ++v) scale[v] = static_cast<float>(v) / 255.0f;
  images_ = dg::empty({n_images, 1, kRows, kCols}, kFloat32);
  float* px = images_.data_ptr<float>();
  const uint8_t* src = images.bytes.data() + kImageHeader;
  for (int64_t i = 0, total = n_images * kRows * kCols; i < total; ++i) px[i] = scale[src[i]];
  targets_ = dg::empty({n_labels}, kInt64);
  int64_t* t = targets_.data_ptr<int64_t>();
  for (int64_t i = 0; i < n_labels; ++i) t[i] = labels.bytes[kLabelHeader + i];
}

Example<> MNIST::get(size_t index) {
  const auto n = static_cast<size_t>(images_.size(0));
  DG_CHECK(index < n, "MNIST::get: index ", index, " is out of range for a dataset of ", n, " examples");
  const auto i = static_cast<int64_t>(index);
  return {images_[i], targets_[i]};
}

std::optional<size_t> MNIST::size() const { return static_cast<size_t>(images_.size(0)); }

bool MNIST::is_train() const noexcept { return images_.size(0) == kTrainSize; }

const Tensor& MNIST::images() const { return images_; }

const Tensor& MNIST::targets() const { return targets_; }

}  // namespace dg::data::datasets
