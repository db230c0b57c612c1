// Upstream groups at run time: smooth weighted round robin per worker, target leases counted in
// the shared per-target state, retries that avoid tried targets, unusable targets passed over,
// and "no usable target" when none is left.
#include "upstream/group.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace turnpike::upstream {
namespace {

// A group of targets 127.0.0.1:<port> with the given weights, under a name unique to the test
// (target state is keyed by group name and address, and lives for the process).
std::shared_ptr<Group> make_group(const std::string& name, std::vector<uint32_t> weights) {
  config::Upstream spec;
  spec.name = name;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    spec.targets.push_back({{"127.0.0.1", static_cast<uint16_t>(9001 + i)}, weights[i]});
  }
  std::vector<config::ConfigError> errors;
  auto group = Group::build(spec, 2, errors, "upstreams." + name);
  EXPECT_TRUE(errors.empty());
  return group;
}

TEST(GroupTest, WeightsHoldPerWorker) {
  auto group = make_group("weights", {2, 1});
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) counts[group->pick(0)->address]++;
  EXPECT_EQ(counts["127.0.0.1:9001"], 20);
  EXPECT_EQ(counts["127.0.0.1:9002"], 10);
}

TEST(GroupTest, LeasesCountInFlightUntilReleased) {
  auto group = make_group("leases", {1});
  TargetState& state = *group->targets()[0].state;
  {
    Lease a = group->pick(0);
    Lease b = group->pick(1);  // another worker, the same shared state
    EXPECT_EQ(state.in_flight.load(), 2);
    Lease moved = std::move(a);
    EXPECT_EQ(state.in_flight.load(), 2);
    b.release();
    EXPECT_EQ(state.in_flight.load(), 1);
  }
  EXPECT_EQ(state.in_flight.load(), 0);
}

TEST(GroupTest, StateSurvivesARebuiltGroup) {
  auto first = make_group("rebuilt", {1, 1});
  Lease held = first->pick(0);
  auto second = make_group("rebuilt", {1, 1});  // a reload that changed the group
  EXPECT_EQ(first->targets()[0].state, second->targets()[0].state);
  EXPECT_EQ(held->state->in_flight.load(), 1);
}

TEST(GroupTest, RetryAvoidsTriedTargets) {
  auto group = make_group("retry", {5, 1, 1});
  for (int round = 0; round < 20; ++round) {
    Tried tried;
    Lease first = group->pick(0, tried);
    tried.add(group->index_of(*first));
    Lease second = group->pick(0, tried);
    tried.add(group->index_of(*second));
    Lease third = group->pick(0, tried);
    EXPECT_NE(first.get(), second.get());
    EXPECT_NE(third.get(), first.get());
    EXPECT_NE(third.get(), second.get());
  }
}

TEST(GroupTest, AllTriedFallsBackToATriedOne) {
  auto group = make_group("all-tried", {1, 1});
  Tried tried;
  tried.add(0);
  tried.add(1);
  EXPECT_TRUE(group->pick(0, tried));
}

TEST(GroupTest, UnusableTargetsArePassedOver) {
  auto group = make_group("unusable", {1, 1, 1});
  group->targets()[0].state->healthy = false;
  group->targets()[2].state->circuit = static_cast<uint8_t>(Circuit::kOpen);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(group->pick(0)->address, "127.0.0.1:9002");
  group->targets()[1].state->circuit = static_cast<uint8_t>(Circuit::kHalfOpen);
  EXPECT_EQ(group->pick(0)->address, "127.0.0.1:9002");  // half-open lets requests through
}

TEST(GroupTest, NoUsableTargetIsNoLease) {
  auto group = make_group("none", {1, 1});
  for (const Target& t : group->targets()) t.state->healthy = false;
  EXPECT_FALSE(group->pick(0));
  group->targets()[1].state->healthy = true;
  EXPECT_EQ(group->pick(0)->address, "127.0.0.1:9002");
}

TEST(LeaseTest, OutcomesCountConsecutiveFailures) {
  auto group = make_group("outcomes", {1});
  TargetState& state = *group->targets()[0].state;
  Lease lease = group->pick(0);
  lease.failed();
  lease.failed();
  EXPECT_EQ(state.consecutive_failures.load(), 2u);
  lease.succeeded();
  EXPECT_EQ(state.consecutive_failures.load(), 0u);
}

}  // namespace
}  // namespace turnpike::upstream
