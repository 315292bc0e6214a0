// Checkpoints on disk: dg::save / dg::load and the archives behind them.
//
// A checkpoint is a safetensors file (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header mapping each tensor's
// name to {"dtype", "shape", "data_offsets"}, then the raw little-endian bytes.
// Other tools (Python's safetensors, numpy readers) read it as is. Values that
// are not tensors (an optimizer's step count, its hyper-parameters) go into
// the header's "__metadata__" map, which the format keeps as strings.
//
// As in LibTorch, an archive is a tree of named entries: nested archives
// (write(key, sub_archive)) become dotted names ("layer1.weight",
// "state.0.exp_avg"). dg::save(x, path) writes `archive << x` and
// dg::load(x, path) reads `archive >> x`; tensors, lists of tensors, modules
// (dynagrad/nn/module.h) and optimizers (dynagrad/optim/optimizer.h) have
// those operators.
//
// Saving writes a temporary file next to the target and renames it over the
// target only once every byte is written and flushed, so a crash mid-save
// leaves the old checkpoint intact. Loading reads and checks the whole file
// (header, dtypes, shapes, offsets within the file) before it returns; a
// truncated, corrupted or foreign file gives a dg::Error naming the file and
// what is wrong.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dynagrad/tensor.h"

namespace dg::serialize {

class OutputArchive {
 public:
  OutputArchive() = default;

  // A tensor under `key` (CPU copy of its values; views and non-contiguous
  // tensors are written densely). `is_buffer` is accepted for LibTorch's
  // signature; buffers and parameters are stored alike.
  void write(const std::string& key, const Tensor& tensor, bool is_buffer = false);
  // A value that is not a tensor, kept as text in the header's metadata.
  void write(const std::string& key, const std::string& value);
  void write(const std::string& key, const char* value) { write(key, std::string(value)); }
  void write(const std::string& key, double value);
  void write(const std::string& key, int64_t value);
  void write(const std::string& key, bool value);
  void write(const std::string& key, int value) { write(key, static_cast<int64_t>(value)); }
  // A nested archive: its entries appear under "key.<their key>".
  void write(const std::string& key, const OutputArchive& nested);

  // Writes the archive to `filename` (temporary file, flush, rename).
  void save_to(const std::string& filename) const;

  const std::vector<std::pair<std::string, Tensor>>& tensors() const { return tensors_; }
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

 private:
  std::vector<std::pair<std::string, Tensor>> tensors_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

class InputArchive {
 public:
  InputArchive() = default;

  // Reads and checks the whole file; throws dg::Error naming the file and
  // the problem. Tensors are loaded to the CPU, or to `device` when given.
  void load_from(const std::string& filename, std::optional<Device> device = std::nullopt);

  // The tensor under `key`: `read` throws when there is none, `try_read`
  // returns false. When `tensor` is defined, its shape and dtype must match
  // and the values are copied into it in place (no autograd history);
  // otherwise it is set to the loaded tensor.
  void read(const std::string& key, Tensor& tensor, bool is_buffer = false) const;
  bool try_read(const std::string& key, Tensor& tensor, bool is_buffer = false) const;
  void read(const std::string& key, std::string& value) const;
  void read(const std::string& key, double& value) const;
  void read(const std::string& key, int64_t& value) const;
  void read(const std::string& key, bool& value) const;
  bool try_read(const std::string& key, std::string& value) const;
  bool try_read(const std::string& key, double& value) const;
  bool try_read(const std::string& key, int64_t& value) const;
  bool try_read(const std::string& key, bool& value) const;
  // The entries under "key." as their own archive.
  void read(const std::string& key, InputArchive& nested) const;
  bool try_read(const std::string& key, InputArchive& nested) const;

  // Names of the tensors (sorted) and of the metadata values at this level
  // and below, relative to this archive.
  std::vector<std::string> keys() const;
  std::vector<std::string> metadata_keys() const;
  bool contains_tensor(const std::string& key) const;
  // The tensor under `key` (undefined when there is none).
  Tensor tensor(const std::string& key) const;
  // The file this archive (or its parent) was loaded from, for messages.
  const std::string& filename() const { return state_ ? state_->filename : empty_; }

 private:
  struct State {
    std::string filename;
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;
  };
  std::shared_ptr<const State> state_;
  std::string prefix_;  // "" or "a.b."
  static const std::string empty_;
};

// Tensors and lists of tensors: keys "0", "1", ... as in LibTorch.
OutputArchive& operator<<(OutputArchive& archive, const Tensor& tensor);
OutputArchive& operator<<(OutputArchive& archive, const std::vector<Tensor>& tensors);
InputArchive& operator>>(InputArchive& archive, Tensor& tensor);
InputArchive& operator>>(InputArchive& archive, std::vector<Tensor>& tensors);

}  // namespace dg::serialize

namespace dg {

// dg::save(value, "file.safetensors"): value is a Tensor, a
// std::vector<Tensor>, a module holder or a module pointer, or an optimizer.
template <typename Value>
void save(const Value& value, const std::string& filename) {
  serialize::OutputArchive archive;
  archive << value;
  archive.save_to(filename);
}

// dg::load(value, "file.safetensors"): the reverse of save. A module checks
// every name, shape and dtype before it changes anything.
template <typename Value>
void load(Value& value, const std::string& filename, std::optional<Device> device = std::nullopt) {
  serialize::InputArchive archive;
  archive.load_from(filename, device);
  archive >> value;
}

}  // namespace dg
