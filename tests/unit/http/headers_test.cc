// Header names classified once, case-insensitive helpers, and the fixed-capacity HeaderList.
#include "http/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_names.h"

namespace turnpike::http {
namespace {

struct ClassifyCase {
  std::string name;
  HeaderId id;
};

class ClassifyHeaderTest : public testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyHeaderTest, ExactAndAnyCase) {
  const ClassifyCase& c = GetParam();
  EXPECT_EQ(classify_header(c.name), c.id) << c.name;
  std::string upper = c.name;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(classify_header(upper), c.id) << upper;
}

INSTANTIATE_TEST_SUITE_P(
    Known, ClassifyHeaderTest,
    testing::Values(ClassifyCase{"host", HeaderId::kHost},
                    ClassifyCase{"content-length", HeaderId::kContentLength},
                    ClassifyCase{"transfer-encoding", HeaderId::kTransferEncoding},
                    ClassifyCase{"connection", HeaderId::kConnection},
                    ClassifyCase{"keep-alive", HeaderId::kKeepAlive},
                    ClassifyCase{"proxy-connection", HeaderId::kProxyConnection},
                    ClassifyCase{"te", HeaderId::kTe}, ClassifyCase{"trailer", HeaderId::kTrailer},
                    ClassifyCase{"upgrade", HeaderId::kUpgrade},
                    ClassifyCase{"expect", HeaderId::kExpect},
                    ClassifyCase{"proxy-authorization", HeaderId::kProxyAuthorization},
                    ClassifyCase{"proxy-authenticate", HeaderId::kProxyAuthenticate},
                    ClassifyCase{"x-request-id", HeaderId::kXRequestId},
                    ClassifyCase{"x-forwarded-for", HeaderId::kXForwardedFor},
                    ClassifyCase{"x-forwarded-proto", HeaderId::kXForwardedProto},
                    ClassifyCase{"x-forwarded-host", HeaderId::kXForwardedHost},
                    ClassifyCase{"traceparent", HeaderId::kTraceparent},
                    ClassifyCase{"tracestate", HeaderId::kTracestate},
                    ClassifyCase{"date", HeaderId::kDate},
                    ClassifyCase{"server", HeaderId::kServer}),
    [](const testing::TestParamInfo<ClassifyCase>& info) {
      return test_names::identifier(info.param.name);
    });

INSTANTIATE_TEST_SUITE_P(
    Other, ClassifyHeaderTest,
    testing::Values(ClassifyCase{"", HeaderId::kOther}, ClassifyCase{"h", HeaderId::kOther},
                    ClassifyCase{"hosts", HeaderId::kOther}, ClassifyCase{"hos", HeaderId::kOther},
                    ClassifyCase{"content-lengtx", HeaderId::kOther},
                    ClassifyCase{"content_length", HeaderId::kOther},
                    ClassifyCase{"transfer_encoding", HeaderId::kOther},
                    ClassifyCase{"content-length ", HeaderId::kOther},
                    ClassifyCase{"x-forwarded-port", HeaderId::kOther},
                    ClassifyCase{"proxy-authorizatio", HeaderId::kOther},
                    ClassifyCase{"proxy-authorizationx", HeaderId::kOther},
                    ClassifyCase{"a-very-long-header-name-beyond-all-known", HeaderId::kOther},
                    ClassifyCase{"accept", HeaderId::kOther}, ClassifyCase{"tE2", HeaderId::kOther}),
    [](const testing::TestParamInfo<ClassifyCase>& info) {
      return test_names::indexed(info.param.name, info.index);
    });

TEST(ClassifyHeaderTest, NonAsciiBytesDoNotFoldToKnownNames) {
  // 0xC8 is 'H' | 0x80 and 0xC5 is 'E' | 0x80: only ASCII letters fold.
  EXPECT_EQ(classify_header("\xc8ost"), HeaderId::kOther);
  EXPECT_EQ(classify_header("t\xc5"), HeaderId::kOther);
}

TEST(IequalsTest, Cases) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("a", "ab"));
  EXPECT_FALSE(iequals("ab", "a"));
  EXPECT_FALSE(iequals("chunked", "chunkeD "));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xc1", "\xe1"));
}

struct TokenCase {
  std::string list;
  std::string token;
  bool present;
};

class HasTokenTest : public testing::TestWithParam<TokenCase> {};

TEST_P(HasTokenTest, Finds) {
  const TokenCase& c = GetParam();
  EXPECT_EQ(has_token(c.list, c.token), c.present) << '"' << c.list << "\" / " << c.token;
}

INSTANTIATE_TEST_SUITE_P(
    Table, HasTokenTest,
    testing::Values(TokenCase{"close", "close", true}, TokenCase{"Close", "close", true},
                    TokenCase{"keep-alive, close", "close", true},
                    TokenCase{"close,keep-alive", "keep-alive", true},
                    TokenCase{" \tclose\t ", "close", true},
                    TokenCase{"a, ,b,, close", "close", true},
                    TokenCase{"upgrade", "Upgrade", true}, TokenCase{"", "close", false},
                    TokenCase{",", "close", false}, TokenCase{"closed", "close", false},
                    TokenCase{"xclose", "close", false}, TokenCase{"clo se", "close", false},
                    TokenCase{"keep-alive", "close", false},
                    TokenCase{"close;q=1", "close", false}, TokenCase{"a,b,c", "", false}),
    [](const testing::TestParamInfo<TokenCase>& info) {
      return test_names::indexed(info.param.list + " in " + info.param.token, info.index);
    });

Header field(std::string_view name, std::string_view value) {
  Header h;
  h.name = name;
  h.value = value;
  h.id = classify_header(name);
  return h;
}

// Host and absolute-form authorities (RFC 3986 uri-host[:port]): what the gateway routes on is
// what every upstream reads.
struct AuthorityCase {
  const char* name;
  std::string authority;
  bool valid;
};

class ValidAuthorityTest : public testing::TestWithParam<AuthorityCase> {};

TEST_P(ValidAuthorityTest, Decides) {
  EXPECT_EQ(valid_authority(GetParam().authority), GetParam().valid) << GetParam().authority;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidAuthorityTest,
    testing::Values(
        AuthorityCase{"name", "api.example.com", true}, AuthorityCase{"port", "a.b:8080", true},
        AuthorityCase{"trailing_dot", "example.com.", true},
        AuthorityCase{"upper", "EXAMPLE.COM", true}, AuthorityCase{"ipv4", "10.0.0.1:80", true},
        AuthorityCase{"ipv6", "[::1]", true}, AuthorityCase{"ipv6_port", "[::1]:8080", true},
        AuthorityCase{"ipv6_v4_tail", "[::ffff:10.0.0.1]", true},
        AuthorityCase{"pct", "a%41b.com", true}, AuthorityCase{"sub_delims", "a!$&'()*+,;=", true},
        AuthorityCase{"max_port", "a:65535", true}, AuthorityCase{"empty", "", false},
        AuthorityCase{"space", "admin.internal x", false},
        AuthorityCase{"userinfo", "public@admin.internal", false},
        AuthorityCase{"slash", "a/b", false}, AuthorityCase{"backslash", "a\\b", false},
        AuthorityCase{"control", std::string("a\x01b"), false},
        AuthorityCase{"nul", std::string("a\0b", 3), false},
        AuthorityCase{"empty_port", "a:", false}, AuthorityCase{"alpha_port", "a:8o", false},
        AuthorityCase{"big_port", "a:65536", false}, AuthorityCase{"long_port", "a:000080", false},
        AuthorityCase{"two_colons", "a:1:2", false}, AuthorityCase{"only_port", ":80", false},
        AuthorityCase{"bad_pct", "a%4", false}, AuthorityCase{"bad_pct_hex", "a%zz", false},
        AuthorityCase{"unclosed_ipv6", "[::1", false}, AuthorityCase{"bad_ipv6", "[zz::1]", false},
        AuthorityCase{"ipv6_no_colon", "[1234]", false}, AuthorityCase{"empty_ipv6", "[]", false},
        AuthorityCase{"ipv6_junk_after", "[::1]x", false},
        AuthorityCase{"non_ascii", "caf\xc3\xa9.com", false}),
    [](const testing::TestParamInfo<AuthorityCase>& info) { return std::string(info.param.name); });

TEST(HeaderListTest, HoldsExactlyHundredFields) {
  HeaderList list;
  EXPECT_EQ(list.size(), 0u);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < HeaderList::kCapacity + 1; ++i) names.push_back("X-" + std::to_string(i));
  for (std::size_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(list.push(field(names[i], "v"))) << i;
  }
  EXPECT_EQ(list.size(), 100u);
  EXPECT_FALSE(list.push(field(names[100], "v")));
  EXPECT_EQ(list.size(), 100u);
  EXPECT_EQ(list[99].name, "X-99");
  EXPECT_EQ(list.end() - list.begin(), 100);
  list.clear();
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.begin(), list.end());
  EXPECT_TRUE(list.push(field("Host", "a")));
  EXPECT_EQ(list.size(), 1u);
}

TEST(HeaderListTest, FindAndCount) {
  HeaderList list;
  list.push(field("Host", "a"));
  list.push(field("X-Forwarded-For", "1.1.1.1"));
  list.push(field("Accept", "*/*"));
  list.push(field("x-forwarded-for", "2.2.2.2"));
  const HeaderList& view = list;

  ASSERT_NE(view.find(HeaderId::kXForwardedFor), nullptr);
  EXPECT_EQ(view.find(HeaderId::kXForwardedFor)->value, "1.1.1.1");
  EXPECT_EQ(view.count(HeaderId::kXForwardedFor), 2u);
  EXPECT_EQ(view.count(HeaderId::kHost), 1u);
  EXPECT_EQ(view.count(HeaderId::kContentLength), 0u);
  EXPECT_EQ(view.find(HeaderId::kContentLength), nullptr);

  ASSERT_NE(view.find("ACCEPT"), nullptr);
  EXPECT_EQ(view.find("ACCEPT")->value, "*/*");
  EXPECT_EQ(view.find("accep"), nullptr);
  EXPECT_EQ(view.find(""), nullptr);
  // kOther fields are found by name, never by id.
  EXPECT_EQ(view.find(HeaderId::kOther), &view[2]);
}

TEST(HeaderListTest, FieldsAreEditableInPlace) {
  HeaderList list;
  list.push(field("Connection", "close"));
  list.push(field("Host", "a"));
  for (Header& h : list) h.forward = h.id != HeaderId::kConnection;
  EXPECT_FALSE(list[0].forward);
  EXPECT_TRUE(list[1].forward);
}

}  // namespace
}  // namespace turnpike::http
