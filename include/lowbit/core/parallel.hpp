// SPDX-License-Identifier: Apache-2.0
// lowbit/core/parallel.hpp: a minimal parallel_for over index ranges on std::thread.
//
// Work is split into `threads` contiguous chunks fixed by (n, threads) alone, and each index is
// processed by exactly one thread with no shared accumulation, so results never depend on the
// thread count or timing. An exception thrown by any chunk is rethrown in the caller; when
// several chunks throw, the one covering the lowest indices wins, so the message is deterministic.
#pragma once

#include <exception>
#include <thread>
#include <vector>

#include "lowbit/core/types.hpp"

namespace lowbit::detail {

/// Calls fn(begin, end) on disjoint chunks covering [0, n), on up to `threads` threads.
template <class Fn>
void parallel_for(Index n, int threads, Fn&& fn) {
  if (n <= 0) return;
  const Index t = threads < 1 ? 1 : (threads > n ? n : threads);
  if (t == 1) {
    fn(Index{0}, n);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(t));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(t - 1));
  auto run = [&](Index i) {
    try {
      fn(n * i / t, n * (i + 1) / t);
    } catch (...) {
      errors[static_cast<std::size_t>(i)] = std::current_exception();
    }
  };
  for (Index i = 1; i < t; ++i) pool.emplace_back(run, i);
  run(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace lowbit::detail
