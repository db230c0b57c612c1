// An allocator for the router's large lookup tables: they are read at random, and on 2 MiB pages
// (where the kernel grants them, THP "madvise" mode included) they cost far fewer TLB misses
// than on 4 KiB ones. Small tables use the ordinary heap.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace turnpike::routing {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) {
    if (const size_t huge = huge_size(n)) {
      void* p = std::aligned_alloc(kHugePage, huge);
      if (p == nullptr) throw std::bad_alloc();
      madvise(p, huge, MADV_HUGEPAGE);  // advice only: ignored where THP is off
      return static_cast<T*>(p);
    }
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, size_t n) {
    if (huge_size(n) != 0) {
      std::free(p);
    } else {
      ::operator delete (p, std::align_val_t{alignof(T)});
    }
  }
  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }

 private:
  // Whole huge pages for a table of at least one; 0 (the ordinary heap) below that.
  static size_t huge_size(size_t n) {
    const size_t bytes = n * sizeof(T);
    return bytes >= kHugePage ? (bytes + kHugePage - 1) / kHugePage * kHugePage : 0;
  }
};

}  // namespace turnpike::routing
