#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

namespace dg::cpu::detail {
namespace {

// One helper thread. A caller that wins `owner` hands the helper the upper
// half of its range, runs the lower half itself, then waits. The helper spins
// briefly (tens of microseconds) after each job because ops come in bursts
// (a training step) and a condition-variable wake-up costs about as much;
// spinning longer would steal the core from oneDNN's OpenMP threads.
class Helper {
 public:
  Helper() { std::thread([this] { loop(); }).detach(); }

  bool try_run(int64_t n, RangeFn fn, void* ctx) {
    std::unique_lock<std::mutex> own(owner_, std::try_to_lock);
    if (!own.owns_lock()) return false;
    const int64_t mid = n / 2;
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = fn;
      ctx_ = ctx;
      begin_ = mid;
      end_ = n;
      error_ = nullptr;
      done_.store(false, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_start_.notify_one();
    std::exception_ptr mine;
    try {
      fn(ctx, 0, mid);
    } catch (...) {
      mine = std::current_exception();
    }
    // The helper usually finishes within the spin; fall back to sleeping.
    for (int spin = 0; spin < 4096 && !done_.load(std::memory_order_acquire); ++spin) {
      std::this_thread::yield();
    }
    {
      std::unique_lock<std::mutex> lk(m_);
      cv_done_.wait(lk, [this] { return done_.load(std::memory_order_acquire); });
    }
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void loop() {
    in_helper_ = true;
    uint64_t seen = 0;
    for (;;) {
      for (int spin = 0; spin < 2000 && generation_.load(std::memory_order_acquire) == seen; ++spin) {
        __builtin_ia32_pause();
      }
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_start_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
      }
      try {
        fn_(ctx_, begin_, end_);
      } catch (...) {
        error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lk(m_);
        done_.store(true, std::memory_order_release);
      }
      cv_done_.notify_one();
    }
  }

 public:
  static thread_local bool in_helper_;

 private:
  std::mutex owner_;
  std::mutex m_;
  std::condition_variable cv_start_, cv_done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> done_{true};
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t begin_ = 0, end_ = 0;
  std::exception_ptr error_;
};

thread_local bool Helper::in_helper_ = false;

bool want_helper() {
  // DG_NUM_THREADS=1 turns intra-op threading off (profiling, or a machine
  // whose cores are already taken by other processes).
  if (const char* env = std::getenv("DG_NUM_THREADS")) return std::atoi(env) != 1;
  return std::thread::hardware_concurrency() >= 2;
}

Helper* helper() {
  // Leaked on purpose: the detached thread may outlive static destruction.
  static Helper* h = want_helper() ? new Helper() : nullptr;
  return h;
}

}  // namespace

void parallel_run(int64_t n, RangeFn fn, void* ctx) {
  Helper* h = Helper::in_helper_ ? nullptr : helper();
  if (h && h->try_run(n, fn, ctx)) return;
  fn(ctx, 0, n);
}

}  // namespace dg::cpu::detail
