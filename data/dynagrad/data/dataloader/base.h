#pragma once
// The engine of the data loaders (LibTorch's DataLoaderBase): turns batch
// requests into batches, on the iterating thread (workers == 0) or on worker
// threads that prepare the next batches while the caller works on the
// current one.
//
// With workers, the loader keeps at most `max_jobs` requests outstanding: a
// request is queued for the workers at the start of the epoch (up to
// max_jobs) and one more each time the iterating thread takes a batch, so
// memory stays bounded however slow the consumer is. Each request carries
// its sequence number in the epoch; with enforce_ordering the iterating
// thread takes results in that order (the sampler's), otherwise as they
// come. A worker's exception travels with its result and is rethrown on the
// iterating thread as a WorkerException. Starting a new epoch (begin())
// discards what the previous one left in flight; destroying the loader (or
// join()) stops the workers after the batch each is on.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "dynagrad/data/dataloader_options.h"
#include "dynagrad/data/iterator.h"
#include "dynagrad/data/worker_exception.h"
#include "dynagrad/error.h"

namespace dg::data {

template <typename Dataset, typename Batch, typename BatchRequest>
class DataLoaderBase {
 public:
  using BatchType = Batch;
  using BatchRequestType = BatchRequest;

  DataLoaderBase(DataLoaderOptions options, std::unique_ptr<Dataset> main_thread_dataset = nullptr)
      : options_(std::move(options)), main_thread_dataset_(std::move(main_thread_dataset)) {}
  DataLoaderBase(const DataLoaderBase&) = delete;
  DataLoaderBase& operator=(const DataLoaderBase&) = delete;
  virtual ~DataLoaderBase() { join(); }

  // Starts an epoch: discards what a previous one left in flight, resets the
  // sampler and queues the first requests.
  Iterator<Batch> begin() {
    DG_CHECK(!joined_, "DataLoader::begin: the loader was joined; its workers are gone");
    reset();
    return Iterator<Batch>([this] { return this->next(); });
  }
  Iterator<Batch> end() { return Iterator<Batch>(); }

  // Stops and joins the workers (each finishes the batch it is on). The
  // destructor calls it.
  void join() {
    if (joined_) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closing_ = true;
      jobs_.clear();
      results_.clear();
    }
    job_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    joined_ = true;
  }

  const FullDataLoaderOptions& options() const noexcept { return options_; }

 protected:
  // The next request of the epoch, nullopt when it is over.
  virtual std::optional<BatchRequestType> get_batch_request() = 0;

  virtual void reset() {
    if (options_.workers > 0) drain();
    prefetch(options_.max_jobs);
  }

  // Worker threads are started by the derived loader, each with its own copy
  // of the dataset.
  void start_worker(Dataset dataset) {
    workers_.emplace_back([this, dataset = std::move(dataset)]() mutable { worker_loop(dataset); });
  }

  const FullDataLoaderOptions options_;
  std::unique_ptr<Dataset> main_thread_dataset_;

 private:
  struct Job {
    size_t sequence;
    BatchRequest request;
  };
  struct Result {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  std::optional<Batch> next() {
    if (options_.workers == 0) {
      if (auto request = get_batch_request()) return main_thread_dataset_->get_batch(std::move(*request));
      return std::nullopt;
    }
    std::optional<Result> result = pop_result();
    if (!result) return std::nullopt;
    prefetch(1);  // keeps the epoch going if the caller catches and goes on
    if (result->error) throw WorkerException(result->error);
    return std::move(result->batch);
  }

  void prefetch(size_t requests) {
    if (options_.workers == 0) return;
    for (size_t r = 0; r < requests; ++r) {
      auto request = get_batch_request();
      if (!request) break;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        jobs_.push_back(Job{pushed_++, std::move(*request)});
      }
      job_ready_.notify_one();
    }
  }

  // The next result of the epoch (in sequence with enforce_ordering);
  // nullopt when every request of the epoch has been answered and taken.
  std::optional<Result> pop_result() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (popped_ == pushed_) return std::nullopt;
    auto ready = [this] {
      if (results_.empty()) return false;
      return !options_.enforce_ordering || results_.begin()->first == popped_;
    };
    if (options_.timeout) {
      DG_CHECK(result_ready_.wait_for(lock, *options_.timeout, ready),
               "DataLoader: timed out waiting for the next batch from the workers (timeout was ",
               options_.timeout->count(), " ms)");
    } else {
      result_ready_.wait(lock, ready);
    }
    auto it = results_.begin();
    Result result = std::move(it->second);
    results_.erase(it);
    ++popped_;
    return result;
  }

  // Forgets the requests of the previous epoch: queued ones are dropped,
  // those being prepared are waited for and their results dropped.
  void drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    jobs_.clear();
    idle_.wait(lock, [this] { return busy_ == 0; });
    results_.clear();
    pushed_ = popped_ = 0;
  }

  void worker_loop(Dataset& dataset) {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        job_ready_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
        if (closing_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        ++busy_;
      }
      Result result;
      try {
        result.batch = dataset.get_batch(std::move(job.request));
      } catch (...) {
        result.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_;
        if (!closing_) results_.emplace(job.sequence, std::move(result));
      }
      result_ready_.notify_one();
      idle_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable job_ready_, result_ready_, idle_;
  std::deque<Job> jobs_;
  std::map<size_t, Result> results_;  // by sequence number
  size_t pushed_ = 0;                 // requests queued this epoch
  size_t popped_ = 0;                 // results taken this epoch
  size_t busy_ = 0;                   // workers inside get_batch
  bool closing_ = false;
  bool joined_ = false;
};

}  // namespace dg::data
