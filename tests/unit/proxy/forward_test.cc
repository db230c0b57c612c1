// HeadWriter (kept slices in place and merged when adjacent, added text copied into the scratch
// buffer) and is_sane_request_id. The rest of forward.cc needs a running engine: see tests/e2e.
#include "proxy/forward.h"

#include <gtest/gtest.h>

#include <string>

#include "net/buffer.h"

namespace turnpike::proxy {
namespace {

// The bytes the iovec list would send.
std::string gather(HeadWriter& w) {
  std::string out;
  for (int i = 0; i < w.count(); ++i) {
    out.append(static_cast<const char*>(w.iov()[i].iov_base), w.iov()[i].iov_len);
  }
  return out;
}

bool inside(const net::Buffer& b, const void* p) {
  auto* c = static_cast<const char*>(p);
  return c >= b.data() && c < b.data() + b.capacity();
}

class HeadWriterTest : public testing::Test {
 protected:
  net::BufferPool pool{256, 4};
  net::BufferRef scratch = pool.acquire();
};

TEST_F(HeadWriterTest, StartsEmpty) {
  HeadWriter w(*scratch);
  EXPECT_EQ(w.count(), 0);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(gather(w), "");
}

TEST_F(HeadWriterTest, KeepMergesAdjacentSlices) {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
  HeadWriter w(*scratch);
  const char* p = head.data();
  w.keep(p, p + 16);        // request line
  w.keep(p + 16, p + 25);   // Host, right after it
  w.keep(p + 25, p + 38);   // Accept, right after it
  EXPECT_EQ(w.count(), 1);
  EXPECT_EQ(w.iov()[0].iov_base, p);  // in place, not copied
  EXPECT_EQ(w.size(), 38u);
  EXPECT_EQ(gather(w), head.substr(0, 38));
  EXPECT_EQ(scratch->readable(), 0u);
}

TEST_F(HeadWriterTest, KeepSplitsAroundADroppedField) {
  const std::string head = "A: 1\r\nConnection: x\r\nB: 2\r\n";
  HeadWriter w(*scratch);
  const char* p = head.data();
  w.keep(p, p + 6);          // "A: 1\r\n"
  w.keep(p + 21, p + 27);    // "B: 2\r\n" (Connection dropped)
  EXPECT_EQ(w.count(), 2);
  EXPECT_EQ(gather(w), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(w.size(), 12u);
}

TEST_F(HeadWriterTest, EmptyKeepAddsNothing) {
  const std::string text = "abc";
  HeadWriter w(*scratch);
  w.keep(text.data(), text.data());
  EXPECT_EQ(w.count(), 0);
  w.keep(text.data(), text.data() + 1);
  w.keep(text.data() + 2, text.data() + 2);  // empty, not adjacent: still nothing
  w.keep(text.data() + 1, text.data() + 3);  // adjacent to the first
  EXPECT_EQ(w.count(), 1);
  EXPECT_EQ(gather(w), "abc");
}

TEST_F(HeadWriterTest, AddCopiesIntoScratch) {
  std::string source = "X-Forwarded-Proto: http\r\n";
  HeadWriter w(*scratch);
  ASSERT_TRUE(w.add(source));
  EXPECT_EQ(w.count(), 1);
  EXPECT_TRUE(inside(*scratch, w.iov()[0].iov_base));
  EXPECT_EQ(scratch->readable(), source.size());
  source.assign(source.size(), '#');  // the copy does not depend on the source
  EXPECT_EQ(gather(w), "X-Forwarded-Proto: http\r\n");
}

TEST_F(HeadWriterTest, ConsecutiveAddsMerge) {
  HeadWriter w(*scratch);
  ASSERT_TRUE(w.add("GET"));
  ASSERT_TRUE(w.add(" "));
  ASSERT_TRUE(w.add_header("Host", "example.com"));
  EXPECT_EQ(w.count(), 1);
  EXPECT_EQ(gather(w), "GET Host: example.com\r\n");
  EXPECT_EQ(w.size(), scratch->readable());
}

TEST_F(HeadWriterTest, AddEmptyTextAddsNoSlice) {
  HeadWriter w(*scratch);
  EXPECT_TRUE(w.add(""));
  EXPECT_EQ(w.count(), 0);
  EXPECT_TRUE(w.add_header("X-Empty", ""));
  EXPECT_EQ(gather(w), "X-Empty: \r\n");
}

TEST_F(HeadWriterTest, KeptAndAddedInterleave) {
  const std::string client = "Host: a\r\nUser-Agent: t\r\nX-Forwarded-For: 9.9.9.9\r\nAccept: */*\r\n";
  HeadWriter w(*scratch);
  ASSERT_TRUE(w.add("GET /p HTTP/1.1\r\n"));
  const char* p = client.data();
  w.keep(p, p + 24);                   // Host, User-Agent
  w.keep(p + 50, p + client.size());  // Accept (X-Forwarded-For replaced)
  ASSERT_TRUE(w.add_header("X-Forwarded-For", "9.9.9.9, 10.0.0.1"));
  ASSERT_TRUE(w.add("\r\n"));
  EXPECT_EQ(w.count(), 4);
  EXPECT_EQ(gather(w),
            "GET /p HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\n"
            "X-Forwarded-For: 9.9.9.9, 10.0.0.1\r\n\r\n");
  std::size_t total = 0;
  for (int i = 0; i < w.count(); ++i) total += w.iov()[i].iov_len;
  EXPECT_EQ(w.size(), total);
}

TEST_F(HeadWriterTest, AddFailsWhenScratchIsFull) {
  HeadWriter w(*scratch);
  std::string fill(scratch->writable() - 3, 'f');
  ASSERT_TRUE(w.add(fill));
  EXPECT_FALSE(w.add("four"));  // 4 > 3 left: refused whole
  EXPECT_EQ(scratch->writable(), 3u);
  EXPECT_EQ(w.size(), fill.size());
  EXPECT_TRUE(w.add("end"));  // exactly what is left
  EXPECT_EQ(scratch->writable(), 0u);
  EXPECT_FALSE(w.add("x"));
  EXPECT_TRUE(w.add(""));
  EXPECT_EQ(gather(w), fill + "end");
}

TEST_F(HeadWriterTest, AddHeaderFailsWhenItDoesNotFit) {
  HeadWriter w(*scratch);
  std::string long_value(300, 'v');
  EXPECT_FALSE(w.add_header("X-Long", long_value));
}

// A head of 100 fields with every other one dropped needs 50 kept slices plus the added lines;
// the writer holds them all.
TEST_F(HeadWriterTest, HundredFieldsEveryOtherDropped) {
  std::string client;
  std::vector<std::size_t> starts;
  for (int i = 0; i < 100; ++i) {
    starts.push_back(client.size());
    client += "X-" + std::to_string(i) + ": v\r\n";
  }
  starts.push_back(client.size());
  HeadWriter w(*scratch);
  ASSERT_TRUE(w.add("GET / HTTP/1.1\r\n"));
  std::string expected = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; i += 2) {
    w.keep(client.data() + starts[i], client.data() + starts[i + 1]);
    expected += client.substr(starts[i], starts[i + 1] - starts[i]);
  }
  ASSERT_TRUE(w.add_header("X-Forwarded-For", "1.2.3.4"));
  ASSERT_TRUE(w.add("\r\n"));
  expected += "X-Forwarded-For: 1.2.3.4\r\n\r\n";
  EXPECT_EQ(w.count(), 52);
  EXPECT_EQ(gather(w), expected);
}

struct IdCase {
  std::string id;
  bool sane;
};

class RequestIdTest : public testing::TestWithParam<IdCase> {};

TEST_P(RequestIdTest, Sanity) {
  EXPECT_EQ(is_sane_request_id(GetParam().id), GetParam().sane) << '"' << GetParam().id << '"';
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestIdTest,
    testing::Values(IdCase{"a", true}, IdCase{"0f8c2a1e-7d3b-4c55-9a1e-2b7c9d0e4f11", true},
                    IdCase{"!~", true}, IdCase{std::string(128, 'x'), true},
                    IdCase{std::string(129, 'x'), false}, IdCase{"", false},
                    IdCase{"has space", false}, IdCase{"tab\there", false},
                    IdCase{"crlf\r\nX-Injected: 1", false}, IdCase{"lf\n", false},
                    IdCase{std::string("nul\0", 4), false}, IdCase{"del\x7f", false},
                    IdCase{"caf\xc3\xa9", false}, IdCase{"\x80", false},
                    IdCase{"quote\"ok", true}, IdCase{"{json}", true}));

}  // namespace
}  // namespace turnpike::proxy
