// HeadWriter (a head as one contiguous block), Slices (the pieces of one sendmsg) and
// is_sane_request_id. The rest of forward.cc needs a running engine: see tests/e2e.
#include "proxy/forward.h"

#include <gtest/gtest.h>

#include <string>

#include "net/buffer.h"
#include "test_names.h"

namespace turnpike::proxy {
namespace {

// The bytes a slice list would send.
std::string gather(Slices& s) {
  std::string out;
  for (int i = 0; i < s.count(); ++i) {
    out.append(static_cast<const char*>(s.iov()[i].iov_base), s.iov()[i].iov_len);
  }
  return out;
}

class HeadWriterTest : public testing::Test {
 protected:
  net::BufferPool pool{256, 4};
  net::BufferRef out = pool.acquire();
};

TEST_F(HeadWriterTest, StartsEmpty) {
  HeadWriter w(*out);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(w.text(), "");
}

TEST_F(HeadWriterTest, WritesOneContiguousBlock) {
  const std::string client = "Host: a\r\nUser-Agent: t\r\nX-Forwarded-For: 9.9.9.9\r\nAccept: */*\r\n";
  HeadWriter w(*out);
  w.add("GET /p HTTP/1.1\r\n");
  const char* p = client.data();
  w.add(p, p + 24);                   // Host, User-Agent
  w.add(p + 50, p + client.size());  // Accept (X-Forwarded-For replaced)
  w.add_header("X-Forwarded-For", "9.9.9.9, 10.0.0.1");
  w.add("\r\n");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.text(),
            "GET /p HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\nAccept: */*\r\n"
            "X-Forwarded-For: 9.9.9.9, 10.0.0.1\r\n\r\n");
  EXPECT_EQ(w.text().data(), out->data());  // in the buffer, not in the source
  EXPECT_EQ(out->readable(), w.text().size());
}

TEST_F(HeadWriterTest, StartsAfterWhatTheBufferHolds) {
  out->commit(3);  // bytes already there are not part of the head
  HeadWriter w(*out);
  w.add("abc");
  EXPECT_EQ(w.text(), "abc");
  EXPECT_EQ(w.text().data(), out->data() + 3);
}

TEST_F(HeadWriterTest, OverflowIsReported) {
  HeadWriter w(*out);
  std::string fill(out->writable() - 3, 'f');
  w.add(fill);
  EXPECT_TRUE(w.ok());
  w.add("end");  // exactly what is left
  EXPECT_TRUE(w.ok());
  w.add("x");
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.text(), fill + "end");  // nothing partial was written
}

TEST_F(HeadWriterTest, AddHeaderThatDoesNotFit) {
  HeadWriter w(*out);
  w.add_header("X-Long", std::string(300, 'v'));
  EXPECT_FALSE(w.ok());
}

TEST(SlicesTest, MergesAdjacentAndSkipsEmpty) {
  const std::string text = "head|body";
  Slices s;
  s.add(text.data(), 5);
  s.add(text.data() + 5, 0);  // empty: nothing
  s.add(text.data() + 5, 4);  // right after the first: merged
  EXPECT_EQ(s.count(), 1);
  EXPECT_EQ(gather(s), text);
  EXPECT_EQ(s.iov()[0].iov_base, text.data());  // in place
}

TEST(SlicesTest, KeepsSeparateRegionsApart) {
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  const std::string body = "payload";
  Slices s;
  s.add(head);
  s.add("7\r\n");
  s.add(body);
  s.add("\r\n");
  EXPECT_EQ(s.count(), 4);
  EXPECT_EQ(gather(s), head + "7\r\n" + body + "\r\n");
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
                    IdCase{"quote\"ok", true}, IdCase{"{json}", true}),
    [](const testing::TestParamInfo<IdCase>& info) {
      return test_names::indexed(info.param.id, info.index);
    });

}  // namespace
}  // namespace turnpike::proxy
