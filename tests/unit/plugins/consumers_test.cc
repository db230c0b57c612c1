// Consumers: every key finds its consumer; a key that differs in any way (a byte, a prefix, an
// extension, the empty string) finds none.
#include "plugins/consumers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace turnpike::plugins {
namespace {

const std::vector<config::Consumer> kConsumers = {
    {"mobile-app", {"k-mobile-1", "k-mobile-2"}, {"premium"}},
    {"partner", {"k-partner"}, {}},
    {"jwt-only", {}, {"internal"}},
};

TEST(Consumers, EveryKeyFindsItsConsumer) {
  Consumers consumers(kConsumers);
  EXPECT_EQ(consumers.by_key("k-mobile-1"), &kConsumers[0]);
  EXPECT_EQ(consumers.by_key("k-mobile-2"), &kConsumers[0]);
  EXPECT_EQ(consumers.by_key("k-partner"), &kConsumers[1]);
}

TEST(Consumers, ANearMissFindsNone) {
  Consumers consumers(kConsumers);
  for (const char* key : {"k-mobile-3", "K-MOBILE-1", "k-mobile-", "k-mobile-1 ", "k-partnerX", "",
                          "mobile-app", "premium"}) {
    EXPECT_EQ(consumers.by_key(key), nullptr) << key;
  }
}

TEST(Consumers, ManyKeysEachFound) {
  std::vector<config::Consumer> many;
  for (int i = 0; i < 2000; ++i) {
    many.push_back({"c" + std::to_string(i), {"key-" + std::to_string(i)}, {}});
  }
  Consumers consumers(many);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(consumers.by_key("key-" + std::to_string(i)), &many[i]) << i;
  }
  EXPECT_EQ(consumers.by_key("key-2000"), nullptr);
}

TEST(Consumers, NoConsumersFindNone) {
  EXPECT_EQ(Consumers().by_key("anything"), nullptr);
  EXPECT_EQ(Consumers(std::vector<config::Consumer>{}).by_key(""), nullptr);
}

}  // namespace
}  // namespace turnpike::plugins
