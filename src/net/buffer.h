// Byte buffers for connections: fixed-size blocks recycled by a per-worker pool, so that a busy
// worker allocates none per request and an idle connection holds none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace turnpike::net {

class BufferPool;

// A block with a window of unread bytes [begin, end) and free space [end, capacity).
class Buffer {
 public:
  char* data() { return data_; }
  const char* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

  const char* read_ptr() const { return data_ + begin_; }
  char* read_ptr() { return data_ + begin_; }
  std::size_t readable() const { return end_ - begin_; }
  std::string_view view() const { return {data_ + begin_, end_ - begin_}; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  char* write_ptr() { return data_ + end_; }
  std::size_t writable() const { return capacity_ - end_; }
  void commit(std::size_t n) { end_ += n; }

  // Moves unread bytes to the front so that the free space is contiguous.
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_, data_ + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() { begin_ = end_ = 0; }
  // Drops unread bytes beyond the first `readable` ones.
  void truncate(std::size_t readable) { end_ = begin_ + readable; }
  std::size_t begin_offset() const { return begin_; }

 private:
  friend class BufferPool;
  friend class BufferRef;
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Buffer* next_free_ = nullptr;
  BufferPool* pool_ = nullptr;  // null: a one-off larger buffer, freed on release
};

// Owns one Buffer and gives it back to its pool when it goes away.
class BufferRef {
 public:
  BufferRef() = default;
  explicit BufferRef(Buffer* b) : buffer_(b) {}
  BufferRef(BufferRef&& other) noexcept : buffer_(std::exchange(other.buffer_, nullptr)) {}
  BufferRef& operator=(BufferRef&& other) noexcept {
    if (this != &other) {
      reset();
      buffer_ = std::exchange(other.buffer_, nullptr);
    }
    return *this;
  }
  ~BufferRef() { reset(); }

  explicit operator bool() const { return buffer_ != nullptr; }
  Buffer* operator->() const { return buffer_; }
  Buffer& operator*() const { return *buffer_; }
  Buffer* get() const { return buffer_; }
  void reset();

 private:
  Buffer* buffer_ = nullptr;
};

class BufferPool {
 public:
  explicit BufferPool(std::size_t buffer_size = 16 * 1024, std::size_t max_cached = 4096);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  std::size_t buffer_size() const { return buffer_size_; }
  // A buffer of at least `min_capacity` bytes (the pool's size when smaller), empty.
  BufferRef acquire(std::size_t min_capacity = 0);
  void release(Buffer* b);
  std::size_t cached() const { return cached_; }

 private:
  static Buffer* allocate(std::size_t capacity);
  std::size_t buffer_size_;
  std::size_t max_cached_;
  Buffer* free_ = nullptr;
  std::size_t cached_ = 0;
};

}  // namespace turnpike::net
