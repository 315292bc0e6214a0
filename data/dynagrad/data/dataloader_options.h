#pragma once
// The options of a data loader, with LibTorch's names and defaults: each
// option `x` has a getter `x()` and a chaining setter `x(value)`.
#include <chrono>
#include <cstddef>
#include <optional>

namespace dg::data {

struct DataLoaderOptions {
  DataLoaderOptions() = default;
  DataLoaderOptions(size_t batch_size) : batch_size_(batch_size) {}  // NOLINT: implicit, as LibTorch

  // Examples per batch.
  DataLoaderOptions& batch_size(size_t v) { return batch_size_ = v, *this; }
  size_t batch_size() const noexcept { return batch_size_; }
  // Worker threads preparing batches; 0 prepares them on the iterating thread.
  DataLoaderOptions& workers(size_t v) { return workers_ = v, *this; }
  size_t workers() const noexcept { return workers_; }
  // Batches requested ahead at most (queued, being prepared or ready): 2 * workers by default.
  DataLoaderOptions& max_jobs(std::optional<size_t> v) { return max_jobs_ = v, *this; }
  std::optional<size_t> max_jobs() const noexcept { return max_jobs_; }
  // How long the iterating thread waits for a worker's batch before throwing.
  DataLoaderOptions& timeout(std::optional<std::chrono::milliseconds> v) { return timeout_ = v, *this; }
  std::optional<std::chrono::milliseconds> timeout() const noexcept { return timeout_; }
  // Batches come in the sampler's order even when workers finish out of order.
  DataLoaderOptions& enforce_ordering(bool v) { return enforce_ordering_ = v, *this; }
  bool enforce_ordering() const noexcept { return enforce_ordering_; }
  // A last batch smaller than batch_size is dropped.
  DataLoaderOptions& drop_last(bool v) { return drop_last_ = v, *this; }
  bool drop_last() const noexcept { return drop_last_; }

 private:
  size_t batch_size_ = 1;
  size_t workers_ = 0;
  std::optional<size_t> max_jobs_;
  std::optional<std::chrono::milliseconds> timeout_;
  bool enforce_ordering_ = true;
  bool drop_last_ = false;
};

// The options with every default filled in, as the loader uses them.
struct FullDataLoaderOptions {
  explicit FullDataLoaderOptions(DataLoaderOptions options)
      : batch_size(options.batch_size()),
        workers(options.workers()),
        max_jobs(options.max_jobs().value_or(2 * workers)),
        timeout(options.timeout()),
        enforce_ordering(options.enforce_ordering()),
        drop_last(options.drop_last()) {}

  size_t batch_size;
  size_t workers;
  size_t max_jobs;
  std::optional<std::chrono::milliseconds> timeout;
  bool enforce_ordering;
  bool drop_last;
};

}  // namespace dg::data
