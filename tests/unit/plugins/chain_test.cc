// Plugin chains: the phase order of SPEC §3 whatever the order of the file, global entries
// replaced by a route's own, early answers ending the request phase, and plugin objects carried
// across a reload when their configuration is unchanged.
#include "plugins/chain.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"

namespace turnpike::plugins {
namespace {

config::Config load(const std::string& yaml) {
  config::PluginCatalog catalog;
  register_plugins(catalog);
  config::LoadOptions options;
  options.plugins = &catalog;
  config::LoadResult result = config::load_string(yaml, options);
  for (const auto& e : result.errors) ADD_FAILURE() << e.path << ": " << e.message;
  return *result.config;
}

const char* const kRoutes = R"(
plugins:
  headers: {response: {set: {X-Global: "1"}}}
  ip_restriction: {deny: [10.0.0.0/8]}
routes:
  - name: r
    path: /x
    upstream: builtin:echo
    plugins:
      request_size: {max_body_bytes: 100}
      cors: {origins: ["*"]}
      ip_restriction: {deny: [192.168.0.0/16]}
      access_log: {enabled: false}
)";

TEST(ChainTest, OrderIsTheSpecsNotTheFiles) {
  config::Config c = load(kRoutes);
  Chain chain = build_chain(c, c.routes[0], nullptr);
  std::vector<std::string_view> names = chain.names();
  EXPECT_EQ(names, (std::vector<std::string_view>{"ip_restriction", "cors", "request_size",
                                                 "headers", "access_log"}));
  EXPECT_EQ(chain.request.size(), 4u);   // ip_restriction, cors, request_size, headers
  EXPECT_EQ(chain.response.size(), 2u);  // cors, headers
  EXPECT_FALSE(chain.access_log);
}

TEST(ChainTest, RouteEntryReplacesTheGlobalOne) {
  config::Config c = load(kRoutes);
  Chain chain = build_chain(c, c.routes[0], nullptr);
  Context ctx;
  http::HeaderList headers;
  ctx.headers = &headers;
  ctx.method = "GET";
  ctx.client_ip = "10.1.1.1";  // denied only by the global entry, which the route replaced
  EXPECT_EQ(chain.run_request(ctx).kind, Verdict::Kind::kContinue);
  ctx.client_ip = "192.168.1.1";  // denied by the route's own entry
  Verdict v = chain.run_request(ctx);
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kForbidden);
}

// Records the phases it sees; answers or refuses when told to.
class Probe final : public Plugin {
 public:
  Probe(std::string name, std::vector<std::string>& log, Verdict verdict = Verdict::next())
      : name_(std::move(name)), log_(log), verdict_(verdict) {}
  Verdict on_request(Context&) const override {
    log_.push_back(name_ + ".request");
    return verdict_;
  }
  void on_response(Context& c) const override {
    log_.push_back(name_ + ".response " + std::to_string(c.status));
  }
  void on_log(const Context& c) const override {
    log_.push_back(name_ + ".log " + std::to_string(c.status));
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  Verdict verdict_;
};

TEST(ChainTest, AnAnswerEndsTheRequestPhase) {
  std::vector<std::string> log;
  Probe first("a", log), answering("b", log, Verdict::answer(204)), never("c", log);
  Chain chain;
  chain.request = {&first, &answering, &never};
  chain.response = {&first, &never};
  Context ctx;
  Verdict v = chain.run_request(ctx);
  EXPECT_EQ(v.kind, Verdict::Kind::kAnswer);
  EXPECT_EQ(v.status, 204);
  ctx.status = 204;
  chain.run_response(ctx);  // every response-phase plugin sees the answer
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "b.request", "a.response 204",
                                           "c.response 204"}));
}

TEST(ChainTest, ARefusalCarriesItsError) {
  std::vector<std::string> log;
  Probe refusing("a", log, Verdict::refuse(http::Error::kUnauthorized, "no key")), never("b", log);
  Chain chain;
  chain.request = {&refusing, &never};
  Context ctx;
  Verdict v = chain.run_request(ctx);
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kUnauthorized);
  EXPECT_EQ(v.message, "no key");
  EXPECT_EQ(log, (std::vector<std::string>{"a.request"}));
}

TEST(ChainTest, TheLogPhaseSeesEveryPluginOnce) {
  std::vector<std::string> log;
  auto a = std::make_shared<Probe>("a", log);
  auto b = std::make_shared<Probe>("b", log);
  Chain chain;
  chain.links = {{config::PluginEntry{}, a}, {config::PluginEntry{}, nullptr},  // access_log
                 {config::PluginEntry{}, b}};
  chain.request = {a.get(), b.get()};
  chain.response = {b.get(), a.get(), b.get()};  // a plugin may stand twice in a phase
  Context ctx;
  ctx.status = 499;
  chain.run_log(ctx);
  EXPECT_EQ(log, (std::vector<std::string>{"a.log 499", "b.log 499"}));
}

// Keeps a number from its request phase to its response phase in its slot.
class Counter final : public Plugin {
 public:
  explicit Counter(uint64_t add) : add_(add) {}
  Verdict on_request(Context& c) const override {
    c.slot(this) += add_;
    return Verdict::next();
  }
  void on_response(Context& c) const override { seen = c.slot(this); }
  mutable uint64_t seen = 0;

 private:
  uint64_t add_;
};

TEST(ContextTest, EachPluginHasItsOwnSlotPerExchange) {
  Counter one(1), two(2);
  Chain chain;
  chain.request = {&one, &two};
  chain.response = {&one, &two};
  Context first;
  EXPECT_EQ(first.slot(&one), 0u);  // zero until set
  chain.run_request(first);
  chain.run_request(first);  // the same exchange: the values add up
  chain.run_response(first);
  EXPECT_EQ(one.seen, 2u);
  EXPECT_EQ(two.seen, 4u);
  Context second;  // another exchange starts from zero
  chain.run_request(second);
  chain.run_response(second);
  EXPECT_EQ(one.seen, 1u);
  EXPECT_EQ(two.seen, 2u);
}

TEST(ChainTest, PluginsAreCarriedAcrossAReloadWhenTheirConfigIsEqual) {
  config::Config before = load(kRoutes);
  Chain old_chain = build_chain(before, before.routes[0], nullptr);
  // The same document loaded again (a reload): equal configs, the same objects.
  config::Config same = load(kRoutes);
  Chain carried = build_chain(same, same.routes[0], &old_chain);
  ASSERT_EQ(carried.links.size(), old_chain.links.size());
  for (std::size_t i = 0; i < carried.links.size(); ++i) {
    EXPECT_EQ(carried.links[i].plugin, old_chain.links[i].plugin) << carried.links[i].entry.name;
  }
  // One plugin changed: only that one is new.
  std::string changed_text = kRoutes;
  changed_text.replace(changed_text.find("max_body_bytes: 100"), 19, "max_body_bytes: 200");
  config::Config changed = load(changed_text);
  Chain rebuilt = build_chain(changed, changed.routes[0], &old_chain);
  for (std::size_t i = 0; i < rebuilt.links.size(); ++i) {
    const Link& link = rebuilt.links[i];
    if (link.entry.name == "request_size") {
      EXPECT_NE(link.plugin, old_chain.links[i].plugin);
    } else {
      EXPECT_EQ(link.plugin, old_chain.links[i].plugin) << link.entry.name;
    }
  }
}

TEST(HeaderEditsTest, SetRemoveAndAddCompose) {
  HeaderEdits edits;
  edits.set("X-A", "1");
  edits.add("X-B", "2");
  edits.set("x-a", "3");  // the later set of a name wins
  edits.add("X-C", "4");
  edits.remove("X-C");    // a later remove drops the original field and earlier lines alike
  std::vector<std::string> lines;
  edits.for_each_line([&](std::string_view n, std::string_view v) {
    lines.push_back(std::string(n) + ": " + std::string(v));
  });
  EXPECT_EQ(lines, (std::vector<std::string>{"X-B: 2", "x-a: 3"}));
  EXPECT_TRUE(edits.drops("X-A"));
  EXPECT_TRUE(edits.drops("x-c"));
  EXPECT_FALSE(edits.drops("X-B"));  // add keeps the original
}

TEST(HeaderEditsTest, DropsComparesTheWholeName) {
  // A plugin asking about its own name constant is answered without a byte compare; a shorter
  // view of the same bytes is another name.
  static constexpr std::string_view kName = "X-Limit-Total";
  HeaderEdits edits;
  edits.set(kName, "1");
  EXPECT_TRUE(edits.drops(kName));
  EXPECT_TRUE(edits.drops("x-limit-total"));
  EXPECT_FALSE(edits.drops(kName.substr(0, 7)));
}

TEST(ProtectedHeaderTest, FramingAddressingAndGatewayFields) {
  for (const char* name : {"Content-Length", "transfer-encoding", "Connection", "Host",
                           "X-Forwarded-For", "X-Request-Id", "traceparent", "Upgrade", "TE"}) {
    EXPECT_NE(protected_header(name), nullptr) << name;
  }
  for (const char* name : {"X-Env", "Server", "Cache-Control", "Access-Control-Allow-Origin"}) {
    EXPECT_EQ(protected_header(name), nullptr) << name;
  }
}

TEST(ArenaTest, CopiesOutliveTheirSource) {
  Arena arena;
  std::string big(2000, 'x');
  std::string_view small = arena.copy("hello");
  std::string_view large = arena.copy(big);
  big.assign(2000, 'y');
  EXPECT_EQ(small, "hello");
  EXPECT_EQ(large, std::string(2000, 'x'));
}

}  // namespace
}  // namespace turnpike::plugins
