// dg::nn's recurrent layers: LibTorch 1.13's RNN, LSTM and GRU (multi-layer,
// bidirectional, batch_first, dropout between layers, LSTM projections) and
// the single-step RNNCell, LSTMCell and GRUCell, with LibTorch's options,
// parameter names (weight_ih_l0, bias_hh_l1_reverse, ...), shapes, default
// initialisation and forward types.
//
// They are built from dynagrad ops, so autograd differentiates them to any
// order. Each layer and direction projects the whole input sequence in one
// matrix product (x @ W_ih^T with both biases folded in, GRU's hidden bias
// aside); only the hidden projection runs step by step.
//
// As LibTorch 1.13's C++ frontend (not Python's), RNN/LSTM/GRU take 3-D
// input only and the cells 2-D: no unbatched input.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "dynagrad/nn/enum.h"
#include "dynagrad/nn/module.h"
#include "dynagrad/tensor.h"

namespace dg::nn {

// ---- options ----------------------------------------------------------------
namespace detail {
// What RNN, LSTM and GRU share (LibTorch's RNNOptionsBase).
struct RNNOptionsBase {
  using rnn_options_base_mode_t =
      std::variant<enumtype::kLSTM, enumtype::kGRU, enumtype::kRNN_TANH, enumtype::kRNN_RELU>;
  RNNOptionsBase(rnn_options_base_mode_t mode, int64_t input_size, int64_t hidden_size)
      : mode_(mode), input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(rnn_options_base_mode_t, mode);
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(int64_t, num_layers) = 1;
  DG_ARG(bool, bias) = true;
  DG_ARG(bool, batch_first) = false;
  DG_ARG(double, dropout) = 0.0;
  DG_ARG(bool, bidirectional) = false;
  DG_ARG(int64_t, proj_size) = 0;
};

struct RNNCellOptionsBase {
  RNNCellOptionsBase(int64_t input_size, int64_t hidden_size, bool bias, int64_t num_chunks)
      : input_size_(input_size), hidden_size_(hidden_size), bias_(bias), num_chunks_(num_chunks) {}
  virtual ~RNNCellOptionsBase() = default;
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(bool, bias);
  DG_ARG(int64_t, num_chunks);
};
}  // namespace detail

struct RNNOptions {
  using nonlinearity_t = std::variant<enumtype::kTanh, enumtype::kReLU>;
  RNNOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(int64_t, num_layers) = 1;
  DG_ARG(nonlinearity_t, nonlinearity) = dg::kTanh;
  DG_ARG(bool, bias) = true;
  DG_ARG(bool, batch_first) = false;
  DG_ARG(double, dropout) = 0.0;
  DG_ARG(bool, bidirectional) = false;
};

struct LSTMOptions {
  LSTMOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(int64_t, num_layers) = 1;
  DG_ARG(bool, bias) = true;
  DG_ARG(bool, batch_first) = false;
  DG_ARG(double, dropout) = 0.0;
  DG_ARG(bool, bidirectional) = false;
  DG_ARG(int64_t, proj_size) = 0;
};

struct GRUOptions {
  GRUOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(int64_t, num_layers) = 1;
  DG_ARG(bool, bias) = true;
  DG_ARG(bool, batch_first) = false;
  DG_ARG(double, dropout) = 0.0;
  DG_ARG(bool, bidirectional) = false;
};

struct RNNCellOptions {
  using nonlinearity_t = std::variant<enumtype::kTanh, enumtype::kReLU>;
  RNNCellOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(bool, bias) = true;
  DG_ARG(nonlinearity_t, nonlinearity) = dg::kTanh;
};

struct LSTMCellOptions {
  LSTMCellOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(bool, bias) = true;
};

struct GRUCellOptions {
  GRUCellOptions(int64_t input_size, int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  DG_ARG(int64_t, input_size);
  DG_ARG(int64_t, hidden_size);
  DG_ARG(bool, bias) = true;
};

// ---- RNN, LSTM, GRU -------------------------------------------------------------
namespace detail {

template <typename Derived>
class RNNImplBase : public Cloneable<Derived> {
 public:
  explicit RNNImplBase(const RNNOptionsBase& options_);
  void reset() override;
  // Every parameter uniform in +-1/sqrt(hidden_size), as LibTorch.
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  // LibTorch packs the weights for cuDNN here; dynagrad needs nothing.
  void flatten_parameters() {}
  // The parameters, layer by layer and direction by direction, in
  // registration order (LibTorch's all_weights()).
  std::vector<Tensor> all_weights() const;

  RNNOptionsBase options_base;

 protected:
  // The module's name in messages: "RNN", "LSTM" or "GRU".
  const char* kind() const;
  void check_input(const Tensor& input) const;
  std::tuple<int64_t, int64_t, int64_t> get_expected_hidden_size(const Tensor& input) const;
  void check_hidden_size(const Tensor& hx, std::tuple<int64_t, int64_t, int64_t> expected_hidden_size,
                         const std::string& label = "hidden") const;
  // Runs every layer and direction over the (3-D) input from the initial
  // states h0 [layers * directions, batch, real hidden] and (LSTM) c0;
  // returns the output and the final h and c.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0);
  // RNN's and GRU's forward: checks, zeros for an undefined hx, run.
  std::tuple<Tensor, Tensor> forward_one_state(const Tensor& input, Tensor hx);
  const Tensor& weight(const std::string& name) const;

  std::vector<std::string> flat_weights_names_;
  std::vector<std::vector<std::string>> all_weights_;
};

}  // namespace detail

class RNNImpl : public detail::RNNImplBase<RNNImpl> {
 public:
  RNNImpl(int64_t input_size, int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  explicit RNNImpl(const RNNOptions& options_);
  // input [seq, batch, input_size] (batch_first: [batch, seq, input_size]),
  // hx [layers * directions, batch, hidden_size] (zeros when undefined);
  // returns (output, h_n).
  std::tuple<Tensor, Tensor> forward(const Tensor& input, Tensor hx = {});
  RNNOptions options;
};
DG_MODULE(RNN);

class LSTMImpl : public detail::RNNImplBase<LSTMImpl> {
 public:
  LSTMImpl(int64_t input_size, int64_t hidden_size) : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  explicit LSTMImpl(const LSTMOptions& options_);
  // Returns (output, (h_n, c_n)); h has proj_size features when projecting.
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         std::optional<std::tuple<Tensor, Tensor>> hx_opt = {});
  LSTMOptions options;

 protected:
  std::tuple<int64_t, int64_t, int64_t> get_expected_cell_size(const Tensor& input) const;
};
DG_MODULE(LSTM);

class GRUImpl : public detail::RNNImplBase<GRUImpl> {
 public:
  GRUImpl(int64_t input_size, int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  explicit GRUImpl(const GRUOptions& options_);
  std::tuple<Tensor, Tensor> forward(const Tensor& input, Tensor hx = {});
  GRUOptions options;
};
DG_MODULE(GRU);

// ---- cells ---------------------------------------------------------------------
namespace detail {

template <typename Derived>
class RNNCellImplBase : public Cloneable<Derived> {
 public:
  explicit RNNCellImplBase(const RNNCellOptionsBase& options_);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  RNNCellOptionsBase options_base;
  Tensor weight_ih;  // [num_chunks * hidden_size, input_size]
  Tensor weight_hh;  // [num_chunks * hidden_size, hidden_size]
  Tensor bias_ih;    // [num_chunks * hidden_size], undefined without bias
  Tensor bias_hh;

 protected:
  const char* kind() const;
  void check_forward_input(const Tensor& input) const;
  // The state (zeros [batch, hidden_size] when undefined), checked.
  Tensor check_forward_hidden(const Tensor& input, const Tensor& hx, const std::string& label) const;
  virtual std::string get_nonlinearity_str() const { return ""; }
};

}  // namespace detail

class RNNCellImpl : public detail::RNNCellImplBase<RNNCellImpl> {
 public:
  RNNCellImpl(int64_t input_size, int64_t hidden_size) : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  explicit RNNCellImpl(const RNNCellOptions& options_);
  // input [batch, input_size], hx [batch, hidden_size]; returns h'.
  Tensor forward(const Tensor& input, Tensor hx = {});
  RNNCellOptions options;

 protected:
  std::string get_nonlinearity_str() const override;
};
DG_MODULE(RNNCell);

class LSTMCellImpl : public detail::RNNCellImplBase<LSTMCellImpl> {
 public:
  LSTMCellImpl(int64_t input_size, int64_t hidden_size) : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  explicit LSTMCellImpl(const LSTMCellOptions& options_);
  // Returns (h', c').
  std::tuple<Tensor, Tensor> forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx_opt = {});
  LSTMCellOptions options;
};
DG_MODULE(LSTMCell);

class GRUCellImpl : public detail::RNNCellImplBase<GRUCellImpl> {
 public:
  GRUCellImpl(int64_t input_size, int64_t hidden_size) : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  explicit GRUCellImpl(const GRUCellOptions& options_);
  Tensor forward(const Tensor& input, Tensor hx = {});
  GRUCellOptions options;
};
DG_MODULE(GRUCell);

}  // namespace dg::nn
