// dg_demo_ddp: the demo's Fashion-MNIST CNN (tools/fashion_net.h) trained
// data-parallel: each rank reads its shard of every epoch
// (DistributedRandomSampler, reshuffled by set_epoch) and
// DistributedDataParallel averages the gradients over the ranks, so that with
// a per-rank batch of 64 / world_size the run takes the same optimizer steps
// as the one-process demo. Start it with the launcher:
//
//   tools/dgrun --nproc 2 build/tools/dg_demo_ddp [epochs]
//
// Rank 0 evaluates the test set after each epoch and checks accuracy >= 90%
// at the end, and that every rank ends with the same parameters (exit code 1
// otherwise), as dg_demo checks its numbers.
#include <dynagrad/distributed/ddp.h>
#include <dynagrad/distributed/init.h>
#include <dynagrad/dynagrad.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "fashion_net.h"

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 4;
  try {
    auto pg = dg::distributed::init_process_group("gloo");
    const int rank = pg->getRank();
    const int world = pg->getSize();
    const int64_t global_batch = 64;
    const int64_t batch_size = global_batch / world;
    dg::manual_seed(0);
    dg_demo::FashionNet model;
    dg::nn::parallel::DistributedDataParallel<dg_demo::FashionNet> ddp(model);
    dg::manual_seed(1000 + static_cast<uint64_t>(rank));  // each rank its own dropout masks
    const size_t train_size = *dg_demo::normalized(dg::data::datasets::MNIST::Mode::kTrain).size();
    const size_t steps_per_epoch = train_size / static_cast<size_t>(world) / static_cast<size_t>(batch_size);
    dg::optim::Adam optimizer(ddp.parameters(), dg::optim::AdamOptions(2e-3));
    dg::optim::CosineAnnealingLR scheduler(optimizer, static_cast<int64_t>(epochs * steps_per_epoch));
    if (rank == 0) {
      std::printf(
          "Fashion-MNIST data-parallel on %d ranks (gloo): batch %lld per rank (%lld in all), %zu steps "
          "an epoch\n",
          world, static_cast<long long>(batch_size), static_cast<long long>(batch_size * world), steps_per_epoch);
    }
    const auto start = std::chrono::steady_clock::now();
    double accuracy = 0;
    bool failed = false;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      dg::data::samplers::DistributedRandomSampler sampler(train_size, static_cast<size_t>(world),
                                                           static_cast<size_t>(rank));
      sampler.set_epoch(static_cast<size_t>(epoch));
      auto loader = dg::data::make_data_loader(
          dg_demo::normalized(dg::data::datasets::MNIST::Mode::kTrain), std::move(sampler),
          dg::data::DataLoaderOptions().batch_size(static_cast<size_t>(batch_size)).workers(1).drop_last(true));
      double loss_sum = 0;
      size_t steps = 0;
      for (auto& batch : *loader) {
        optimizer.zero_grad();
        auto loss = dg::nn::functional::cross_entropy(ddp(batch.data), batch.target);
        loss.backward();
        optimizer.step();
        scheduler.step();
        loss_sum += loss.item<double>();
        if (++steps % 200 == 0 && rank == 0) {
          std::printf("epoch %d step %zu/%zu loss %.4f\n", epoch, steps, steps_per_epoch, loss_sum / 200);
          loss_sum = 0;
        }
      }
      if (rank == 0) {
        accuracy = dg_demo::test_accuracy(model);
        std::printf("epoch %d: test accuracy %.2f%% (%.0f s)\n", epoch, 100 * accuracy,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }
    // The replicas stayed one model: every rank's parameters, gathered, equal rank 0's.
    bool same = true;
    for (const dg::Tensor& p : ddp.parameters()) {
      std::vector<dg::Tensor> mine{p.detach().contiguous()};
      std::vector<std::vector<dg::Tensor>> all(1);
      for (int r = 0; r < world; ++r) all[0].push_back(dg::empty_like(mine[0]));
      pg->allgather(all, mine)->wait();
      for (int r = 1; r < world; ++r) same = same && dg::equal(all[0][0], all[0][static_cast<size_t>(r)]);
    }
    if (rank == 0) {
      std::printf("parameters identical on all %d ranks: %s\n", world, same ? "yes" : "NO");
      const bool ok = accuracy >= 0.90 && same;
      std::printf("trained %d epochs on %d ranks in %.1f s: test accuracy %.2f%% %s\n", epochs, world,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 100 * accuracy,
                  accuracy >= 0.90 ? "(>= 90%: ok)" : "(< 90%: FAILED)");
      failed = !ok;
    }
    // Every rank leaves together (rank 0's evaluation came last).
    pg->barrier()->wait();
    dg::distributed::destroy_process_group();
    if (failed) return 1;
  } catch (const dg::Error& e) {
    std::fprintf(stderr, "dg_demo_ddp: dynagrad error: %s\n", e.what());
    return 2;
  }
  return 0;
}
