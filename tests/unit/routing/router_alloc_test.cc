// The lookup allocates nothing on success or 404 (SPEC §2.1, ARCHITECTURE "no allocation on the
// steady-state request path"): counted by replacing the global operator new in this binary.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "route_builder.h"
#include "routing/path.h"
#include "routing/router.h"

namespace {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace turnpike::routing {
namespace {

using testing_support::R;

class NoHeaders : public HeaderSource {
 public:
  std::optional<std::string_view> get(std::string_view) const override { return std::nullopt; }
};

class AllocationTest : public testing::Test {
 protected:
  void SetUp() override {
    std::vector<config::ConfigError> errors;
    router_ = Router::build(
        {
            R("exact").hosts({"api.example.com"}).paths({"/api/v1/users/{id}"}),
            R("wild").hosts({"*.example.com"}).paths({"/api/**"}).strip_prefix(true),
            R("any").methods({"GET"}).paths({"/static/*/x"}).headers({{"x-a", "1"}}),
            R("rest").paths({"/files/**"}).strip_prefix(true),
            R("regex").regex("^/v2/(users|orders)/[0-9]+$"),
            R("regex2").regex("^/v3/"),
        },
        errors);
    ASSERT_TRUE(router_);
  }

  // Allocations made by one lookup, after a warm-up (RE2 builds its DFA states lazily).
  size_t allocations_of(const RouteRequest& request, uint16_t want_status) {
    EXPECT_EQ(router_->match(request).status, want_status) << request.path;
    allocations = 0;
    counting = true;
    const RouteMatch match = router_->match(request);
    counting = false;
    EXPECT_EQ(match.status, want_status) << request.path;
    return allocations;
  }

  std::unique_ptr<Router> router_;
  NoHeaders headers_;
};

TEST_F(AllocationTest, NoneOnSuccess) {
  EXPECT_EQ(allocations_of({"GET", "API.example.com:443", "/api/v1/users/5", &headers_}, 200), 0u);
  EXPECT_EQ(allocations_of({"GET", "a.b.example.com", "/api/v1/x", &headers_}, 200), 0u);
  EXPECT_EQ(allocations_of({"GET", "other", "/files/a/b/c", &headers_}, 200), 0u);
}

TEST_F(AllocationTest, NoneOn404) {
  EXPECT_EQ(allocations_of({"GET", "api.example.com", "/nothing/here", &headers_}, 404), 0u);
  EXPECT_EQ(allocations_of({"GET", "x", "/static/a/x", &headers_}, 404), 0u);    // header fails
  EXPECT_EQ(allocations_of({"GET", "x", "/v2/users/abc", &headers_}, 404), 0u);  // regex miss
}

// RE2::Set::Match allocates its match set (a SparseSet sized to the number of regexes: 3
// allocations in RE2 2022-06) whenever it is asked which regexes matched. The router asks only
// after a cheap "did any match" pass, so this is confined to requests a regex route may serve.
TEST_F(AllocationTest, RegexHitOnlyInsideRe2) {
  EXPECT_LE(allocations_of({"GET", "x", "/v2/orders/12", &headers_}, 200), 3u);
}

TEST(RegexAllocation, NoneWithASingleRegexRoute) {
  std::vector<config::ConfigError> errors;
  const auto router = Router::build({R("regex").regex("^/v2/(users|orders)/[0-9]+$")}, errors);
  ASSERT_TRUE(router);
  const NoHeaders headers;
  const RouteRequest request{"GET", "x", "/v2/orders/12", &headers};
  ASSERT_EQ(router->match(request).status, 200);
  allocations = 0;
  counting = true;
  const RouteMatch match = router->match(request);
  counting = false;
  EXPECT_EQ(match.status, 200);
  EXPECT_EQ(allocations, 0u);
}

TEST(PathAllocation, NoneWhenTheCapacitySuffices) {
  std::string out;
  out.reserve(256);
  allocations = 0;
  counting = true;
  const PathStatus status = normalize_path("/a/./b/%7euser//x/../y/%3a", out);
  counting = false;
  EXPECT_EQ(status, PathStatus::kOk);
  EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace turnpike::routing
