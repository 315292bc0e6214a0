// dg::save / dg::load: safetensors files (see dynagrad/serialize.h).
#include "dynagrad/serialize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dynagrad/factory.h"
#include "dynagrad/grad_mode.h"

namespace dg::serialize {
namespace {

using Json = nlohmann::json;

// safetensors' dtype names, in ScalarType order.
constexpr const char* kSafetensorsDtype[kNumScalarTypes] = {"F32",  "F64", "I64", "BOOL", "F16",
                                                            "BF16", "I32", "I16", "I8",   "U8"};

std::optional<ScalarType> dtype_from_safetensors(const std::string& name) {
  for (int i = 0; i < kNumScalarTypes; ++i)
    if (name == kSafetensorsDtype[i]) return static_cast<ScalarType>(i);
  return std::nullopt;
}

[[noreturn]] void bad_file(const std::string& filename, const std::string& what) {
  dg::detail::fail("dg::load: '" + filename + "' is not a readable dynagrad checkpoint (safetensors): " + what);
}

// A file descriptor closed on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, const void* data, size_t n, const std::string& tmp) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0 && errno == EINTR) continue;
    DG_CHECK(w > 0, "dg::save: writing '", tmp, "' failed: ", std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads exactly n bytes or says why not.
void read_all(int fd, void* data, size_t n, const std::string& filename) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) bad_file(filename, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) bad_file(filename, "the file ends early (truncated)");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

std::string join_key(const std::string& prefix, const std::string& key) {
  DG_CHECK(!key.empty(), "serialize::OutputArchive::write: expected a non-empty key");
  return prefix.empty() ? key : prefix + "." + key;
}

}  // namespace

const std::string InputArchive::empty_;

// ---------------------------------------------------------------- writing

void OutputArchive::write(const std::string& key, const Tensor& tensor, bool /*is_buffer*/) {
  DG_CHECK(tensor.defined(), "serialize::OutputArchive::write: the tensor '", key, "' is undefined");
  NoGradGuard no_grad;
  // A dense CPU copy when the tensor is not one already (no copy otherwise:
  // the bytes are written straight from its storage).
  Tensor t = tensor.detach();
  if (t.device().is_cpu() == false) t = t.cpu();
  if (!t.is_contiguous()) t = t.contiguous();
  tensors_.emplace_back(key, t);
}

void OutputArchive::write(const std::string& key, const std::string& value) { metadata_.emplace_back(key, value); }

void OutputArchive::write(const std::string& key, double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  metadata_.emplace_back(key, buf);
}

void OutputArchive::write(const std::string& key, int64_t value) { metadata_.emplace_back(key, std::to_string(value)); }

void OutputArchive::write(const std::string& key, bool value) { metadata_.emplace_back(key, value ? "true" : "false"); }

void OutputArchive::write(const std::string& key, const OutputArchive& nested) {
  for (const auto& [k, t] : nested.tensors_) tensors_.emplace_back(join_key(key, k), t);
  for (const auto& [k, v] : nested.metadata_) metadata_.emplace_back(join_key(key, k), v);
}

void OutputArchive::save_to(const std::string& filename) const {
  std::set<std::string> seen;
  for (const auto& [k, t] : tensors_)
    DG_CHECK(seen.insert(k).second, "dg::save: the name '", k, "' is written twice to '", filename, "'");
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& [k, t] : tensors_) {
    DG_CHECK(k != "__metadata__", "dg::save: '__metadata__' is reserved and cannot name a tensor");
    Json shape = Json::array();
    for (int64_t s : t.sizes()) shape.push_back(s);
    const uint64_t n = t.nbytes();
    header[k] = {{"dtype", kSafetensorsDtype[static_cast<int>(t.scalar_type())]},
                 {"shape", shape},
                 {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  if (!metadata_.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const uint64_t header_len = text.size();
  unsigned char len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = static_cast<unsigned char>(header_len >> (8 * i));

  // Next to the target, so the rename stays on one file system.
  const std::string tmp = filename + ".tmp." + std::to_string(::getpid());
  {
    Fd out;
    out.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    DG_CHECK(out.fd >= 0, "dg::save: cannot create '", tmp, "' (for '", filename, "'): ", std::strerror(errno));
    try {
      write_all(out.fd, len_le, 8, tmp);
      write_all(out.fd, text.data(), text.size(), tmp);
      for (const auto& [k, t] : tensors_) write_all(out.fd, t.data_ptr(), t.nbytes(), tmp);
      DG_CHECK(::fsync(out.fd) == 0, "dg::save: flushing '", tmp, "' failed: ", std::strerror(errno));
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), filename.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    dg::detail::fail("dg::save: cannot rename '" + tmp + "' to '" + filename + "': " + std::strerror(e));
  }
}

// ---------------------------------------------------------------- reading

void InputArchive::load_from(const std::string& filename, std::optional<Device> device) {
  Fd in;
  in.fd = ::open(filename.c_str(), O_RDONLY | O_CLOEXEC);
  DG_CHECK(in.fd >= 0, "dg::load: cannot open '", filename, "': ", std::strerror(errno));
  struct stat st {};
  DG_CHECK(::fstat(in.fd, &st) == 0, "dg::load: cannot stat '", filename, "': ", std::strerror(errno));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    bad_file(filename, "it has " + std::to_string(file_size) + " bytes, fewer than the 8 of a header length");
  unsigned char len_le[8];
  read_all(in.fd, len_le, 8, filename);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(len_le[i]) << (8 * i);
  if (header_len > file_size - 8 || header_len > (uint64_t(100) << 20))
    bad_file(filename, "its header length " + std::to_string(header_len) + " does not fit in its " +
                           std::to_string(file_size) + " bytes");
  std::string text(header_len, '\0');
  read_all(in.fd, text.data(), header_len, filename);
  Json header;
  try {
    header = Json::parse(text);
  } catch (const std::exception& e) {
    bad_file(filename, std::string("its header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) bad_file(filename, "its header is not a JSON object");

  auto state = std::make_shared<State>();
  state->filename = filename;
  struct Entry {
    std::string name;
    ScalarType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) bad_file(filename, "__metadata__ is not an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) bad_file(filename, "__metadata__ entry '" + m.key() + "' is not a string");
        state->metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad_file(filename, where + "expected an object with dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) bad_file(filename, where + "dtype is not a string");
    const auto dtype = dtype_from_safetensors(v["dtype"].get<std::string>());
    if (!dtype) bad_file(filename, where + "unsupported dtype " + v["dtype"].get<std::string>());
    Entry e{name, *dtype, {}, 0, 0};
    if (!v["shape"].is_array()) bad_file(filename, where + "shape is not a list");
    uint64_t numel = 1;
    for (const Json& s : v["shape"]) {
      if (!s.is_number_integer() || s.get<int64_t>() < 0) bad_file(filename, where + "shape holds a non-size");
      e.shape.push_back(s.get<int64_t>());
      const uint64_t d = static_cast<uint64_t>(e.shape.back());
      if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / d / 8) bad_file(filename, where + "shape too large");
      numel *= d;
    }
    const Json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad_file(filename, where + "data_offsets is not a [begin, end] pair");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin || e.end - e.begin != numel * element_size(*dtype))
      bad_file(filename, where + "data_offsets span " + std::to_string(e.end - e.begin) +
                             " bytes, its shape and dtype need " + std::to_string(numel * element_size(*dtype)));
    entries.push_back(std::move(e));
  }
  // The data must be exactly the tensors' bytes, back to back.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    if (e.begin != expected)
      bad_file(filename, "tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) +
                             " of the data, expected " + std::to_string(expected) + " (overlap or hole)");
    expected = e.end;
  }
  const uint64_t data_size = file_size - 8 - header_len;
  if (data_size < expected)
    bad_file(filename, "the file ends early (truncated): its tensors need " + std::to_string(expected) +
                           " bytes of data, it has " + std::to_string(data_size));
  if (data_size > expected)
    bad_file(filename, std::to_string(data_size - expected) + " bytes follow the last tensor's data");
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, TensorOptions(e.dtype));
    read_all(in.fd, t.data_ptr(), e.end - e.begin, filename);
    if (device && !device->is_cpu()) t = t.to(*device);
    state->tensors[e.name] = std::move(t);
  }
  state_ = std::move(state);
  prefix_.clear();
}

Tensor InputArchive::tensor(const std::string& key) const {
  if (!state_) return {};
  auto it = state_->tensors.find(prefix_ + key);
  return it == state_->tensors.end() ? Tensor() : it->second;
}

bool InputArchive::contains_tensor(const std::string& key) const { return tensor(key).defined(); }

bool InputArchive::try_read(const std::string& key, Tensor& tensor, bool /*is_buffer*/) const {
  Tensor loaded = this->tensor(key);
  if (!loaded.defined()) return false;
  if (!tensor.defined()) {
    tensor = loaded;
    return true;
  }
  DG_CHECK(tensor.sizes() == loaded.sizes(), "dg::load: '", prefix_ + key, "' in '", filename(), "' has shape ",
           loaded.sizes(), ", the tensor it is loaded into has shape ", tensor.sizes());
  DG_CHECK(tensor.scalar_type() == loaded.scalar_type(), "dg::load: '", prefix_ + key, "' in '", filename(), "' is ",
           loaded.scalar_type(), ", the tensor it is loaded into is ", tensor.scalar_type());
  NoGradGuard no_grad;
  tensor.copy_(loaded);
  return true;
}

void InputArchive::read(const std::string& key, Tensor& tensor, bool is_buffer) const {
  DG_CHECK(try_read(key, tensor, is_buffer), "dg::load: '", filename(), "' has no tensor '", prefix_ + key, "'");
}

bool InputArchive::try_read(const std::string& key, std::string& value) const {
  if (!state_) return false;
  auto it = state_->metadata.find(prefix_ + key);
  if (it == state_->metadata.end()) return false;
  value = it->second;
  return true;
}

bool InputArchive::try_read(const std::string& key, double& value) const {
  std::string text;
  if (!try_read(key, text)) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  DG_CHECK(end && *end == 0 && !text.empty(), "dg::load: '", prefix_ + key, "' in '", filename(),
           "' should be a number, it is '", text, "'");
  return true;
}

bool InputArchive::try_read(const std::string& key, int64_t& value) const {
  std::string text;
  if (!try_read(key, text)) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoll(text.c_str(), &end, 10);
  DG_CHECK(end && *end == 0 && !text.empty() && errno == 0, "dg::load: '", prefix_ + key, "' in '", filename(),
           "' should be an integer, it is '", text, "'");
  return true;
}

bool InputArchive::try_read(const std::string& key, bool& value) const {
  std::string text;
  if (!try_read(key, text)) return false;
  DG_CHECK(text == "true" || text == "false", "dg::load: '", prefix_ + key, "' in '", filename(),
           "' should be true or false, it is '", text, "'");
  value = text == "true";
  return true;
}

namespace {
template <typename T>
void read_required(const InputArchive& a, const std::string& key, T& value, const std::string& full_key) {
  DG_CHECK(a.try_read(key, value), "dg::load: '", a.filename(), "' has no value '", full_key, "'");
}
}  // namespace

void InputArchive::read(const std::string& key, std::string& value) const {
  read_required(*this, key, value, prefix_ + key);
}
void InputArchive::read(const std::string& key, double& value) const {
  read_required(*this, key, value, prefix_ + key);
}
void InputArchive::read(const std::string& key, int64_t& value) const {
  read_required(*this, key, value, prefix_ + key);
}
void InputArchive::read(const std::string& key, bool& value) const { read_required(*this, key, value, prefix_ + key); }

bool InputArchive::try_read(const std::string& key, InputArchive& nested) const {
  if (!state_) return false;
  const std::string p = prefix_ + key + ".";
  auto has_prefix = [&](const auto& map) {
    auto it = map.lower_bound(p);
    return it != map.end() && it->first.compare(0, p.size(), p) == 0;
  };
  if (!has_prefix(state_->tensors) && !has_prefix(state_->metadata)) return false;
  nested.state_ = state_;
  nested.prefix_ = p;
  return true;
}

void InputArchive::read(const std::string& key, InputArchive& nested) const {
  DG_CHECK(try_read(key, nested), "dg::load: '", filename(), "' has no entries under '", prefix_ + key, "'");
}

namespace {
template <typename Map>
std::vector<std::string> keys_under(const Map& map, const std::string& prefix) {
  std::vector<std::string> out;
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back(it->first.substr(prefix.size()));
  return out;
}
}  // namespace

std::vector<std::string> InputArchive::keys() const {
  return state_ ? keys_under(state_->tensors, prefix_) : std::vector<std::string>{};
}

std::vector<std::string> InputArchive::metadata_keys() const {
  return state_ ? keys_under(state_->metadata, prefix_) : std::vector<std::string>{};
}

// ---------------------------------------------------------------- tensors

OutputArchive& operator<<(OutputArchive& archive, const Tensor& tensor) {
  archive.write("0", tensor);
  return archive;
}

OutputArchive& operator<<(OutputArchive& archive, const std::vector<Tensor>& tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) archive.write(std::to_string(i), tensors[i]);
  archive.write("size", static_cast<int64_t>(tensors.size()));
  return archive;
}

InputArchive& operator>>(InputArchive& archive, Tensor& tensor) {
  Tensor loaded = archive.tensor("0");
  DG_CHECK(loaded.defined(), "dg::load: '", archive.filename(), "' holds no tensor (no entry '0')");
  tensor = loaded;  // LibTorch's load replaces the tensor
  return archive;
}

InputArchive& operator>>(InputArchive& archive, std::vector<Tensor>& tensors) {
  int64_t n = 0;
  DG_CHECK(archive.try_read("size", n), "dg::load: '", archive.filename(), "' holds no list of tensors");
  std::vector<Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    Tensor t = archive.tensor(std::to_string(i));
    DG_CHECK(t.defined(), "dg::load: '", archive.filename(), "' lacks element ", i, " of its ", n, " tensors");
    out.push_back(t);
  }
  tensors = std::move(out);
  return archive;
}

}  // namespace dg::serialize
