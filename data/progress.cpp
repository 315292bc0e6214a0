#include "dynagrad/data/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace dg::data {
namespace {

bool is_terminal(const std::ostream* out) {
  if (out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  if (out == &std::cerr || out == &std::clog) return ::isatty(STDERR_FILENO) == 1;
  return false;
}

// h:mm:ss or m:ss.
std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  std::ostringstream os;
  if (s >= 3600) os << s / 3600 << ':' << std::setw(2) << std::setfill('0') << (s / 60) % 60;
  else os << s / 60;
  os << ':' << std::setw(2) << std::setfill('0') << s % 60;
  return os.str();
}

}  // namespace

ProgressBar::ProgressBar(size_t total_batches, std::ostream* out, std::optional<bool> interactive)
    : total_batches_(total_batches),
      out_(out ? out : &std::cout),
      interactive_(interactive.value_or(is_terminal(out_))) {}

void ProgressBar::start_epoch(size_t epoch, size_t total_epochs) {
  epoch_ = epoch;
  total_epochs_ = total_epochs;
  batches_ = items_ = 0;
  loss_.reset();
  start_ = Clock::now();
  last_draw_ = {};
  drawn_ = false;
  draw(true);
}

void ProgressBar::update(size_t items, std::optional<double> loss) {
  ++batches_;
  items_ += items;
  if (loss) loss_ = loss;
  draw(total_batches_ != 0 && batches_ == total_batches_);
}

void ProgressBar::finish() {
  if (interactive_) {
    draw(true);
    *out_ << '\n';
  } else {
    *out_ << line() << '\n';
  }
  out_->flush();
  drawn_ = false;
}

std::string ProgressBar::line() const {
  std::ostringstream os;
  os << "epoch " << epoch_;
  if (total_epochs_) os << '/' << total_epochs_;
  if (total_batches_) {
    constexpr size_t kWidth = 20;
    const size_t filled = std::min(batches_, total_batches_) * kWidth / total_batches_;
    os << "  [" << std::string(filled, '=') << (filled < kWidth ? ">" : "")
       << std::string(kWidth - filled - (filled < kWidth ? 1 : 0), ' ') << "] " << batches_ << '/' << total_batches_;
  } else {
    os << "  batch " << batches_;
  }
  if (loss_) os << "  loss " << std::fixed << std::setprecision(4) << *loss_;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  if (batches_ > 0 && elapsed > 0) {
    os << "  " << std::fixed << std::setprecision(1) << static_cast<double>(items_) / elapsed << " items/s";
    if (total_batches_ > batches_)
      os << "  ETA "
         << clock_text(elapsed / static_cast<double>(batches_) * static_cast<double>(total_batches_ - batches_));
    else os << "  " << clock_text(elapsed);
  }
  return os.str();
}

void ProgressBar::draw(bool force) {
  if (!interactive_) return;
  const auto now = Clock::now();
  if (!force && drawn_ && now - last_draw_ < redraw_interval) return;
  // Carriage return, the line, then erase what a longer previous line left.
  *out_ << '\r' << line() << "\033[K";
  out_->flush();
  last_draw_ = now;
  drawn_ = true;
}

}  // namespace dg::data
