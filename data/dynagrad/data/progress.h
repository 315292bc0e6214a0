#pragma once
// A one-line training progress display:
//
//   epoch 3/10  [=========>          ] 412/938  loss 0.4127  5321.4 items/s  ETA 0:07
//
// On a terminal the line is redrawn in place (at most every
// `redraw_interval`, and on the last batch); elsewhere (a log file, a pipe)
// nothing is drawn while the epoch runs and finish() writes the epoch's final
// line, so logs get one line per epoch.
//
//   dg::data::ProgressBar bar(batches_per_epoch);
//   for (size_t epoch = 1; epoch <= epochs; ++epoch) {
//     bar.start_epoch(epoch, epochs);
//     for (auto& batch : *loader) { ...; bar.update(batch.data.size(0), loss.item<double>()); }
//     bar.finish();
//   }
#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>

namespace dg::data {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  // `total_batches`: batches per epoch (0 when unknown: no bar, no ETA).
  // `out`: where to draw (std::cout by default). `interactive`: redraw in
  // place; by default, when `out` is std::cout (std::cerr) and stdout
  // (stderr) is a terminal.
  explicit ProgressBar(size_t total_batches, std::ostream* out = nullptr,
                       std::optional<bool> interactive = std::nullopt);

  // Starts epoch `epoch` (of `total_epochs`, 0 when open-ended).
  void start_epoch(size_t epoch, size_t total_epochs = 0);
  // One batch of `items` items done, with its loss when given.
  void update(size_t items, std::optional<double> loss = std::nullopt);
  // Ends the epoch's line.
  void finish();

  // The line as it would be drawn now (without the carriage return).
  std::string line() const;
  bool interactive() const noexcept { return interactive_; }
  std::chrono::milliseconds redraw_interval{100};

 private:
  void draw(bool force);

  size_t total_batches_;
  std::ostream* out_;
  bool interactive_;
  size_t epoch_ = 0, total_epochs_ = 0;
  size_t batches_ = 0, items_ = 0;
  std::optional<double> loss_;
  Clock::time_point start_{}, last_draw_{};
  bool drawn_ = false;
};

}  // namespace dg::data
