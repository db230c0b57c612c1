// url_decode: escapes in either case, '+' as a space, and a '%' that starts no escape kept.
#include "text/url.h"

#include <gtest/gtest.h>

namespace turnpike::text {
namespace {

TEST(UrlDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(url_decode("a%2Fb%3d%20c+d"), "a/b= c d");
  EXPECT_EQ(url_decode("100%25"), "100%");
  EXPECT_EQ(url_decode("%00x"), std::string("\0x", 2));
  EXPECT_EQ(url_decode(""), "");
}

TEST(UrlDecode, KeepsAPercentThatStartsNoEscape) {
  EXPECT_EQ(url_decode("50%"), "50%");
  EXPECT_EQ(url_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(url_decode("%4g"), "%4g");
}

}  // namespace
}  // namespace turnpike::text
