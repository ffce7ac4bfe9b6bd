// SPDX-License-Identifier: Apache-2.0
// lowbit/gemm/context.hpp: Context, the thread pool and scratch memory of the GEMM/GEMV entry
// points.
//
// A Context owns `threads - 1` worker threads (the caller is the last one) that poll for the
// next call for a moment (200 µs) and then sleep, plus scratch buffers reused across calls (packed
// activations), so a decode loop allocates nothing after its first token. Work is split into fixed
// contiguous chunks that depend only on (n, threads), and each output element is computed by one
// thread with the same operations in the same order, so results are bit-identical for every thread
// count. A Context is not reentrant: one call at a time (use one Context per calling thread).
#pragma once

#include <atomic>
#include <chrono>
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

/// How gemm/gemv quantize float activations to int8: one scale per row (per token, the
/// cheapest), or one per weight group of each row (32 or 256 columns: as fine as ggml's q8_0 /
/// q8_K activations, robust to outlier channels; one more fma per group in the kernels).
enum class ActivationScales { kPerRow, kPerGroup };

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
    publish(0);
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
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = t;
    pending_.store(t - 1, std::memory_order_relaxed);
    publish(t);
    run_chunk(0);
    if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
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

  /// The activation scales gemm/gemv use for float activations (default: per row).
  ActivationScales activation_scales() const noexcept { return scales_; }
  void set_activation_scales(ActivationScales s) noexcept { scales_ = s; }

 private:
  /// How long a thread polls before it sleeps: workers between calls (a decode step issues
  /// hundreds of short products; a futex wake-up per worker and call costs more than many of
  /// them at 16 threads), the caller for the last chunk. Bounded, so idle threads soon sleep.
  static constexpr auto kSpin = std::chrono::microseconds(200);

  /// Starts a call of `chunks` chunks (0: shutdown): the call's word (a counter and the chunk
  /// count) is stored with release after the job, under the lock, as a sleeping worker checks it
  /// under the lock too (no lost wake-up); spinning workers see it without a system call. A
  /// worker decides whether it takes part from the word alone, so one that does not never reads
  /// the job, which the next call may be rewriting.
  void publish(int chunks) {
    std::lock_guard<std::mutex> lk(mu_);
    const std::uint64_t next = ((word_.load(std::memory_order_relaxed) >> kChunkBits) + 1)
                               << kChunkBits;
    word_.store(next | static_cast<std::uint64_t>(chunks), std::memory_order_release);
    if (sleepers_ > 0) cv_.notify_all();
  }

  /// Polls `done` for up to kSpin; whether it became true. Between bursts of polls the thread
  /// yields, so on a machine with more threads than cores the polling gives way to work.
  template <class Done>
  static bool spin_until(Done&& done) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (done()) return true;
        cpu_relax();
      }
      if (std::chrono::steady_clock::now() >= until) return done();
      std::this_thread::yield();
    }
  }
  static void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

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
      if (!spin_until([&] { return word_.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> lk(mu_);
        ++sleepers_;
        cv_.wait(lk, [&] { return word_.load(std::memory_order_acquire) != seen; });
        --sleepers_;
      }
      seen = word_.load(std::memory_order_acquire);
      const int chunks = static_cast<int>(seen & ((1u << kChunkBits) - 1));
      if (chunks == 0) return;  // shutdown
      if (i >= chunks) continue;
      run_chunk(i);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);  // the caller may be about to sleep: see the wait
        done_cv_.notify_one();
      }
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  static constexpr int kChunkBits = 11;  // chunk counts 0..1024
  std::atomic<std::uint64_t> word_{0};   // (call counter << kChunkBits) | chunks of the call
  int sleepers_ = 0;                     // workers waiting on cv_ (under mu_)
  // The current call, published to the workers by the release store of its word.
  const std::function<void(Index, Index)>* job_ = nullptr;
  Index job_n_ = 0;
  int job_chunks_ = 0;
  std::atomic<int> pending_{0};  // worker chunks still running
  std::vector<std::exception_ptr> errors_;
  AlignedBuffer<std::byte> scratch_;
  Int8Activations activations_;
  ActivationScales scales_ = ActivationScales::kPerRow;
};

}  // namespace lowbit
