// Engine::get_default_engine().queue_callback (LibTorch's final callbacks, the
// hook DistributedDataParallel waits for its buckets from): a callback queued
// during backward runs once every node has run and every .grad is accumulated,
// before backward returns; callbacks run in order and may queue more; queuing
// outside a backward is PyTorch's error; a nested backward runs its own.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::autograd;
using Catch::Matchers::Contains;

TEST_CASE("autograd: Engine::queue_callback runs after the last gradient", "[autograd][ddp]") {
  Tensor a = dg::tensor({1.0, 2.0}, kFloat64).requires_grad_(true);
  Tensor b = dg::tensor({3.0, 4.0}, kFloat64).requires_grad_(true);
  std::vector<std::string> events;
  std::vector<double> grads_seen;
  // The first hook to run (the other gradient is not accumulated yet) queues
  // the callbacks.
  bool queued = false;
  auto queue = [&] {
    if (queued) return;
    queued = true;
    Engine::get_default_engine().queue_callback([&] {
      events.push_back("callback 1");
      grads_seen.push_back(a.grad()[1].item<double>());
      grads_seen.push_back(b.grad()[1].item<double>());
      Engine::get_default_engine().queue_callback([&] { events.push_back("callback 3"); });
    });
    Engine::get_default_engine().queue_callback([&] { events.push_back("callback 2"); });
  };
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    events.push_back("hook");
    queue();
  });
  b.register_post_accumulate_grad_hook([&](const Tensor&) {
    events.push_back("hook");
    queue();
  });
  Tensor y = (b * b).sum() + (a * 3.0).sum();
  y.backward();
  CHECK(events == std::vector<std::string>{"hook", "hook", "callback 1", "callback 2", "callback 3"});
  CHECK(grads_seen == std::vector<double>{3.0, 8.0});

  // Queued by one backward, never run by the next.
  events.clear();
  Tensor z = (b * 2.0).sum();
  z.backward();
  CHECK(events == std::vector<std::string>{"hook"});

  CHECK_THROWS_WITH(Engine::get_default_engine().queue_callback([] {}),
                    Contains("Final callbacks can only be installed during backward pass"));
  CHECK_THROWS_WITH(
      [&] {
        Tensor c = dg::tensor({1.0}, kFloat64).requires_grad_(true);
        c.register_hook([](const Tensor&) { Engine::get_default_engine().queue_callback(nullptr); });
        (c * 2.0).sum().backward();
      }(),
      Contains("expected a callable"));
}

TEST_CASE("autograd: queue_callback in a nested backward belongs to it", "[autograd][ddp]") {
  Tensor x = dg::tensor({2.0}, kFloat64).requires_grad_(true);
  Tensor w = dg::tensor({5.0}, kFloat64).requires_grad_(true);
  std::vector<std::string> events;
  x.register_hook([&](const Tensor&) {
    Engine::get_default_engine().queue_callback([&] { events.push_back("outer"); });
    EnableGradGuard grad_on;  // hooks run with grad mode off
    Tensor v = dg::tensor({1.0}, kFloat64).requires_grad_(true);
    v.register_hook(
        [&](const Tensor&) { Engine::get_default_engine().queue_callback([&] { events.push_back("inner"); }); });
    (v * 2.0).sum().backward();
    events.push_back("inner backward returned");
  });
  (x * w).sum().backward();
  CHECK(events == std::vector<std::string>{"inner", "inner backward returned", "outer"});
  CHECK(x.grad().item<double>() == 5.0);
}
