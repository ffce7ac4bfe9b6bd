// SPDX-License-Identifier: Apache-2.0
// lowbit/core/buffer.hpp: AlignedBuffer<T>, an owning, 64-byte aligned, move-only array.
#pragma once

#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include "lowbit/core/bits.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/types.hpp"

namespace lowbit {

/// Owning array of trivially copyable T, aligned to 64 bytes (a cache line; a full AVX-512
/// register), zero-filled on construction. Move-only: copies of weight buffers are never implicit.
template <class T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer<T>: T must be trivially copyable");

 public:
  static constexpr std::size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(Index size) : size_(size) {
    if (size < 0) detail::fail("AlignedBuffer: negative size ", size);
    if (size == 0) return;
    const Index bytes = detail::checked_mul(size, static_cast<Index>(sizeof(T)), "AlignedBuffer");
    data_ = static_cast<T*>(
        ::operator new (static_cast<std::size_t>(bytes), std::align_val_t{kAlignment}));
    std::memset(static_cast<void*>(data_), 0, static_cast<std::size_t>(bytes));
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  /// An explicit deep copy.
  AlignedBuffer clone() const {
    AlignedBuffer b(size_);
    if (size_ > 0)
      std::memcpy(static_cast<void*>(b.data_), data_, static_cast<std::size_t>(size_) * sizeof(T));
    return b;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  Index size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](Index i) noexcept { return data_[i]; }
  const T& operator[](Index i) const noexcept { return data_[i]; }
  std::span<T> span() noexcept { return {data_, static_cast<std::size_t>(size_)}; }
  std::span<const T> span() const noexcept { return {data_, static_cast<std::size_t>(size_)}; }

 private:
  void release() noexcept {
    if (data_ != nullptr)
      ::operator delete (static_cast<void*>(data_), std::align_val_t{kAlignment});
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  Index size_ = 0;
};

}  // namespace lowbit
