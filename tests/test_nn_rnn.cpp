// dg::nn's recurrent and attention layers (RNN, LSTM, GRU, the cells,
// MultiheadAttention, TransformerEncoderLayer, TransformerEncoder) against
// PyTorch 1.13: the same module with the same parameters and inputs
// (tests/golden/nn_rnn_golden.json, written by tools/golden/make_rnn_golden.py)
// must give the same outputs and the same gradients of
// sum_i (outputs[i] * grad_outs[i]).sum() w.r.t. every parameter and input.
// Then finite-difference gradchecks, LibTorch's parameter layout and
// initialisation, and the argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dynagrad/dynagrad.h"
#include "golden_json.h"
#include "helpers.h"

using namespace dg;
using dg::testing::Json;
using dg::testing::values;

namespace {

const Json& golden() { return dg::testing::golden_json("nn_rnn_golden.json"); }

Tensor decode(const Json& j) { return dg::testing::decode_golden(j); }

void check_close(const Tensor& got, const Json& expected, const std::string& what, double tol = 1e-9) {
  dg::testing::check_golden(got, expected, what, tol);
}

using Outputs = std::vector<Tensor>;
using Inputs = std::vector<Tensor>;

struct Case {
  std::shared_ptr<nn::Module> module;
  std::function<Outputs(const Inputs&)> forward;
};

// RNN / GRU: (output, h_n) from the input and an optional h_0.
template <typename Holder>
Case seq(Holder m) {
  auto impl = m.ptr();
  return {impl, [impl](const Inputs& x) {
            auto [out, h] = impl->forward(x.at(0), x.size() > 1 ? x[1] : Tensor());
            return Outputs{out, h};
          }};
}

Case lstm(nn::LSTM m) {
  auto impl = m.ptr();
  return {impl, [impl](const Inputs& x) {
            std::optional<std::tuple<Tensor, Tensor>> state;
            if (x.size() > 1) state = std::make_tuple(x[1], x[2]);
            auto [out, hc] = impl->forward(x.at(0), state);
            return Outputs{out, std::get<0>(hc), std::get<1>(hc)};
          }};
}

template <typename Holder>
Case cell(Holder m) {
  auto impl = m.ptr();
  return {impl, [impl](const Inputs& x) { return Outputs{impl->forward(x.at(0), x.size() > 1 ? x[1] : Tensor())}; }};
}

Case lstm_cell(nn::LSTMCell m) {
  auto impl = m.ptr();
  return {impl, [impl](const Inputs& x) {
            std::optional<std::tuple<Tensor, Tensor>> state;
            if (x.size() > 1) state = std::make_tuple(x[1], x[2]);
            auto [h, c] = impl->forward(x.at(0), state);
            return Outputs{h, c};
          }};
}

// query, key, value (one tensor for all three when only one is given),
// key_padding_mask, attn_mask.
Case mha(nn::MultiheadAttention m, bool need_weights = true, bool average = true) {
  auto impl = m.ptr();
  return {impl, [=](const Inputs& x) {
            const Tensor& q = x.at(0);
            const Tensor& k = x.size() > 1 ? x[1] : x[0];
            const Tensor& v = x.size() > 1 ? x[2] : x[0];
            auto [out, w] = impl->forward(q, k, v, x.size() > 3 ? x[3] : Tensor(), need_weights,
                                          x.size() > 4 ? x[4] : Tensor(), average);
            return Outputs{out, w};
          }};
}

template <typename Holder>
Case encoder(Holder m) {
  auto impl = m.ptr();
  return {impl, [impl](const Inputs& x) {
            return Outputs{impl->forward(x.at(0), x.size() > 1 ? x[1] : Tensor(), x.size() > 2 ? x[2] : Tensor())};
          }};
}

std::map<std::string, std::function<Case()>> cases() {
  using namespace dg::nn;
  std::map<std::string, std::function<Case()>> c;
  c["rnn_tanh_2layers_h0"] = [] { return seq(RNN(RNNOptions(3, 4).num_layers(2))); };
  c["rnn_relu_bidir_batch_first"] = [] {
    return seq(RNN(RNNOptions(3, 4).nonlinearity(dg::kReLU).bidirectional(true).batch_first(true)));
  };
  c["rnn_tanh_nobias"] = [] { return seq(RNN(RNNOptions(3, 4).bias(false))); };
  c["lstm_2layers_bidir_h0"] = [] { return lstm(LSTM(LSTMOptions(3, 4).num_layers(2).bidirectional(true))); };
  c["lstm_batch_first_nobias"] = [] { return lstm(LSTM(LSTMOptions(3, 4).batch_first(true).bias(false))); };
  c["lstm_proj_2layers"] = [] { return lstm(LSTM(LSTMOptions(3, 4).num_layers(2).proj_size(2))); };
  c["lstm_proj_bidir"] = [] {
    return lstm(LSTM(LSTMOptions(3, 5).proj_size(3).bidirectional(true).batch_first(true)));
  };
  c["gru_2layers_bidir_h0"] = [] { return seq(GRU(GRUOptions(3, 4).num_layers(2).bidirectional(true))); };
  c["gru_batch_first"] = [] { return seq(GRU(GRUOptions(3, 4).batch_first(true))); };
  c["gru_3layers_nobias"] = [] { return seq(GRU(GRUOptions(2, 3).num_layers(3).bias(false))); };
  c["rnn_cell_tanh"] = [] { return cell(RNNCell(3, 4)); };
  c["rnn_cell_relu_nobias"] = [] { return cell(RNNCell(RNNCellOptions(3, 4).bias(false).nonlinearity(dg::kReLU))); };
  c["lstm_cell"] = [] { return lstm_cell(LSTMCell(3, 4)); };
  c["lstm_cell_nostate"] = [] { return lstm_cell(LSTMCell(3, 4)); };
  c["gru_cell"] = [] { return cell(GRUCell(3, 4)); };
  c["gru_cell_nobias_nostate"] = [] { return cell(GRUCell(GRUCellOptions(3, 4).bias(false))); };
  c["mha_self"] = [] { return mha(MultiheadAttention(8, 2)); };
  c["mha_masks"] = [] { return mha(MultiheadAttention(8, 2)); };
  c["mha_per_head_weights"] = [] { return mha(MultiheadAttention(6, 3), true, /*average=*/false); };
  c["mha_kdim_vdim_nobias"] = [] {
    return mha(MultiheadAttention(MultiheadAttentionOptions(8, 4).bias(false).kdim(5).vdim(3)), /*need_weights=*/false);
  };
  c["mha_bias_kv_zero_attn"] = [] {
    return mha(MultiheadAttention(MultiheadAttentionOptions(4, 2).add_bias_kv(true).add_zero_attn(true)));
  };
  c["encoder_layer"] = [] {
    return encoder(TransformerEncoderLayer(TransformerEncoderLayerOptions(8, 2).dim_feedforward(16)));
  };
  c["encoder_layer_gelu"] = [] {
    return encoder(
        TransformerEncoderLayer(TransformerEncoderLayerOptions(8, 4).dim_feedforward(12).activation(dg::kGELU)));
  };
  c["encoder_2layers_norm"] = [] {
    TransformerEncoderLayer layer(TransformerEncoderLayerOptions(8, 2).dim_feedforward(16));
    return encoder(
        TransformerEncoder(TransformerEncoderOptions(layer, 2).norm(AnyModule(LayerNorm(LayerNormOptions({8}))))));
  };
  return c;
}

}  // namespace

TEST_CASE("recurrent and attention layers match PyTorch 1.13", "[nn][rnn][golden]") {
  const auto all = cases();
  size_t checked = 0;
  for (auto it = golden().begin(); it != golden().end(); ++it) {
    const std::string name = it.key();
    const Json& g = it.value();
    INFO("case " << name);
    auto found = all.find(name);
    REQUIRE(found != all.end());  // every golden case has its dg twin
    Case c = found->second();
    dg::testing::load_golden_module(*c.module, g);
    Inputs inputs;
    for (size_t i = 0; i < g["inputs"].size(); ++i) {
      Tensor t = decode(g["inputs"][i]);
      if (g["input_requires_grad"][i].get<bool>()) t.requires_grad_(true);
      inputs.push_back(t);
    }
    Outputs ys = c.forward(inputs);
    REQUIRE(ys.size() == g["outputs"].size());
    Tensor loss;
    for (size_t i = 0; i < ys.size(); ++i) {
      if (g["outputs"][i].is_null()) {
        CHECK_FALSE(ys[i].defined());
        continue;
      }
      check_close(ys[i], g["outputs"][i], "output " + std::to_string(i));
      Tensor term = (ys[i] * decode(g["grad_outs"][i])).sum();
      loss = loss.defined() ? loss + term : term;
    }
    loss.backward();
    for (auto& item : c.module->named_parameters())
      check_close(item.value().grad(), g["param_grads"][item.key()], "grad of " + item.key());
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!g["input_grads"][i].is_null())
        check_close(inputs[i].grad(), g["input_grads"][i], "grad of input " + std::to_string(i));
    ++checked;
  }
  CHECK(checked == all.size());
}

TEST_CASE("LSTM and GRU pass gradcheck and gradgradcheck in float64", "[nn][rnn]") {
  dg::manual_seed(7);
  auto make_inputs = [](std::vector<std::vector<int64_t>> shapes) {
    std::vector<Tensor> xs;
    for (auto& s : shapes) xs.push_back(dg::randn(s, kFloat64).requires_grad_(true));
    return xs;
  };
  SECTION("LSTM, 2 layers, bidirectional, projections, with initial state") {
    nn::LSTM m(nn::LSTMOptions(2, 3).num_layers(2).bidirectional(true).proj_size(2));
    m->to(kFloat64);
    auto params = m->parameters();
    auto xs = make_inputs({{3, 2, 2}, {4, 2, 2}, {4, 2, 3}});
    std::vector<Tensor> all = xs;
    all.insert(all.end(), params.begin(), params.end());
    auto fn = [&](const std::vector<Tensor>& v) {
      // The parameters are fixed objects inside the module: gradcheck
      // perturbs them in place through `all`.
      auto [out, hc] = m->forward(v[0], std::make_tuple(v[1], v[2]));
      return std::vector<Tensor>{out, std::get<0>(hc), std::get<1>(hc)};
    };
    CHECK(autograd::gradcheck(fn, all));
    CHECK(autograd::gradgradcheck(fn, xs));
  }
  SECTION("GRU, 2 layers, batch_first, bidirectional") {
    nn::GRU m(nn::GRUOptions(2, 3).num_layers(2).bidirectional(true).batch_first(true));
    m->to(kFloat64);
    auto params = m->parameters();
    auto xs = make_inputs({{2, 3, 2}, {4, 2, 3}});
    std::vector<Tensor> all = xs;
    all.insert(all.end(), params.begin(), params.end());
    auto fn = [&](const std::vector<Tensor>& v) {
      auto [out, h] = m->forward(v[0], v[1]);
      return std::vector<Tensor>{out, h};
    };
    CHECK(autograd::gradcheck(fn, all));
    CHECK(autograd::gradgradcheck(fn, xs));
  }
  SECTION("LSTMCell and GRUCell") {
    nn::LSTMCell lc(3, 2);
    nn::GRUCell gc(3, 2);
    lc->to(kFloat64);
    gc->to(kFloat64);
    auto xs = make_inputs({{2, 3}, {2, 2}, {2, 2}});
    CHECK(autograd::gradcheck(
        [&](const std::vector<Tensor>& v) {
          auto [h, c] = lc->forward(v[0], std::make_tuple(v[1], v[2]));
          return std::vector<Tensor>{h, c};
        },
        xs));
    CHECK(autograd::gradcheck(
        [&](const std::vector<Tensor>& v) { return std::vector<Tensor>{gc->forward(v[0], v[1])}; }, {xs[0], xs[1]}));
  }
}

TEST_CASE("MultiheadAttention and TransformerEncoderLayer pass gradcheck in float64", "[nn][rnn]") {
  dg::manual_seed(11);
  nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(4, 2).add_bias_kv(true).kdim(3).vdim(5));
  mha->to(kFloat64);
  Tensor q = dg::randn({3, 2, 4}, kFloat64).requires_grad_(true);
  Tensor k = dg::randn({2, 2, 3}, kFloat64).requires_grad_(true);
  Tensor v = dg::randn({2, 2, 5}, kFloat64).requires_grad_(true);
  Tensor padding = dg::tensor(std::vector<double>{0, 1, 0, 0}).reshape({2, 2}).to(kBool);
  Tensor mask = dg::randn({3, 2}, kFloat64);
  auto mha_fn = [&](const std::vector<Tensor>& x) {
    auto [out, w] = mha->forward(x[0], x[1], x[2], padding, true, mask);
    return std::vector<Tensor>{out, w};
  };
  CHECK(autograd::gradcheck(mha_fn, {q, k, v}));
  CHECK(autograd::gradgradcheck(mha_fn, {q, k, v}));

  nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(6).activation(dg::kGELU));
  layer->to(kFloat64);
  layer->eval();
  Tensor src = dg::randn({3, 2, 4}, kFloat64).requires_grad_(true);
  std::vector<Tensor> all = {src};
  for (auto& p : layer->parameters()) all.push_back(p);
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& x) { return std::vector<Tensor>{layer->forward(x[0])}; },
                            all));
}

TEST_CASE("RNN parameters: LibTorch's names, shapes, order and default initialisation", "[nn][rnn]") {
  nn::LSTM m(nn::LSTMOptions(3, 8).num_layers(2).bidirectional(true).proj_size(5));
  std::vector<std::string> names;
  for (auto& item : m->named_parameters()) names.push_back(item.key());
  const std::vector<std::string> want = {
      "weight_ih_l0",         "weight_hh_l0",         "bias_ih_l0",           "bias_hh_l0",
      "weight_hr_l0",         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
      "bias_hh_l0_reverse",   "weight_hr_l0_reverse", "weight_ih_l1",         "weight_hh_l1",
      "bias_ih_l1",           "bias_hh_l1",           "weight_hr_l1",         "weight_ih_l1_reverse",
      "weight_hh_l1_reverse", "bias_ih_l1_reverse",   "bias_hh_l1_reverse",   "weight_hr_l1_reverse"};
  CHECK(names == want);
  auto p = m->named_parameters();
  CHECK(p["weight_ih_l0"].sizes() == IntArrayRef({32, 3}));
  CHECK(p["weight_hh_l0"].sizes() == IntArrayRef({32, 5}));
  CHECK(p["weight_hr_l0"].sizes() == IntArrayRef({5, 8}));
  CHECK(p["weight_ih_l1"].sizes() == IntArrayRef({32, 10}));  // 2 directions x proj_size
  CHECK(m->all_weights().size() == 20);
  const double bound = 1.0 / std::sqrt(8.0);
  for (auto& t : m->parameters())
    for (double v : values(t)) CHECK(std::abs(v) <= bound);
  // A non-trivial spread (the values are drawn, not zero).
  CHECK(values(p["weight_ih_l0"].abs().max())[0] > bound / 2);

  nn::GRUCell c(nn::GRUCellOptions(3, 4).bias(false));
  CHECK(c->named_parameters().size() == 2);
  CHECK(c->weight_ih.sizes() == IntArrayRef({12, 3}));
  CHECK_FALSE(c->bias_ih.defined());

  nn::MultiheadAttention a(nn::MultiheadAttentionOptions(8, 2).add_bias_kv(true));
  names.clear();
  for (auto& item : a->named_parameters()) names.push_back(item.key());
  CHECK(names == std::vector<std::string>{"in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                                          "out_proj.bias"});
  CHECK(values(a->in_proj_bias.abs().sum())[0] == 0.0);
}

TEST_CASE("RNN modules print, clone and run with dropout in training", "[nn][rnn]") {
  nn::LSTM m(nn::LSTMOptions(3, 4).num_layers(2).dropout(0.5));
  std::ostringstream s;
  s << *m;
  CHECK(s.str() ==
        "dg::nn::LSTM(input_size=3, hidden_size=4, num_layers=2, bias=true, batch_first=false, dropout=0.5, "
        "bidirectional=false)");
  std::ostringstream sc;
  sc << *nn::RNNCell(nn::RNNCellOptions(3, 4).nonlinearity(dg::kReLU));
  CHECK(sc.str() == "dg::nn::RNNCell(3, 4, nonlinearity=kReLU)");

  auto copy = std::dynamic_pointer_cast<nn::LSTMImpl>(m->clone());
  REQUIRE(copy != nullptr);
  Tensor x = dg::randn({5, 2, 3});
  m->eval();
  copy->eval();
  auto a = std::get<0>(m->forward(x));
  auto b = std::get<0>(copy->forward(x));
  CHECK(dg::equal(a, b));
  {
    // Inference without a graph: the outputs carry none.
    NoGradGuard no_grad;
    auto [out, hc] = m->forward(x);
    CHECK_FALSE(out.requires_grad());
    CHECK_FALSE(std::get<1>(hc).requires_grad());
    CHECK(dg::equal(out, a));
  }
  // Dropout between the layers changes the output in training only.
  m->train();
  auto t1 = std::get<0>(m->forward(x));
  CHECK_FALSE(dg::equal(t1, a));
  m->flatten_parameters();
}

TEST_CASE("RNN, cells and attention reject bad input with dg::Error", "[nn][rnn][errors]") {
  auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const dg::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  using Catch::Matchers::Contains;
  nn::GRU gru(3, 4);
  CHECK_THAT(message([&] {
               gru(dg::randn({5, 2, 7}));
             }),
             Contains("GRU") && Contains("input_size") && Contains("Expected 3, got 7"));
  // LibTorch 1.13's C++ RNNs take 3-D input only.
  CHECK_THAT(message([&] { gru(dg::randn({5, 3})); }), Contains("GRU") && Contains("3 dimensions, got 2"));
  CHECK_THAT(message([&] {
               gru(dg::randn({5, 2, 3}), dg::randn({1, 3, 4}));
             }),
             Contains("GRU") && Contains("Expected hidden size [1, 2, 4], got [1, 3, 4]"));
  nn::LSTM lstm(nn::LSTMOptions(3, 4).proj_size(2));
  CHECK_THAT(message([&] {
               lstm(dg::randn({5, 2, 3}), std::make_tuple(dg::randn({1, 2, 4}), dg::randn({1, 2, 4})));
             }),
             Contains("LSTM") && Contains("hidden[0] size [1, 2, 2], got [1, 2, 4]"));
  CHECK_THAT(message([&] { nn::RNN(nn::RNNOptions(3, 4).dropout(1.5)); }), Contains("RNN") && Contains("dropout"));
  CHECK_THAT(message([&] { nn::LSTM(nn::LSTMOptions(3, 4).proj_size(4)); }),
             Contains("proj_size has to be smaller than hidden_size"));

  nn::LSTMCell cell(3, 4);
  CHECK_THAT(message([&] {
               cell(dg::randn({2, 5}));
             }),
             Contains("LSTMCell") && Contains("inconsistent input_size: got 5 expected 3"));
  CHECK_THAT(message([&] { cell(dg::randn({2, 3, 3})); }), Contains("LSTMCell") && Contains("3-D"));
  CHECK_THAT(message([&] {
               cell(dg::randn({2, 3}), std::make_tuple(dg::randn({3, 4}), dg::randn({2, 4})));
             }),
             Contains("LSTMCell") && Contains("batch size 2 doesn't match hx[0] batch size 3"));
  nn::GRUCell gcell(3, 4);
  CHECK_THAT(message([&] {
               gcell(dg::randn({2, 3}), dg::randn({2, 5}));
             }),
             Contains("GRUCell") && Contains("inconsistent hidden_size: got 5, expected 4"));

  nn::MultiheadAttention mha(8, 2);
  Tensor q = dg::randn({3, 2, 8});
  CHECK_THAT(message([&] { mha(dg::randn({3, 8}), q, q); }), Contains("MultiheadAttention") && Contains("3-D"));
  CHECK_THAT(message([&] {
               mha(q, dg::randn({4, 2, 6}), dg::randn({4, 2, 8}));
             }),
             Contains("MultiheadAttention") && Contains("kdim"));
  CHECK_THAT(message([&] {
               mha(q, q, q, dg::zeros({2, 5}, kBool));
             }),
             Contains("key_padding_mask") && Contains("[2, 3]") && Contains("[2, 5]"));
  CHECK_THAT(message([&] {
               mha(q, q, q, Tensor(), true, dg::zeros({3, 4}));
             }),
             Contains("attn_mask") && Contains("[3, 4]"));
  CHECK_THAT(message([&] { nn::MultiheadAttention(6, 4); }), Contains("divisible by num_heads"));
}
