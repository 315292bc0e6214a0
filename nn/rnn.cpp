// dg::nn's recurrent layers (dynagrad/nn/rnn.h): parameters in LibTorch's
// order, its argument checks, and the recurrences from dynagrad ops.
#include "dynagrad/nn/rnn.h"

#include <cmath>

#include "dynagrad/factory.h"
#include "dynagrad/function.h"
#include "dynagrad/grad_mode.h"
#include "dynagrad/nn/functional.h"
#include "dynagrad/nn/init.h"

namespace dg::nn {
namespace {

const char* boolstr(bool b) { return b ? "true" : "false"; }

// The sum of the two gate biases (both undefined without bias): RNN and LSTM
// add them together, so the input projection carries both.
Tensor folded_bias(const Tensor& b_ih, const Tensor& b_hh) { return b_ih.defined() ? b_ih + b_hh : Tensor(); }

// x [rows, in] @ w_t (+ bias), w_t a transposed weight [in, out].
Tensor project(const Tensor& x, const Tensor& w_t, const Tensor& bias) {
  return bias.defined() ? dg::addmm(bias, x, w_t) : dg::mm(x, w_t);
}

// x.chunk(chunks, dim) whose backward is one cat of the chunks' gradients
// (ATen's unsafe_chunk). Autograd's chunk is narrow views, each of whose
// backward pads its gradient to x's full size before they are summed: for
// the per-step slices of a whole sequence's projection that is quadratic in
// the sequence length. The cat is differentiable, so higher orders still work.
struct ChunkCat : autograd::Function<ChunkCat> {
  static variable_list forward(autograd::AutogradContext* ctx, const Tensor& x, int64_t chunks, int64_t dim) {
    ctx->saved_data["dim"] = dim;
    return x.chunk(chunks, dim);
  }
  static variable_list backward(autograd::AutogradContext* ctx, variable_list grads) {
    return {dg::cat(grads, ctx->saved_data["dim"].toInt()), Tensor(), Tensor()};
  }
};

std::vector<Tensor> chunk_cat(const Tensor& x, int64_t chunks, int64_t dim) { return ChunkCat::apply(x, chunks, dim); }

// ---- one time step; `xg` is the step's input projection --------------------------

// RNN: h' = act(xg + h W_hh^T), xg holding both biases.
Tensor rnn_step(const Tensor& xg, const Tensor& h, const Tensor& w_hh_t, bool relu) {
  Tensor pre = dg::addmm(xg, h, w_hh_t);
  return relu ? dg::relu(pre) : dg::tanh(pre);
}

// LSTM: gates i, f, g, o from xg + h W_hh^T; c' = f c + i g, h' = o tanh(c'),
// projected by w_hr when defined.
std::tuple<Tensor, Tensor> lstm_step(const Tensor& xg, const Tensor& h, const Tensor& c, const Tensor& w_hh_t,
                                     const Tensor& w_hr_t) {
  auto gates = chunk_cat(dg::addmm(xg, h, w_hh_t), 4, 1);
  Tensor i = dg::sigmoid(gates[0]);
  Tensor f = dg::sigmoid(gates[1]);
  Tensor g = dg::tanh(gates[2]);
  Tensor o = dg::sigmoid(gates[3]);
  Tensor c_next = f * c + i * g;
  Tensor h_next = o * dg::tanh(c_next);
  if (w_hr_t.defined()) h_next = dg::mm(h_next, w_hr_t);
  return {h_next, c_next};
}

// GRU: r, z from the sums of both projections; n = tanh(xg_n + r (h W_hn^T +
// b_hn)); h' = n + z (h - n). xg holds b_ih only.
Tensor gru_step(const Tensor& xg, const Tensor& h, const Tensor& w_hh_t, const Tensor& b_hh) {
  auto gx = chunk_cat(xg, 3, 1);
  auto gh = chunk_cat(project(h, w_hh_t, b_hh), 3, 1);
  Tensor r = dg::sigmoid(gx[0] + gh[0]);
  Tensor z = dg::sigmoid(gx[1] + gh[1]);
  Tensor n = dg::tanh(gx[2] + r * gh[2]);
  return n + z * (h - n);
}

enum class Mode { kRnnTanh, kRnnRelu, kLstm, kGru };

Mode mode_of(const detail::RNNOptionsBase::rnn_options_base_mode_t& m) {
  if (std::holds_alternative<enumtype::kLSTM>(m)) return Mode::kLstm;
  if (std::holds_alternative<enumtype::kGRU>(m)) return Mode::kGru;
  return std::holds_alternative<enumtype::kRNN_RELU>(m) ? Mode::kRnnRelu : Mode::kRnnTanh;
}

// LibTorch's initialisation of every recurrent parameter: uniform in
// +-1/sqrt(hidden_size).
void uniform_by_hidden_size(const std::vector<Tensor>& parameters, int64_t hidden_size) {
  const double stdv = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const auto& p : parameters) init::uniform_(p, -stdv, stdv);
}

// Zeros of `shape` in the input's dtype and device: the default initial state.
Tensor zero_state(const Tensor& input, std::tuple<int64_t, int64_t, int64_t> shape) {
  return dg::zeros({std::get<0>(shape), std::get<1>(shape), std::get<2>(shape)},
                   TensorOptions(input.scalar_type()).device(input.device()));
}

int64_t gate_count(Mode mode) { return mode == Mode::kLstm ? 4 : mode == Mode::kGru ? 3 : 1; }

}  // namespace

// ---- RNNImplBase ----------------------------------------------------------------------

namespace detail {

template <typename Derived>
RNNImplBase<Derived>::RNNImplBase(const RNNOptionsBase& options_) : options_base(options_) {
  reset();
}

template <typename Derived>
const char* RNNImplBase<Derived>::kind() const {
  switch (mode_of(options_base.mode())) {
    case Mode::kLstm: return "LSTM";
    case Mode::kGru: return "GRU";
    default: return "RNN";
  }
}

template <typename Derived>
void RNNImplBase<Derived>::reset() {
  const auto& o = options_base;
  const Mode mode = mode_of(o.mode());
  DG_CHECK(o.input_size() >= 0 && o.hidden_size() > 0 && o.num_layers() > 0, kind(),
           ": expected input_size >= 0, hidden_size > 0 and num_layers > 0, got ", o.input_size(), ", ",
           o.hidden_size(), ", ", o.num_layers());
  DG_CHECK(o.dropout() >= 0 && o.dropout() <= 1, kind(),
           ": dropout should be a number in range [0, 1] representing the probability of an element being zeroed, "
           "got ",
           o.dropout());
  DG_CHECK(o.proj_size() >= 0, kind(), ": proj_size should be a positive integer or zero to disable projections, got ",
           o.proj_size());
  DG_CHECK(o.proj_size() < o.hidden_size(), kind(), ": proj_size has to be smaller than hidden_size, got proj_size ",
           o.proj_size(), " and hidden_size ", o.hidden_size());
  DG_CHECK(o.proj_size() == 0 || mode == Mode::kLstm, kind(),
           ": proj_size argument is only supported for LSTM, not RNN or GRU");

  const int64_t gate_size = gate_count(mode) * o.hidden_size();
  const int64_t num_directions = o.bidirectional() ? 2 : 1;
  const int64_t real_hidden = o.proj_size() > 0 ? o.proj_size() : o.hidden_size();
  flat_weights_names_.clear();
  all_weights_.clear();
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    for (int64_t direction = 0; direction < num_directions; ++direction) {
      const int64_t layer_input = layer == 0 ? o.input_size() : real_hidden * num_directions;
      const std::string suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
      std::vector<std::string> names;
      auto add = [&](const std::string& stem, std::vector<int64_t> shape) {
        this->register_parameter(stem + suffix, dg::empty(shape));
        names.push_back(stem + suffix);
      };
      add("weight_ih", {gate_size, layer_input});
      add("weight_hh", {gate_size, real_hidden});
      if (o.bias()) {
        add("bias_ih", {gate_size});
        add("bias_hh", {gate_size});
      }
      if (o.proj_size() > 0) add("weight_hr", {o.proj_size(), o.hidden_size()});
      flat_weights_names_.insert(flat_weights_names_.end(), names.begin(), names.end());
      all_weights_.push_back(std::move(names));
    }
  }
  reset_parameters();
}

template <typename Derived>
void RNNImplBase<Derived>::reset_parameters() {
  uniform_by_hidden_size(this->parameters(), options_base.hidden_size());
}

template <typename Derived>
void RNNImplBase<Derived>::pretty_print(std::ostream& stream) const {
  const auto& o = options_base;
  stream << "dg::nn::" << kind() << "(input_size=" << o.input_size() << ", hidden_size=" << o.hidden_size()
         << ", num_layers=" << o.num_layers() << ", bias=" << boolstr(o.bias())
         << ", batch_first=" << boolstr(o.batch_first()) << ", dropout=" << o.dropout()
         << ", bidirectional=" << boolstr(o.bidirectional());
  if (o.proj_size() > 0) stream << ", proj_size=" << o.proj_size();
  stream << ")";
}

template <typename Derived>
std::vector<Tensor> RNNImplBase<Derived>::all_weights() const {
  std::vector<Tensor> out;
  for (const auto& name : flat_weights_names_) out.push_back(weight(name));
  return out;
}

template <typename Derived>
const Tensor& RNNImplBase<Derived>::weight(const std::string& name) const {
  const Tensor* t = this->parameters_.find(name);
  DG_CHECK(t != nullptr, kind(), ": the parameter '", name, "' is missing");
  return *t;
}

template <typename Derived>
void RNNImplBase<Derived>::check_input(const Tensor& input) const {
  DG_CHECK(input.dim() == 3, kind(), ": input must have 3 dimensions, got ", input.dim(), " (input of shape ",
           input.sizes(), ")");
  DG_CHECK(input.size(-1) == options_base.input_size(), kind(),
           ": input.size(-1) must be equal to input_size. Expected ", options_base.input_size(), ", got ",
           input.size(-1));
}

template <typename Derived>
std::tuple<int64_t, int64_t, int64_t> RNNImplBase<Derived>::get_expected_hidden_size(const Tensor& input) const {
  const auto& o = options_base;
  const int64_t mini_batch = o.batch_first() ? input.size(0) : input.size(1);
  const int64_t num_directions = o.bidirectional() ? 2 : 1;
  return {o.num_layers() * num_directions, mini_batch, o.proj_size() > 0 ? o.proj_size() : o.hidden_size()};
}

template <typename Derived>
void RNNImplBase<Derived>::check_hidden_size(const Tensor& hx, std::tuple<int64_t, int64_t, int64_t> expected,
                                             const std::string& label) const {
  const auto [a, b, c] = expected;
  const bool ok = hx.dim() == 3 && hx.size(0) == a && hx.size(1) == b && hx.size(2) == c;
  const std::vector<int64_t> want = {a, b, c};
  DG_CHECK(ok, kind(), ": Expected ", label, " size ", IntArrayRef(want), ", got ", hx.sizes());
}

template <typename Derived>
std::tuple<Tensor, Tensor> RNNImplBase<Derived>::forward_one_state(const Tensor& input, Tensor hx) {
  check_input(input);
  const auto expected = get_expected_hidden_size(input);
  if (!hx.defined()) hx = zero_state(input, expected);
  check_hidden_size(hx, expected);
  auto [output, h_n, c_n] = run(input, hx, Tensor());
  (void)c_n;
  return {output, h_n};
}

template <typename Derived>
std::tuple<Tensor, Tensor, Tensor> RNNImplBase<Derived>::run(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  const auto& o = options_base;
  const Mode mode = mode_of(o.mode());
  const int64_t num_directions = o.bidirectional() ? 2 : 1;
  Tensor layer_input = o.batch_first() ? input.transpose(0, 1) : input;  // [seq, batch, features]
  const int64_t seq = layer_input.size(0), batch = layer_input.size(1);
  std::vector<Tensor> h_n, c_n;
  auto param = [&](const std::vector<std::string>& names, const char* stem) -> Tensor {
    for (const auto& n : names)
      if (n.rfind(stem, 0) == 0) return weight(n);
    return Tensor();
  };
  for (int64_t layer = 0; layer < o.num_layers(); ++layer) {
    // One matrix product projects every time step of this layer's input.
    Tensor flat = layer_input.reshape({seq * batch, layer_input.size(2)});
    std::vector<Tensor> direction_outputs;
    for (int64_t direction = 0; direction < num_directions; ++direction) {
      const auto& names = all_weights_[layer * num_directions + direction];
      // Transposed once, into a contiguous copy: every step's product reads
      // it, and every step's weight gradient comes back row-major, so their
      // sum is a plain contiguous add (a transposed view's gradients would be
      // summed through strided loops).
      const Tensor w_ih = param(names, "weight_ih"), w_hh_t = param(names, "weight_hh").t().contiguous();
      const Tensor b_ih = param(names, "bias_ih"), b_hh = param(names, "bias_hh");
      const Tensor w_hr = param(names, "weight_hr"), w_hr_t = w_hr.defined() ? w_hr.t().contiguous() : Tensor();
      const Tensor in_bias = mode == Mode::kGru ? b_ih : folded_bias(b_ih, b_hh);
      // [seq * batch, gates] -> seq slices [batch, gates]
      std::vector<Tensor> steps = chunk_cat(project(flat, w_ih.t(), in_bias), seq, 0);
      const int64_t index = layer * num_directions + direction;
      Tensor h = h0.select(0, index);
      Tensor c = c0.defined() ? c0.select(0, index) : Tensor();
      std::vector<Tensor> outputs(static_cast<size_t>(seq));
      for (int64_t k = 0; k < seq; ++k) {
        const int64_t t = direction == 0 ? k : seq - 1 - k;
        const Tensor& xg = steps[static_cast<size_t>(t)];
        switch (mode) {
          case Mode::kLstm: std::tie(h, c) = lstm_step(xg, h, c, w_hh_t, w_hr_t); break;
          case Mode::kGru: h = gru_step(xg, h, w_hh_t, b_hh); break;
          default: h = rnn_step(xg, h, w_hh_t, mode == Mode::kRnnRelu);
        }
        outputs[static_cast<size_t>(t)] = h;
      }
      direction_outputs.push_back(dg::stack(outputs, 0));
      h_n.push_back(h);
      if (c.defined()) c_n.push_back(c);
    }
    layer_input = num_directions == 1 ? direction_outputs[0] : dg::cat(direction_outputs, 2);
    if (o.dropout() > 0 && this->is_training() && layer + 1 < o.num_layers())
      layer_input = functional::dropout(layer_input, functional::DropoutFuncOptions().p(o.dropout()).training(true));
  }
  Tensor output = o.batch_first() ? layer_input.transpose(0, 1) : layer_input;
  return {output, dg::stack(h_n, 0), c_n.empty() ? Tensor() : dg::stack(c_n, 0)};
}

template class RNNImplBase<RNNImpl>;
template class RNNImplBase<LSTMImpl>;
template class RNNImplBase<GRUImpl>;

}  // namespace detail

// ---- RNN, LSTM, GRU ----------------------------------------------------------------------

namespace {

detail::RNNOptionsBase base_options(detail::RNNOptionsBase::rnn_options_base_mode_t mode, int64_t input_size,
                                    int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first,
                                    double dropout, bool bidirectional) {
  return detail::RNNOptionsBase(mode, input_size, hidden_size)
      .num_layers(num_layers)
      .bias(bias)
      .batch_first(batch_first)
      .dropout(dropout)
      .bidirectional(bidirectional);
}

detail::RNNOptionsBase::rnn_options_base_mode_t rnn_mode(const RNNOptions::nonlinearity_t& n) {
  if (std::holds_alternative<enumtype::kReLU>(n)) return dg::kRNN_RELU;
  return dg::kRNN_TANH;
}

}  // namespace

RNNImpl::RNNImpl(const RNNOptions& options_)
    : RNNImplBase(base_options(rnn_mode(options_.nonlinearity()), options_.input_size(), options_.hidden_size(),
                               options_.num_layers(), options_.bias(), options_.batch_first(), options_.dropout(),
                               options_.bidirectional())),
      options(options_) {}

std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, Tensor hx) {
  return forward_one_state(input, std::move(hx));
}

LSTMImpl::LSTMImpl(const LSTMOptions& options_)
    : RNNImplBase(base_options(dg::kLSTM, options_.input_size(), options_.hidden_size(), options_.num_layers(),
                               options_.bias(), options_.batch_first(), options_.dropout(), options_.bidirectional())
                      .proj_size(options_.proj_size())),
      options(options_) {}

std::tuple<int64_t, int64_t, int64_t> LSTMImpl::get_expected_cell_size(const Tensor& input) const {
  auto [layers, batch, hidden] = get_expected_hidden_size(input);
  (void)hidden;
  return {layers, batch, options.hidden_size()};
}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 std::optional<std::tuple<Tensor, Tensor>> hx_opt) {
  check_input(input);
  const auto expected_h = get_expected_hidden_size(input);
  const auto expected_c = get_expected_cell_size(input);
  Tensor h0, c0;
  if (hx_opt) {
    std::tie(h0, c0) = *hx_opt;
  } else {
    h0 = zero_state(input, expected_h);
    c0 = zero_state(input, expected_c);
  }
  check_hidden_size(h0, expected_h, "hidden[0]");
  check_hidden_size(c0, expected_c, "hidden[1]");
  auto [output, h_n, c_n] = run(input, h0, c0);
  return {output, {h_n, c_n}};
}

GRUImpl::GRUImpl(const GRUOptions& options_)
    : RNNImplBase(base_options(dg::kGRU, options_.input_size(), options_.hidden_size(), options_.num_layers(),
                               options_.bias(), options_.batch_first(), options_.dropout(), options_.bidirectional())),
      options(options_) {}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, Tensor hx) {
  return forward_one_state(input, std::move(hx));
}

// ---- cells --------------------------------------------------------------------------------

namespace detail {

template <typename Derived>
RNNCellImplBase<Derived>::RNNCellImplBase(const RNNCellOptionsBase& options_) : options_base(options_) {
  reset();
}

template <typename Derived>
const char* RNNCellImplBase<Derived>::kind() const {
  return options_base.num_chunks() == 4 ? "LSTMCell" : options_base.num_chunks() == 3 ? "GRUCell" : "RNNCell";
}

template <typename Derived>
void RNNCellImplBase<Derived>::reset() {
  const auto& o = options_base;
  DG_CHECK(o.input_size() >= 0 && o.hidden_size() > 0, kind(), ": expected input_size >= 0 and hidden_size > 0, got ",
           o.input_size(), " and ", o.hidden_size());
  const int64_t gate_size = o.num_chunks() * o.hidden_size();
  weight_ih = this->register_parameter("weight_ih", dg::empty({gate_size, o.input_size()}));
  weight_hh = this->register_parameter("weight_hh", dg::empty({gate_size, o.hidden_size()}));
  bias_ih = this->register_parameter("bias_ih", o.bias() ? dg::empty({gate_size}) : Tensor(), o.bias());
  bias_hh = this->register_parameter("bias_hh", o.bias() ? dg::empty({gate_size}) : Tensor(), o.bias());
  reset_parameters();
}

template <typename Derived>
void RNNCellImplBase<Derived>::reset_parameters() {
  uniform_by_hidden_size(this->parameters(), options_base.hidden_size());
}

template <typename Derived>
void RNNCellImplBase<Derived>::pretty_print(std::ostream& stream) const {
  stream << "dg::nn::" << kind() << "(" << options_base.input_size() << ", " << options_base.hidden_size();
  if (!options_base.bias()) stream << ", bias=" << boolstr(false);
  const std::string nonlinearity = get_nonlinearity_str();
  if (!nonlinearity.empty() && nonlinearity != "kTanh") stream << ", nonlinearity=" << nonlinearity;
  stream << ")";
}

template <typename Derived>
void RNNCellImplBase<Derived>::check_forward_input(const Tensor& input) const {
  DG_CHECK(input.dim() == 2, kind(), ": Expected input to be 2-D [batch, input_size] but received ", input.dim(),
           "-D tensor of shape ", input.sizes());
  DG_CHECK(input.size(1) == options_base.input_size(), kind(), ": input has inconsistent input_size: got ",
           input.size(1), " expected ", options_base.input_size());
}

template <typename Derived>
Tensor RNNCellImplBase<Derived>::check_forward_hidden(const Tensor& input, const Tensor& hx,
                                                      const std::string& label) const {
  if (!hx.defined())
    return dg::zeros({input.size(0), options_base.hidden_size()},
                     TensorOptions(input.scalar_type()).device(input.device()));
  DG_CHECK(hx.dim() == 2, kind(), ": Expected ", label, " to be 2-D [batch, hidden_size] but received ", hx.dim(),
           "-D tensor of shape ", hx.sizes());
  DG_CHECK(input.size(0) == hx.size(0), kind(), ": Input batch size ", input.size(0), " doesn't match ", label,
           " batch size ", hx.size(0));
  DG_CHECK(hx.size(1) == options_base.hidden_size(), kind(), ": ", label, " has inconsistent hidden_size: got ",
           hx.size(1), ", expected ", options_base.hidden_size());
  return hx;
}

template class RNNCellImplBase<RNNCellImpl>;
template class RNNCellImplBase<LSTMCellImpl>;
template class RNNCellImplBase<GRUCellImpl>;

}  // namespace detail

RNNCellImpl::RNNCellImpl(const RNNCellOptions& options_)
    : RNNCellImplBase(detail::RNNCellOptionsBase(options_.input_size(), options_.hidden_size(), options_.bias(), 1)),
      options(options_) {}

std::string RNNCellImpl::get_nonlinearity_str() const { return get_enum_name(options.nonlinearity()); }

Tensor RNNCellImpl::forward(const Tensor& input, Tensor hx) {
  check_forward_input(input);
  Tensor h = check_forward_hidden(input, hx, "hidden");
  return rnn_step(project(input, weight_ih.t(), folded_bias(bias_ih, bias_hh)), h, weight_hh.t(),
                  std::holds_alternative<enumtype::kReLU>(options.nonlinearity()));
}

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& options_)
    : RNNCellImplBase(detail::RNNCellOptionsBase(options_.input_size(), options_.hidden_size(), options_.bias(), 4)),
      options(options_) {}

std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input,
                                                 std::optional<std::tuple<Tensor, Tensor>> hx_opt) {
  check_forward_input(input);
  Tensor h = check_forward_hidden(input, hx_opt ? std::get<0>(*hx_opt) : Tensor(), "hx[0]");
  Tensor c = check_forward_hidden(input, hx_opt ? std::get<1>(*hx_opt) : Tensor(), "hx[1]");
  return lstm_step(project(input, weight_ih.t(), folded_bias(bias_ih, bias_hh)), h, c, weight_hh.t(), Tensor());
}

GRUCellImpl::GRUCellImpl(const GRUCellOptions& options_)
    : RNNCellImplBase(detail::RNNCellOptionsBase(options_.input_size(), options_.hidden_size(), options_.bias(), 3)),
      options(options_) {}

Tensor GRUCellImpl::forward(const Tensor& input, Tensor hx) {
  check_forward_input(input);
  Tensor h = check_forward_hidden(input, hx, "hidden");
  return gru_step(project(input, weight_ih.t(), bias_ih), h, weight_hh.t(), bias_hh);
}

}  // namespace dg::nn
