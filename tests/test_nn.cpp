// dg::nn::Module's tree API, the holder pattern, conversion, cloning,
// printing, and checkpoints on disk (dg::save / dg::load, safetensors).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using dg::testing::values;
namespace nn = dg::nn;

namespace {

struct NetImpl : nn::Module {
  NetImpl() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(1, 2, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm2d(2));
    fc = register_module("fc", nn::Linear(2 * 4 * 4, 3));
    scale = register_parameter("scale", dg::ones({1}));
    register_buffer("steps", dg::zeros({}, kInt64));
  }
  Tensor forward(Tensor x) {
    x = dg::relu(bn(conv(x)));
    return fc(x.flatten(1)) * scale;
  }
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::Linear fc{nullptr};
  Tensor scale;
};
DG_MODULE(Net);

std::string temp_path(const std::string& name) {
  return std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/dg_test_" + name;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("Module: parameters, buffers and children by dotted name in registration order", "[nn]") {
  Net net;
  std::vector<std::string> names = net->named_parameters().keys();
  CHECK(names ==
        std::vector<std::string>{"scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "fc.weight", "fc.bias"});
  CHECK(net->named_buffers().keys() ==
        std::vector<std::string>{"steps", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"});
  CHECK(net->parameters().size() == 7);
  CHECK(net->named_parameters(/*recurse=*/false).keys() == std::vector<std::string>{"scale"});
  CHECK(net->named_children().keys() == std::vector<std::string>{"conv", "bn", "fc"});
  CHECK(net->named_modules().keys() == std::vector<std::string>{"", "conv", "bn", "fc"});
  CHECK(net->modules(/*include_self=*/false).size() == 3);
  CHECK(net->named_modules("net").keys() == std::vector<std::string>{"net", "net.conv", "net.bn", "net.fc"});
  for (const Tensor& p : net->parameters()) CHECK(p.requires_grad());
  // The holder's member and the registered parameter are one tensor.
  CHECK(net->fc->weight.data_ptr() == net->named_parameters()["fc.weight"].data_ptr());
  CHECK(net->fc->as<nn::Linear>() != nullptr);
  CHECK(net->conv->as<nn::Linear>() == nullptr);
  CHECK_THROWS_WITH(net->register_parameter("scale", dg::ones({1})), Catch::Contains("already defined"));
  CHECK_THROWS_WITH(net->register_parameter("a.b", dg::ones({1})), Catch::Contains("dot"));
  CHECK_THROWS_WITH(net->named_parameters()["nope"], Catch::Contains("'nope' is not defined"));
}

TEST_CASE("Module: train/eval reach every submodule; zero_grad", "[nn]") {
  Net net;
  CHECK(net->is_training());
  net->eval();
  for (const auto& m : net->modules()) CHECK_FALSE(m->is_training());
  net->train();
  CHECK(net->bn->is_training());

  Tensor y = net(dg::randn({2, 1, 4, 4})).sum();
  y.backward();
  for (const Tensor& p : net->parameters()) CHECK(p.grad().defined());
  net->zero_grad();  // LibTorch 1.13's C++ default: zeros, kept defined
  for (const Tensor& p : net->parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<double>() == 0.0);
  }
  net->zero_grad(/*set_to_none=*/true);
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: to(dtype) converts in place and keeps identity and requires_grad", "[nn]") {
  Net net;
  Tensor w = net->fc->weight;
  const std::vector<double> before = values(w);
  net->to(kFloat64);
  CHECK(w.scalar_type() == kFloat64);  // the same tensor object, converted
  CHECK(net->fc->weight.scalar_type() == kFloat64);
  CHECK(values(w) == before);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  CHECK(net->named_buffers()["bn.num_batches_tracked"].scalar_type() == kInt64);  // integers stay
  Tensor y = net(dg::randn({1, 1, 4, 4}, kFloat64)).sum();
  y.backward();
  CHECK(w.grad().scalar_type() == kFloat64);
}

TEST_CASE("Module: clone is a deep copy", "[nn]") {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(seq->clone());
  REQUIRE(copy);
  auto a = seq->named_parameters(), b = copy->named_parameters();
  REQUIRE(a.keys() == b.keys());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(values(a[i].value()) == values(b[i].value()));
    CHECK(a[i].value().data_ptr() != b[i].value().data_ptr());
    CHECK(b[i].value().requires_grad());
  }
  Tensor x = dg::randn({5, 3});
  CHECK(values(seq->forward(x)) == values(copy->forward(x)));
  {
    NoGradGuard g;
    b[0].value().add_(1);
  }
  CHECK(values(seq->forward(x)) != values(copy->forward(x)));
  // A user module without Cloneable says how to get one.
  Net net;
  CHECK_THROWS_WITH(net->clone(), Catch::Contains("Cloneable"));
}

TEST_CASE("Module: printing the tree", "[nn]") {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), nn::Dropout(0.25));
  std::ostringstream s;
  s << *seq;
  CHECK(s.str() ==
        "dg::nn::Sequential(\n"
        "  (0): dg::nn::Linear(in_features=3, out_features=4, bias=true)\n"
        "  (1): dg::nn::ReLU()\n"
        "  (2): dg::nn::Dropout(p=0.25, inplace=false)\n"
        ")");
  std::ostringstream c;
  c << *nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(2).padding(1).bias(false));
  CHECK(c.str() == "dg::nn::Conv2d(1, 32, kernel_size=[3, 3], stride=[2, 2], padding=[1, 1], bias=false)");
}

TEST_CASE("Module holder: empty holders, Sequential by name, ModuleList, ModuleDict", "[nn]") {
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK_THROWS_WITH(empty->forward(dg::ones({1, 1})), Catch::Contains("empty ModuleHolder"));

  nn::Sequential named({{"fc", nn::Linear(2, 3)}, {"act", nn::Tanh()}});
  CHECK(named->named_parameters().keys() == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(named->size() == 2);
  CHECK(named->ptr<nn::LinearImpl>(0)->options.out_features() == 3);
  CHECK_THROWS_WITH(named->ptr(5), Catch::Contains("out of range"));
  nn::Sequential with_fn(nn::Linear(2, 2), nn::Functional(dg::relu));
  CHECK(with_fn->forward(dg::ones({1, 2})).sizes() == std::vector<int64_t>{1, 2});

  nn::ModuleList list(nn::Linear(2, 2), nn::ReLU());
  list->push_back(nn::Linear(2, 1));
  CHECK(list->size() == 3);
  CHECK(list->named_parameters().keys() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(list->at<nn::LinearImpl>(2).options.out_features() == 1);

  nn::ModuleDict dict(std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>{
      {"enc", nn::Linear(4, 2).ptr()}, {"dec", nn::Linear(2, 4).ptr()}});
  CHECK(dict->keys() == std::vector<std::string>{"enc", "dec"});
  CHECK(dict->contains("enc"));
  CHECK(dict->named_parameters().size() == 4);
  dict->pop("enc");
  CHECK(dict->size() == 1);

  nn::ParameterDict pd;
  pd->insert("a", dg::ones({2}).requires_grad_());
  pd->insert("b", dg::zeros({3}));
  CHECK(pd->keys() == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(pd->get("b").requires_grad());
  nn::ParameterList pl(dg::ones({1}), dg::ones({2}));
  CHECK(pl->size() == 2);
  CHECK(pl->named_parameters().keys() == std::vector<std::string>{"0", "1"});
}

TEST_CASE("nn::init: fans, gains and the distributions' ranges", "[nn]") {
  Tensor w = dg::empty({64, 32, 3, 3});
  auto [fan_in, fan_out] = nn::init::_calculate_fan_in_and_fan_out(w);
  CHECK(fan_in == 32 * 9);
  CHECK(fan_out == 64 * 9);
  CHECK(nn::init::calculate_gain(dg::kReLU) == Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain(dg::kTanh) == Approx(5.0 / 3.0));
  CHECK(nn::init::calculate_gain(dg::kLeakyReLU, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  nn::init::kaiming_uniform_(w, 0, dg::kFanIn, dg::kReLU);
  const double bound = std::sqrt(6.0 / (32 * 9));
  CHECK(w.max().item<double>() <= bound);
  CHECK(w.min().item<double>() >= -bound);
  CHECK(w.std().item<double>() == Approx(bound / std::sqrt(3.0)).epsilon(0.05));
  nn::init::xavier_normal_(w);
  CHECK(w.std().item<double>() == Approx(std::sqrt(2.0 / (32 * 9 + 64 * 9))).epsilon(0.05));
  Tensor t = dg::empty({20000});
  nn::init::trunc_normal_(t, 0.5, 1.0, -0.5, 1.0);
  CHECK(t.min().item<double>() >= -0.5);
  CHECK(t.max().item<double>() <= 1.0);
  Tensor q = dg::empty({6, 4});
  nn::init::orthogonal_(q);
  dg::testing::check_values(q.t().mm(q), values(dg::eye(4)), 1e-5);
  Tensor e = dg::empty({3, 5});
  nn::init::eye_(e);
  CHECK(values(e) == values(dg::eye(3, 5)));
  CHECK_THROWS_WITH(nn::init::xavier_uniform_(dg::empty({4})), Catch::Contains("fewer than 2 dimensions"));
  // Linear's default: weights and bias within 1/sqrt(in_features).
  nn::Linear lin(100, 50);
  CHECK(lin->weight.abs().max().item<double>() <= 0.1);
  CHECK(lin->bias.abs().max().item<double>() <= 0.1);
}

TEST_CASE("nn::utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector", "[nn]") {
  Tensor a = dg::ones({2}).requires_grad_(), b = dg::ones({3}).requires_grad_();
  (a * 3).sum().backward();
  (b * 4).sum().backward();
  const double norm = nn::utils::clip_grad_norm_({a, b}, 1.0);
  CHECK(norm == Approx(std::sqrt(2 * 9.0 + 3 * 16.0)));
  CHECK(dg::linalg_vector_norm(dg::cat({a.grad(), b.grad()})).item<double>() == Approx(1.0).epsilon(1e-5));
  nn::utils::clip_grad_value_({a, b}, 0.1);
  CHECK(a.grad().abs().max().item<double>() <= static_cast<double>(0.1f));  // float32 grads
  Tensor v = nn::utils::parameters_to_vector({a, b});
  CHECK(v.sizes() == std::vector<int64_t>{5});
  nn::utils::vector_to_parameters(dg::arange(5, kFloat32), {a, b});
  CHECK(values(b) == std::vector<double>{2, 3, 4});
  CHECK_THROWS_WITH(nn::utils::vector_to_parameters(dg::arange(4, kFloat32), {a, b}), Catch::Contains("4 elements"));
}

TEST_CASE("Checkpoints: a module round-trips bit for bit, dtypes kept", "[nn][serialize]") {
  Net net;
  net(dg::randn({2, 1, 4, 4}));  // moves the running statistics
  const std::string path = temp_path("net.safetensors");
  dg::save(net, path);
  Net fresh;
  dg::load(fresh, path);
  auto a = net->state_dict(), b = fresh->state_dict();
  REQUIRE(a.keys() == b.keys());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].key());
    CHECK(b[i].value().scalar_type() == a[i].value().scalar_type());
    CHECK(values(b[i].value()) == values(a[i].value()));
  }
  CHECK(fresh->named_buffers()["bn.num_batches_tracked"].item<int64_t>() == 1);
  // The file is plain safetensors: 8-byte header length, JSON, data.
  const std::string text = file_text(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(text[i])) << (8 * i);
  const std::string header = text.substr(8, n);
  CHECK(header.find("\"fc.weight\":{\"data_offsets\"") != std::string::npos);
  CHECK(header.find("\"dtype\":\"I64\"") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("Checkpoints: tensors and lists of tensors", "[serialize]") {
  const std::string path = temp_path("tensors.safetensors");
  Tensor t = dg::arange(6, kInt32).reshape({2, 3}).t();  // non-contiguous, int32
  dg::save(t, path);
  Tensor back;
  dg::load(back, path);
  CHECK(back.scalar_type() == kInt32);
  CHECK(back.sizes() == std::vector<int64_t>{3, 2});
  CHECK(values(back) == values(t));
  std::vector<Tensor> list = {dg::randn({2}), dg::ones({1}, kBool), dg::zeros({0, 3}, kFloat64)};
  dg::save(list, path);
  std::vector<Tensor> list_back;
  dg::load(list_back, path);
  REQUIRE(list_back.size() == 3);
  CHECK(values(list_back[0]) == values(list[0]));
  CHECK(list_back[1].scalar_type() == kBool);
  CHECK(list_back[2].sizes() == std::vector<int64_t>{0, 3});
  std::remove(path.c_str());
}

TEST_CASE("Checkpoints: mismatches change nothing and list every difference", "[nn][serialize]") {
  const std::string path = temp_path("mismatch.safetensors");
  nn::Sequential small(nn::Linear(3, 4), nn::Linear(4, 2));
  dg::save(small, path);

  nn::Sequential other(nn::Linear(3, 5), nn::Linear(5, 2), nn::Linear(2, 2));
  const auto before = values(other->named_parameters()["0.weight"]);
  try {
    dg::load(other, path);
    FAIL("load of a mismatched checkpoint did not throw");
  } catch (const dg::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::Contains("nothing was loaded"));
    CHECK_THAT(msg, Catch::Contains("2.weight"));                   // missing in the file
    CHECK_THAT(msg, Catch::Contains("0.weight: shape [4, 3] in"));  // wrong shape
    CHECK_THAT(msg, Catch::Contains("1.weight: shape [2, 4] in"));
  }
  CHECK(values(other->named_parameters()["0.weight"]) == before);

  // Extra names in the file: strict refuses, strict=false loads the common ones.
  nn::Sequential first(nn::Linear(3, 4));
  CHECK_THROWS_WITH(dg::load(first, path), Catch::Contains("Not in the module: 1.bias, 1.weight"));
  dg::load(first, path, /*strict=*/false);
  CHECK(values(first->named_parameters()["0.weight"]) == values(small->named_parameters()["0.weight"]));

  // Wrong dtype.
  nn::Sequential f64(nn::Linear(3, 4), nn::Linear(4, 2));
  f64->to(kFloat64);
  CHECK_THROWS_WITH(dg::load(f64, path), Catch::Contains("dtype float32 in"));
  std::remove(path.c_str());
}

TEST_CASE("Checkpoints: truncated, corrupted and foreign files give a dg::Error naming the file", "[serialize]") {
  const std::string path = temp_path("good.safetensors"), bad = temp_path("bad.safetensors");
  nn::Linear lin(8, 8);
  dg::save(lin, path);
  const std::string text = file_text(path);
  nn::Linear target(8, 8);
  const auto before = values(target->weight);
  auto expect_error = [&](const std::string& contents, const std::string& what) {
    write_text(bad, contents);
    INFO(what);
    try {
      dg::load(target, bad);
      FAIL("no error");
    } catch (const dg::Error& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(bad));
      CHECK_THAT(std::string(e.what()), Catch::Contains(what));
    }
    CHECK(values(target->weight) == before);
  };
  expect_error(text.substr(0, text.size() - 10), "truncated");
  expect_error(text.substr(0, 5), "fewer than the 8");
  expect_error(text + "xyz", "bytes follow");
  expect_error(std::string("\x10\0\0\0\0\0\0\0", 8) + "{not json at all", "not JSON");
  expect_error(std::string("\xff\xff\xff\xff\0\0\0\0", 8) + "{}", "header length");
  std::string wrong_dtype = text;
  wrong_dtype.replace(wrong_dtype.find("F32"), 3, "X99");
  expect_error(wrong_dtype, "unsupported dtype X99");
  expect_error("#!/bin/sh\necho this is not a checkpoint\n", "header length");
  CHECK_THROWS_WITH(dg::load(target, temp_path("does-not-exist.safetensors")), Catch::Contains("cannot open"));
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("Checkpoints: a failed save leaves the old file intact", "[serialize]") {
  const std::string path = temp_path("atomic.safetensors");
  nn::Linear lin(2, 2);
  dg::save(lin, path);
  const std::string before = file_text(path);
  serialize::OutputArchive archive;
  archive.write("a", dg::ones({2}));
  archive.write("a", dg::ones({3}));  // the same name twice: save refuses before touching the file
  CHECK_THROWS_WITH(archive.save_to(path), Catch::Contains("written twice"));
  CHECK(file_text(path) == before);
  // Saving into a folder that does not exist fails without leaving a temp file.
  CHECK_THROWS_WITH(dg::save(lin, temp_path("no/such/dir/x.safetensors")), Catch::Contains("cannot create"));
  std::remove(path.c_str());
}
