// Per-thread recycling of coroutine frames: a request allocates and frees the same few frame
// sizes over and over, so a free list per size class turns that into a pointer swap.
#include "net/task.h"

#include <array>
#include <new>

namespace turnpike::net {
namespace {

// Small frames (an idle connection's) in 64-byte steps, so rounding wastes little memory.
constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 384;  // frames up to 24 KiB are recycled
constexpr std::size_t kMaxCachedPerClass = 256;

struct FreeNode {
  FreeNode* next;
};

struct FrameCache {
  std::array<FreeNode*, kClasses> heads{};
  std::array<std::size_t, kClasses> counts{};
  ~FrameCache() {
    for (FreeNode* head : heads) {
      while (head) {
        FreeNode* next = head->next;
        ::operator delete(head);
        head = next;
      }
    }
  }
};

thread_local FrameCache cache;

std::size_t size_class(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* allocate_frame(std::size_t size) {
  std::size_t c = size_class(size);
  if (c >= kClasses) return ::operator new(size);
  if (FreeNode* node = cache.heads[c]) {
    cache.heads[c] = node->next;
    --cache.counts[c];
    return node;
  }
  return ::operator new((c + 1) * kGranule);
}

void free_frame(void* frame, std::size_t size) noexcept {
  std::size_t c = size_class(size);
  if (c >= kClasses || cache.counts[c] >= kMaxCachedPerClass) {
    ::operator delete(frame);
    return;
  }
  auto* node = static_cast<FreeNode*>(frame);
  node->next = cache.heads[c];
  cache.heads[c] = node;
  ++cache.counts[c];
}

}  // namespace turnpike::net
