// DistributedRandomSampler / DistributedSequentialSampler against the batches
// LibTorch 1.13's samplers hand out for the same arguments and epoch
// (tests/golden/distributed_sampler_golden.json, tools/golden/make_sampler_golden.sh),
// and their properties: the ranks' shards are disjoint and cover the dataset,
// every rank draws the same permutation for an epoch, checkpoints resume.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "dynagrad/data.h"
#include "dynagrad/serialize.h"
#include "golden_json.h"

using namespace dg;
using namespace dg::testing;
using namespace dg::data::samplers;

namespace {

template <typename S>
std::vector<std::vector<size_t>> epoch_batches(S& sampler, size_t batch_size) {
  std::vector<std::vector<size_t>> out;
  while (auto batch = sampler.next(batch_size)) out.push_back(*batch);
  return out;
}

template <typename S>
std::vector<size_t> epoch_indices(S& sampler, size_t batch_size = 5) {
  std::vector<size_t> out;
  for (const auto& batch : epoch_batches(sampler, batch_size)) out.insert(out.end(), batch.begin(), batch.end());
  return out;
}

}  // namespace

TEST_CASE("distributed samplers: LibTorch's batches", "[data][ddp]") {
  const Json& cases = golden_json("distributed_sampler_golden.json");
  REQUIRE(cases.size() > 40);
  for (const Json& c : cases) {
    const auto size = c["size"].get<size_t>();
    const auto replicas = c["num_replicas"].get<size_t>();
    const auto rank = c["rank"].get<size_t>();
    const bool duplicates = c["allow_duplicates"].get<bool>();
    const auto batch_size = c["batch_size"].get<size_t>();
    const auto epoch = c["epoch"].get<size_t>();
    const auto new_size = c["new_size"].get<size_t>();
    const auto expected = c["batches"].get<std::vector<std::vector<size_t>>>();
    INFO(c.dump());
    auto run = [&](auto& sampler) {
      sampler.set_epoch(epoch);
      CHECK(sampler.epoch() == epoch);
      if (new_size) {
        sampler.reset(new_size);
      } else {
        sampler.reset();
      }
      CHECK(epoch_batches(sampler, batch_size) == expected);
      CHECK(sampler.index() == c["index"].get<size_t>());
      CHECK_FALSE(sampler.next(1).has_value());
    };
    if (c["kind"] == "random") {
      DistributedRandomSampler sampler(size, replicas, rank, duplicates);
      run(sampler);
    } else {
      DistributedSequentialSampler sampler(size, replicas, rank, duplicates);
      run(sampler);
    }
  }
}

TEST_CASE("distributed samplers: shards are disjoint and cover the data", "[data][ddp]") {
  for (size_t size : {1, 9, 10, 97, 1000}) {
    for (size_t replicas : {1, 2, 3, 4, 7}) {
      for (bool duplicates : {true, false}) {
        for (size_t epoch : {0, 1, 2}) {
          INFO("size " << size << " replicas " << replicas << " duplicates " << duplicates << " epoch " << epoch);
          std::multiset<size_t> seen_random;
          std::multiset<size_t> seen_sequential;
          std::vector<std::vector<size_t>> shards;
          for (size_t rank = 0; rank < replicas; ++rank) {
            DistributedRandomSampler random(size, replicas, rank, duplicates);
            random.set_epoch(epoch);
            random.reset();
            const auto shard = epoch_indices(random);
            const size_t local = duplicates ? (size + replicas - 1) / replicas : size / replicas;
            CHECK(shard.size() == local);  // every rank takes as many steps
            seen_random.insert(shard.begin(), shard.end());
            shards.push_back(shard);
            DistributedSequentialSampler sequential(size, replicas, rank, duplicates);
            const auto seq = epoch_indices(sequential);
            CHECK(seq.size() == local);
            seen_sequential.insert(seq.begin(), seq.end());
          }
          for (const auto* seen : {&seen_random, &seen_sequential}) {
            const std::set<size_t> distinct(seen->begin(), seen->end());
            CHECK((distinct.empty() || *distinct.rbegin() < size));
            if (duplicates) {
              CHECK(distinct.size() == size);         // covering
              CHECK(seen->size() - size < replicas);  // padded by fewer than one per rank
            } else {
              CHECK(distinct.size() == seen->size());  // disjoint
              CHECK(size - seen->size() < replicas);   // drops fewer than one per rank
            }
          }
          if (!duplicates) {
            // The random shards are one permutation cut in pieces: a new epoch
            // moves indices between ranks, the same epoch never does.
            DistributedRandomSampler again(size, replicas, 0, duplicates);
            again.set_epoch(epoch);
            again.reset();
            CHECK(epoch_indices(again) == shards[0]);
          }
        }
      }
    }
  }
  // set_epoch reshuffles, deterministically.
  DistributedRandomSampler a(100, 2, 1);
  const auto epoch0 = epoch_indices(a);
  a.reset();
  CHECK(epoch_indices(a) == epoch0);  // same epoch: same order
  a.set_epoch(1);
  a.reset();
  const auto epoch1 = epoch_indices(a);
  CHECK(epoch1 != epoch0);
  DistributedRandomSampler b(100, 2, 1);
  b.set_epoch(1);
  b.reset();
  CHECK(epoch_indices(b) == epoch1);
}

TEST_CASE("distributed samplers: checkpoints and bad arguments", "[data][ddp]") {
  const std::string path = "/tmp/dg_test_dsampler_" + std::to_string(getpid()) + ".safetensors";
  DistributedRandomSampler a(50, 3, 2);
  a.set_epoch(4);
  a.reset();
  a.next(6);
  serialize::OutputArchive out;
  a.save(out);
  out.save_to(path);
  serialize::InputArchive in;
  in.load_from(path);
  DistributedRandomSampler b(50, 3, 2);
  b.load(in);
  CHECK(b.epoch() == 4);
  CHECK(b.index() == a.index());
  CHECK(epoch_indices(b) == epoch_indices(a));

  DistributedSequentialSampler s(50, 3, 1);
  s.next(4);
  serialize::OutputArchive out2;
  s.save(out2);
  out2.save_to(path);
  serialize::InputArchive in2;
  in2.load_from(path);
  DistributedSequentialSampler t(50, 3, 1);
  t.load(in2);
  CHECK(t.index() == s.index());
  CHECK(epoch_indices(t) == epoch_indices(s));
  DistributedSequentialSampler other_rank(50, 3, 0);
  CHECK_THROWS_WITH(other_rank.load(in2), Catch::Contains("outside rank 0's shard"));
  std::remove(path.c_str());

  CHECK_THROWS_WITH(DistributedRandomSampler(10, 0, 0), Catch::Contains("num_replicas must be positive"));
  CHECK_THROWS_WITH(DistributedSequentialSampler(10, 2, 2), Catch::Contains("rank must be in [0, num_replicas = 2)"));
}
