// Writes tests/golden/distributed_sampler_golden.json: the batches LibTorch
// 1.13's DistributedRandomSampler / DistributedSequentialSampler hand out, for
// tests/test_distributed_sampler.cpp. Built and run by make_sampler_golden.sh.
#include <torch/torch.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

template <typename S>
std::string epoch_json(S& sampler, size_t batch_size) {
  std::ostringstream out;
  out << "[";
  bool first = true;
  while (auto batch = sampler.next(batch_size)) {
    out << (first ? "" : ",") << "[";
    for (size_t i = 0; i < batch->size(); ++i) out << (i ? "," : "") << (*batch)[i];
    out << "]";
    first = false;
  }
  out << "]";
  return out.str();
}

}  // namespace

int main() {
  using torch::data::samplers::DistributedRandomSampler;
  using torch::data::samplers::DistributedSequentialSampler;
  struct Config {
    size_t size, replicas;
    bool duplicates;
    size_t batch, epoch, new_size;  // new_size 0: reset() keeps the size
  };
  const std::vector<Config> configs = {
      {10, 3, true, 3, 0, 0},  {10, 3, false, 3, 0, 0}, {10, 3, true, 4, 1, 0},   {10, 3, true, 2, 5, 7},
      {100, 4, true, 7, 0, 0}, {100, 4, true, 7, 3, 0}, {101, 4, true, 16, 2, 0}, {101, 4, false, 16, 2, 0},
      {17, 1, true, 5, 0, 0},  {17, 1, true, 5, 9, 0},  {7, 2, true, 100, 4, 0},  {64, 8, false, 3, 11, 50},
  };
  std::cout << "[\n";
  bool first = true;
  for (const Config& c : configs) {
    for (const char* kind : {"random", "sequential"}) {
      for (size_t rank = 0; rank < c.replicas; ++rank) {
        std::string batches;
        size_t index = 0;
        auto run = [&](auto& sampler) {
          sampler.set_epoch(c.epoch);
          if (c.new_size) {
            sampler.reset(c.new_size);
          } else {
            sampler.reset();
          }
          batches = epoch_json(sampler, c.batch);
          index = sampler.index();
        };
        if (std::string(kind) == "random") {
          DistributedRandomSampler sampler(c.size, c.replicas, rank, c.duplicates);
          run(sampler);
        } else {
          DistributedSequentialSampler sampler(c.size, c.replicas, rank, c.duplicates);
          run(sampler);
        }
        std::cout << (first ? "" : ",\n") << R"({"kind": ")" << kind << R"(", "size": )" << c.size
                  << R"(, "num_replicas": )" << c.replicas << R"(, "rank": )" << rank << R"(, "allow_duplicates": )"
                  << (c.duplicates ? "true" : "false") << R"(, "batch_size": )" << c.batch << R"(, "epoch": )"
                  << c.epoch << R"(, "new_size": )" << c.new_size << R"(, "index": )" << index << R"(, "batches": )"
                  << batches << "}";
        first = false;
      }
    }
  }
  std::cout << "\n]\n";
}
