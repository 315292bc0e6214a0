#pragma once
// What the iterating thread throws when a worker's get_batch threw: the
// original exception is kept (rethrow it with std::rethrow_exception) and
// its message repeated.
#include <exception>
#include <string>
#include <utility>

namespace dg::data {

struct WorkerException : public std::exception {
  explicit WorkerException(std::exception_ptr original)
      : original_exception(std::move(original)), message("Caught exception in DataLoader worker thread.") {
    try {
      std::rethrow_exception(original_exception);
    } catch (const std::exception& e) {
      message += " Original message: ";
      message += e.what();
    } catch (...) {}
  }
  const char* what() const noexcept override { return message.c_str(); }

  std::exception_ptr original_exception;
  std::string message;
};

}  // namespace dg::data
