// The per-worker buffer pool (see buffer.h).
#include "net/buffer.h"

#include <new>

namespace turnpike::net {

void BufferRef::reset() {
  if (!buffer_) return;
  Buffer* b = std::exchange(buffer_, nullptr);
  b->clear();
  if (b->pool_) {
    b->pool_->release(b);
  } else {
    b->~Buffer();
    ::operator delete(b);
  }
}

BufferPool::BufferPool(std::size_t buffer_size, std::size_t max_cached)
    : buffer_size_(buffer_size), max_cached_(max_cached) {}

BufferPool::~BufferPool() {
  while (free_) {
    Buffer* next = free_->next_free_;
    free_->~Buffer();
    ::operator delete(free_);
    free_ = next;
  }
}

Buffer* BufferPool::allocate(std::size_t capacity) {
  // Header and bytes in one allocation.
  void* raw = ::operator new(sizeof(Buffer) + capacity);
  auto* b = new (raw) Buffer();
  b->data_ = static_cast<char*>(raw) + sizeof(Buffer);
  b->capacity_ = capacity;
  return b;
}

BufferRef BufferPool::acquire(std::size_t min_capacity) {
  if (min_capacity > buffer_size_) return BufferRef(allocate(min_capacity));
  Buffer* b = free_;
  if (b) {
    free_ = b->next_free_;
    --cached_;
  } else {
    b = allocate(buffer_size_);
    b->pool_ = this;
  }
  b->next_free_ = nullptr;
  return BufferRef(b);
}

void BufferPool::release(Buffer* b) {
  if (cached_ >= max_cached_) {
    b->~Buffer();
    ::operator delete(b);
    return;
  }
  b->next_free_ = free_;
  free_ = b;
  ++cached_;
}

}  // namespace turnpike::net
