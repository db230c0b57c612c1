// BufferPool and BufferRef: recycling, one-off larger buffers, the cache limit, and the read/write
// window of a Buffer (commit, consume, compact, truncate).
#include "net/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace turnpike::net {
namespace {

void put(Buffer& b, std::string_view text) {
  ASSERT_LE(text.size(), b.writable());
  std::memcpy(b.write_ptr(), text.data(), text.size());
  b.commit(text.size());
}

TEST(BufferPoolTest, AcquireGivesAnEmptyBufferOfThePoolSize) {
  BufferPool pool(1024, 8);
  EXPECT_EQ(pool.buffer_size(), 1024u);
  BufferRef b = pool.acquire();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->capacity(), 1024u);
  EXPECT_EQ(b->readable(), 0u);
  EXPECT_EQ(b->writable(), 1024u);
  EXPECT_EQ(b->view(), "");
  // All of it is usable (ASan checks the allocation's size).
  std::memset(b->write_ptr(), 'x', b->writable());
  b->commit(b->writable());
  EXPECT_EQ(b->readable(), 1024u);
  EXPECT_EQ(b->writable(), 0u);
}

TEST(BufferPoolTest, ReleasedBuffersAreRecycledEmpty) {
  BufferPool pool(256, 8);
  Buffer* first;
  {
    BufferRef b = pool.acquire();
    first = b.get();
    put(*b, "leftover");
    b->consume(3);
    EXPECT_EQ(pool.cached(), 0u);
  }
  EXPECT_EQ(pool.cached(), 1u);
  BufferRef again = pool.acquire();
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool.cached(), 0u);
  EXPECT_EQ(again->readable(), 0u);
  EXPECT_EQ(again->writable(), 256u);
  EXPECT_EQ(again->begin_offset(), 0u);
}

TEST(BufferPoolTest, RecyclingIsLastInFirstOut) {
  BufferPool pool(64, 8);
  BufferRef a = pool.acquire();
  BufferRef b = pool.acquire();
  Buffer* pa = a.get();
  Buffer* pb = b.get();
  EXPECT_NE(pa, pb);
  a.reset();
  b.reset();
  EXPECT_FALSE(a);
  EXPECT_EQ(pool.cached(), 2u);
  EXPECT_EQ(pool.acquire().get(), pb);  // the warmest first
}

TEST(BufferPoolTest, SmallerRequestsGetThePoolSize) {
  BufferPool pool(512, 8);
  BufferRef b = pool.acquire(100);
  EXPECT_EQ(b->capacity(), 512u);
  BufferRef c = pool.acquire(512);
  EXPECT_EQ(c->capacity(), 512u);
}

TEST(BufferPoolTest, LargerBuffersAreOneOffs) {
  BufferPool pool(512, 8);
  {
    BufferRef big = pool.acquire(4096);
    ASSERT_TRUE(big);
    EXPECT_GE(big->capacity(), 4096u);
    std::memset(big->write_ptr(), 'y', big->writable());
    big->commit(big->writable());
  }
  // Freed, not cached: the cache holds pool-size buffers only.
  EXPECT_EQ(pool.cached(), 0u);
  BufferRef next = pool.acquire();
  EXPECT_EQ(next->capacity(), 512u);
}

TEST(BufferPoolTest, CacheIsBounded) {
  BufferPool pool(128, 2);
  {
    std::vector<BufferRef> held;
    for (int i = 0; i < 5; ++i) held.push_back(pool.acquire());
  }
  EXPECT_EQ(pool.cached(), 2u);
  BufferRef a = pool.acquire();
  BufferRef b = pool.acquire();
  EXPECT_EQ(pool.cached(), 0u);
  BufferRef c = pool.acquire();  // a fresh one
  EXPECT_TRUE(c);
}

TEST(BufferRefTest, MoveTransfersOwnership) {
  BufferPool pool(64, 8);
  BufferRef a = pool.acquire();
  Buffer* raw = a.get();
  BufferRef b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(pool.cached(), 0u);

  BufferRef c = pool.acquire();
  c = std::move(b);  // c's own buffer goes back to the pool
  EXPECT_EQ(c.get(), raw);
  EXPECT_EQ(pool.cached(), 1u);
  BufferRef& alias = c;
  c = std::move(alias);  // self-move keeps it
  EXPECT_EQ(c.get(), raw);
  c.reset();
  EXPECT_EQ(pool.cached(), 2u);
  c.reset();  // twice: nothing more
  EXPECT_EQ(pool.cached(), 2u);
}

TEST(BufferRefTest, EmptyRefsAreHarmless) {
  BufferRef empty;
  EXPECT_FALSE(empty);
  empty.reset();
  BufferRef other;
  empty = std::move(other);
  EXPECT_FALSE(empty);
}

TEST(BufferTest, CommitConsumeAndView) {
  BufferPool pool(32, 8);
  BufferRef b = pool.acquire();
  put(*b, "hello ");
  put(*b, "world");
  EXPECT_EQ(b->view(), "hello world");
  EXPECT_EQ(b->writable(), 32u - 11);
  b->consume(6);
  EXPECT_EQ(b->view(), "world");
  EXPECT_EQ(std::string_view(b->read_ptr(), b->readable()), "world");
  EXPECT_EQ(b->begin_offset(), 6u);
  // Free space is only what follows the unread bytes until compacted.
  EXPECT_EQ(b->writable(), 32u - 11);
  b->consume(5);
  // Consuming everything rewinds: the whole capacity is free again.
  EXPECT_EQ(b->readable(), 0u);
  EXPECT_EQ(b->begin_offset(), 0u);
  EXPECT_EQ(b->writable(), 32u);
}

TEST(BufferTest, ConsumeNothing) {
  BufferPool pool(32, 8);
  BufferRef b = pool.acquire();
  b->consume(0);
  EXPECT_EQ(b->readable(), 0u);
  put(*b, "ab");
  b->consume(0);
  EXPECT_EQ(b->view(), "ab");
}

TEST(BufferTest, CompactMovesUnreadBytesToTheFront) {
  BufferPool pool(16, 8);
  BufferRef b = pool.acquire();
  put(*b, "0123456789abcdef");
  EXPECT_EQ(b->writable(), 0u);
  b->consume(10);
  EXPECT_EQ(b->writable(), 0u);
  b->compact();
  EXPECT_EQ(b->begin_offset(), 0u);
  EXPECT_EQ(b->view(), "abcdef");
  EXPECT_EQ(b->read_ptr(), b->data());
  EXPECT_EQ(b->writable(), 10u);
  put(*b, "ghij");
  EXPECT_EQ(b->view(), "abcdefghij");
  b->compact();  // already at the front: unchanged
  EXPECT_EQ(b->view(), "abcdefghij");
}

TEST(BufferTest, CompactOverlappingMove) {
  BufferPool pool(16, 8);
  BufferRef b = pool.acquire();
  put(*b, "0123456789abcdef");
  b->consume(2);  // 14 unread bytes overlap their destination
  b->compact();
  EXPECT_EQ(b->view(), "23456789abcdef");
  EXPECT_EQ(b->writable(), 2u);
}

TEST(BufferTest, TruncateDropsTheTail) {
  BufferPool pool(32, 8);
  BufferRef b = pool.acquire();
  put(*b, "GET / HTTP/1.1\r\n");
  b->consume(4);
  b->truncate(1);
  EXPECT_EQ(b->view(), "/");
  EXPECT_EQ(b->writable(), 32u - 5);
  b->truncate(0);
  EXPECT_EQ(b->readable(), 0u);
  put(*b, "x");
  EXPECT_EQ(b->view(), "x");
}

TEST(BufferTest, Clear) {
  BufferPool pool(32, 8);
  BufferRef b = pool.acquire();
  put(*b, "abc");
  b->consume(1);
  b->clear();
  EXPECT_EQ(b->readable(), 0u);
  EXPECT_EQ(b->begin_offset(), 0u);
  EXPECT_EQ(b->writable(), 32u);
}

TEST(BufferTest, OneOffBufferWindow) {
  BufferPool pool(16, 8);
  BufferRef b = pool.acquire(100);
  std::string text(100, 'q');
  put(*b, text);
  b->consume(60);
  b->compact();
  EXPECT_EQ(b->view(), std::string(40, 'q'));
  EXPECT_EQ(b->writable(), b->capacity() - 40);
}

}  // namespace
}  // namespace turnpike::net
