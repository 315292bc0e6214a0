#pragma once
// Waiting on stores that cannot notify (a file, a server without watches):
// poll with pauses growing from 1 to 10 ms.
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "dynagrad/distributed/store.h"

namespace dg::distributed::store_polling {

// Calls ready() until it returns true (then true) or `timeout` has passed
// (then false); Store::kNoTimeout waits without limit.
inline bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(1);
  while (!ready()) {
    if (timeout != Store::kNoTimeout && std::chrono::steady_clock::now() - start > timeout) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(10));
  }
  return true;
}

// "'a', 'b'": the keys `store` does not hold, for a timeout's message.
inline std::string missing_keys(Store& store, const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys)
    if (!store.check({k})) out += (out.empty() ? "'" : ", '") + k + "'";
  return out;
}

}  // namespace dg::distributed::store_polling
