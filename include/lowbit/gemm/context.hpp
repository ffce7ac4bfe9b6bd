// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/context.hpp: Context, the thread pool and scratch memory of the GEMM/GEMV entry
// points.
//
// A Context owns `threads - 1` worker threads (the caller is the last one) that sleep between
// calls, plus scratch buffers reused across calls (packed activations), so a decode loop
// allocates nothing after its first token. Work is split into fixed contiguous chunks that
// depend only on (n, threads), and each output element is computed by one thread with the same
// operations in the same order, so results are bit-identical for every thread count. A Context
// is not reentrant: one call at a time (use one Context per calling thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "lowbit/core/buffer.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"
#include "lowbit/quant/activation_buffers.hpp"

namespace lowbit {

class Context {
 public:
  /// A context running on `threads` threads (1 = the caller only). Throws Error for threads < 1.
  explicit Context(int threads = 1) : threads_(threads) {
    if (threads < 1 || threads > 1024)
      detail::fail("Context: thread count ", threads, " not in 1..1024");
    workers_.reserve(static_cast<std::size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker(i); });
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const noexcept { return threads_; }

  /// Calls fn(begin, end) on `threads()` fixed contiguous chunks of [0, n) (fewer when n is
  /// smaller) and waits. An exception from any chunk is rethrown (the lowest chunk's wins).
  void parallel_for(Index n, const std::function<void(Index, Index)>& fn) {
    if (n <= 0) return;
    const int t = static_cast<int>(n < threads_ ? n : threads_);
    if (t == 1) {
      fn(0, n);
      return;
    }
    errors_.assign(static_cast<std::size_t>(t), nullptr);
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      job_n_ = n;
      job_chunks_ = t;
      pending_ = t - 1;
      ++generation_;
    }
    cv_.notify_all();
    run_chunk(0);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [this] { return pending_ == 0; });
    job_ = nullptr;
    lk.unlock();
    for (auto& e : errors_)
      if (e) std::rethrow_exception(e);
  }

  /// Calls fn(begin, end) on chunks of at most `grain` consecutive indices of [0, n) that the
  /// threads take in turn as they finish (dynamic balancing against uneven cores). Which thread
  /// runs a chunk varies from call to call; what a chunk computes must not depend on it (the
  /// kernels write disjoint outputs, so results stay bit-identical). An exception stops the
  /// remaining chunks and is rethrown (the lowest thread's).
  void parallel_for_dynamic(Index n, Index grain, const std::function<void(Index, Index)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    std::atomic<Index> next{0};
    std::atomic<bool> failed{false};
    parallel_for(threads_, [&](Index, Index) {
      try {
        for (;;) {
          if (failed.load(std::memory_order_relaxed)) return;
          const Index b = next.fetch_add(grain, std::memory_order_relaxed);
          if (b >= n) return;
          fn(b, b + grain < n ? b + grain : n);
        }
      } catch (...) {
        failed.store(true);
        throw;
      }
    });
  }

  /// Scratch bytes for packed activations (grown on demand, never shrunk, 64-byte aligned).
  std::byte* scratch(std::size_t bytes) {
    if (static_cast<std::size_t>(scratch_.size()) < bytes)
      scratch_ = AlignedBuffer<std::byte>(static_cast<Index>(bytes));
    return scratch_.data();
  }

  /// Scratch int8 activations (gemm/gemv quantize float activations into it).
  Int8Activations& activations() noexcept { return activations_; }

 private:
  void run_chunk(int i) {
    try {
      (*job_)(job_n_ * i / job_chunks_, job_n_ * (i + 1) / job_chunks_);
    } catch (...) {
      errors_[static_cast<std::size_t>(i)] = std::current_exception();
    }
  }
  void worker(int i) {
    std::uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_) return;
      if (job_ == nullptr || i >= job_chunks_) continue;
      lk.unlock();
      run_chunk(i);
      lk.lock();
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(Index, Index)>* job_ = nullptr;
  Index job_n_ = 0;
  int job_chunks_ = 0;
  int pending_ = 0;
  std::vector<std::exception_ptr> errors_;
  AlignedBuffer<std::byte> scratch_;
  Int8Activations activations_;
};

}  // namespace lowbit
