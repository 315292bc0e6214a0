// The profiler: op and backward-node events, record_function ranges, the
// key_averages table and the chrome trace.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "dynagrad/dynagrad.h"
#include "helpers.h"

using namespace dg;
using namespace dg::testing;
namespace prof = dg::autograd::profiler;
using Catch::Matchers::Contains;

namespace {
const prof::EventAverage* row(const std::vector<prof::EventAverage>& rows, const std::string& key) {
  for (const auto& r : rows)
    if (r.key == key) return &r;
  return nullptr;
}
}  // namespace

TEST_CASE("profiler records every op and backward node with shapes and times", "[profiler]") {
  Tensor x = dg::rand({2, 3}, dg::requires_grad());
  Tensor w = dg::rand({2, 3}, dg::requires_grad());
  CHECK_FALSE(prof::profilerEnabled());
  Tensor unseen = x * w;  // before the profiler: not recorded
  prof::ProfilerGuard guard;
  CHECK(prof::profilerEnabled());
  Tensor y;
  {
    prof::record_function range("forward_pass");
    y = x * w;
    y = y * w;
    y = y * x;
    y = y + x;
    y = y + w;
  }
  Tensor loss = y.sum();
  loss.backward();
  const prof::ProfilerResult result = guard.stop();
  CHECK_FALSE(prof::profilerEnabled());

  const auto rows = result.key_averages();
  // 3 forward muls, and the 2 that each MulBackward0's formulas (grad * other,
  // grad * self) call, as PyTorch's profiler shows aten::mul under MulBackward0.
  REQUIRE(row(rows, "mul"));
  CHECK(row(rows, "mul")->count == 3 + 3 * 2);
  REQUIRE(row(rows, "add"));
  CHECK(row(rows, "add")->count >= 2);  // and the engine's sums of gradients from several uses
  REQUIRE(row(rows, "sum"));
  CHECK(row(rows, "sum")->count == 1);
  REQUIRE(row(rows, "MulBackward0"));
  CHECK(row(rows, "MulBackward0")->count == 3);
  CHECK(row(rows, "MulBackward0")->kind == prof::EventKind::Backward);
  CHECK(row(rows, "AddBackward0"));
  REQUIRE(row(rows, "forward_pass"));
  CHECK(row(rows, "forward_pass")->kind == prof::EventKind::User);
  // Sorted by total time, largest first; self time never exceeds the total.
  for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].total_ns >= rows[i].total_ns);
  for (const auto& r : rows) CHECK(r.self_ns <= r.total_ns);

  // The range encloses the ops run inside it, on the same thread, one level deeper.
  const prof::Event* range_event = nullptr;
  for (const auto& e : result.events())
    if (e.name == "forward_pass") range_event = &e;
  REQUIRE(range_event);
  int inside = 0;
  for (const auto& e : result.events()) {
    if (e.name != "mul" || e.start_ns > range_event->end_ns) continue;
    CHECK(e.start_ns >= range_event->start_ns);
    CHECK(e.end_ns <= range_event->end_ns);
    CHECK(e.depth == range_event->depth + 1);
    CHECK(e.thread_id == range_event->thread_id);
    REQUIRE(e.input_shapes.size() == 2);
    CHECK(e.input_shapes[0] == std::vector<int64_t>{2, 3});
    ++inside;
  }
  CHECK(inside == 3);
  // Each MulBackward0 event encloses the two muls its formulas run.
  for (const auto& b : result.events()) {
    if (b.name != "MulBackward0") continue;
    int nested = 0;
    for (const auto& e : result.events())
      if (e.name == "mul" && e.thread_id == b.thread_id && e.start_ns >= b.start_ns && e.end_ns <= b.end_ns &&
          e.depth == b.depth + 1)
        ++nested;
    CHECK(nested == 2);
  }

  const std::string table = result.table();
  CHECK_THAT(table, Contains("Name"));
  CHECK_THAT(table, Contains("# Calls"));
  CHECK_THAT(table, Contains("MulBackward0"));
  CHECK_THAT(table, Contains("Self CPU time total"));
}

TEST_CASE("profiler: chrome trace is valid JSON with one complete event per event", "[profiler]") {
  Tensor x = dg::rand({4, 5}, dg::requires_grad());
  std::ostringstream out;
  {
    prof::RecordProfile guard(out);
    Tensor y = (x.exp() * 2).sum();
    y.backward();
  }
  const nlohmann::json doc = nlohmann::json::parse(out.str());
  REQUIRE(doc.contains("traceEvents"));
  const auto& events = doc["traceEvents"];
  REQUIRE(events.is_array());
  std::set<std::string> names;
  for (const auto& e : events) {
    CHECK(e["ph"] == "X");
    CHECK(e["dur"].get<double>() >= 0);
    CHECK(e.contains("tid"));
    CHECK(e.contains("pid"));
    names.insert(e["name"].get<std::string>());
  }
  CHECK(names.count("exp"));
  CHECK(names.count("mul"));
  CHECK(names.count("ExpBackward0"));
  CHECK(names.count("SumBackward0"));
  for (const auto& e : events)
    if (e["name"] == "exp") CHECK(e["args"]["Input Dims"] == nlohmann::json::parse("[[4,5]]"));

  // To a file, as LibTorch's RecordProfile("trace.json").
  const std::string path = "dg_test_profiler_trace.json";
  {
    prof::RecordProfile guard(path);
    Tensor z = x.sin();
  }
  std::ifstream f(path);
  const nlohmann::json from_file = nlohmann::json::parse(f);
  CHECK(from_file["traceEvents"].size() == 1);
  CHECK(from_file["traceEvents"][0]["name"] == "sin");
  std::remove(path.c_str());
}

TEST_CASE("profiler: events of other threads carry their thread id", "[profiler]") {
  Tensor a = dg::rand({3});
  prof::ProfilerGuard guard;
  Tensor main_result = a.cos();
  std::thread t([&] { Tensor r = a.tan(); });
  t.join();
  const auto result = guard.stop();
  uint64_t cos_tid = 0, tan_tid = 0;
  for (const auto& e : result.events()) {
    if (e.name == "cos") cos_tid = e.thread_id;
    if (e.name == "tan") tan_tid = e.thread_id;
  }
  CHECK(cos_tid != 0);
  CHECK(tan_tid != 0);
  CHECK(cos_tid != tan_tid);
}

TEST_CASE("profiler: misuse is an error, shapes can be left out", "[profiler]") {
  prof::enableProfiler();
  CHECK_THROWS_WITH(prof::enableProfiler(), Contains("already enabled"));
  prof::disableProfiler();
  CHECK_THROWS_WITH(prof::disableProfiler(), Contains("not enabled"));
  CHECK_THROWS_WITH(prof::RecordProfile("/nonexistent-dir/x.json"), Contains("cannot open"));
  CHECK_FALSE(prof::profilerEnabled());

  prof::ProfilerConfig config;
  config.report_input_shapes = false;
  prof::ProfilerGuard guard(config);
  Tensor r = dg::ones({2}).neg();
  const auto result = guard.stop();
  REQUIRE(result.events().size() == 1);
  CHECK(result.events()[0].input_shapes.empty());
  CHECK_THROWS_WITH(guard.stop(), Contains("already stopped"));
}
