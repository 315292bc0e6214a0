#pragma once
// The data loader's input iterator. begin() pulls batches from a producer
// (the loader's next()) one at a time, lazily: the first batch is produced
// when the iterator is first dereferenced or compared, so `begin()` itself
// starts no work beyond what the loader queued. end() is a sentinel; an
// iterator equals it once the producer said the epoch is over.
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "dynagrad/error.h"

namespace dg::data {

template <typename Batch>
class Iterator {
 public:
  using difference_type = std::ptrdiff_t;
  using value_type = Batch;
  using pointer = Batch*;
  using reference = Batch&;
  using iterator_category = std::input_iterator_tag;
  using Producer = std::function<std::optional<Batch>()>;

  // A live iterator over `producer`'s batches.
  explicit Iterator(Producer producer) : state_(std::make_shared<State>(std::move(producer))) {}
  // The past-the-end sentinel.
  Iterator() = default;

  Iterator& operator++() {
    DG_CHECK(state_, "DataLoader iterator: incrementing the past-the-end iterator is not allowed");
    state_->fill();
    DG_CHECK(state_->batch.has_value(), "DataLoader iterator: attempted to increment iterator past the end");
    state_->batch = state_->producer();
    return *this;
  }
  Batch& operator*() { return get(); }
  Batch* operator->() { return &get(); }

  // Live iterators are equal when they are the same iterator; a live one
  // equals the sentinel once exhausted.
  bool operator==(const Iterator& other) const {
    if (state_ && other.state_) return state_ == other.state_;
    if (!state_ && !other.state_) return true;
    const State& live = state_ ? *state_ : *other.state_;
    live.fill();
    return !live.batch.has_value();
  }
  bool operator!=(const Iterator& other) const { return !(*this == other); }

 private:
  struct State {
    explicit State(Producer p) : producer(std::move(p)) {}
    void fill() const {
      if (!started) {
        batch = producer();
        started = true;
      }
    }
    Producer producer;
    mutable std::optional<Batch> batch;
    mutable bool started = false;
  };

  Batch& get() {
    DG_CHECK(state_, "DataLoader iterator: dereferencing the past-the-end iterator is not allowed");
    state_->fill();
    DG_CHECK(state_->batch.has_value(), "DataLoader iterator: attempted to dereference iterator that was past the end");
    return *state_->batch;
  }

  std::shared_ptr<State> state_;
};

}  // namespace dg::data
