// Timers and Deadline with a hand-driven clock: arming, re-arming, FIFO per duration, firing only
// what is due, the wait until the next deadline, callbacks that change other deadlines, and
// deadlines destroyed while armed.
#include "net/timers.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

namespace turnpike::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::microseconds;

// An object whose waits a deadline bounds; firing appends its id to a shared log.
struct Waiter {
  Waiter(std::vector<int>& log, int id) : log(log), id(id) {}
  static void fire(void* self) {
    auto* w = static_cast<Waiter*>(self);
    w->log.push_back(w->id);
    if (w->then) w->then();
  }
  std::vector<int>& log;
  int id;
  std::function<void()> then;  // runs inside the expiry callback
  Deadline deadline{this, &fire};
};

class TimersTest : public testing::Test {
 protected:
  TimersTest() { timers.set_now(t0); }
  Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  Timers timers;
  std::vector<int> log;
};

TEST_F(TimersTest, ArmAndDisarm) {
  Waiter a(log, 1);
  EXPECT_FALSE(a.deadline.armed());
  EXPECT_EQ(timers.armed_count(), 0u);
  timers.arm(a.deadline, milliseconds(10));
  EXPECT_TRUE(a.deadline.armed());
  EXPECT_EQ(timers.armed_count(), 1u);
  timers.disarm(a.deadline);
  EXPECT_FALSE(a.deadline.armed());
  EXPECT_EQ(timers.armed_count(), 0u);
  timers.disarm(a.deadline);  // twice: no effect
  EXPECT_EQ(timers.armed_count(), 0u);
  timers.expire(t0 + milliseconds(100));
  EXPECT_TRUE(log.empty());
  EXPECT_FALSE(a.deadline.expired());
}

TEST_F(TimersTest, DisarmNeverArmedIsHarmless) {
  Waiter a(log, 1);
  timers.disarm(a.deadline);
  EXPECT_EQ(timers.armed_count(), 0u);
}

TEST_F(TimersTest, FiresOnlyDueOnesInArmingOrder) {
  Waiter a(log, 1), b(log, 2), c(log, 3), d(log, 4);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(20));
  timers.arm(c.deadline, milliseconds(10));
  timers.arm(d.deadline, milliseconds(10));

  timers.expire(t0 + milliseconds(9));
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(timers.armed_count(), 4u);

  timers.expire(t0 + milliseconds(10));  // due exactly at its time
  EXPECT_EQ(log, (std::vector<int>{1, 3, 4}));
  EXPECT_TRUE(a.deadline.expired());
  EXPECT_FALSE(a.deadline.armed());
  EXPECT_FALSE(b.deadline.expired());
  EXPECT_TRUE(b.deadline.armed());
  EXPECT_EQ(timers.armed_count(), 1u);

  timers.expire(t0 + milliseconds(19));
  EXPECT_EQ(log.size(), 3u);
  timers.expire(t0 + milliseconds(25));
  EXPECT_EQ(log, (std::vector<int>{1, 3, 4, 2}));
  EXPECT_EQ(timers.armed_count(), 0u);

  // Nothing fires twice.
  timers.expire(t0 + milliseconds(1000));
  EXPECT_EQ(log.size(), 4u);
}

// Same duration, armed at different times: FIFO, and each one fires at its own time.
TEST_F(TimersTest, SameDurationArmedLaterFiresLater) {
  Waiter a(log, 1), b(log, 2);
  timers.arm(a.deadline, milliseconds(10));
  timers.set_now(t0 + milliseconds(5));
  timers.arm(b.deadline, milliseconds(10));
  timers.expire(t0 + milliseconds(12));
  EXPECT_EQ(log, std::vector<int>{1});
  timers.expire(t0 + milliseconds(15));
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
}

TEST_F(TimersTest, ReArmMovesTheDeadline) {
  Waiter a(log, 1), b(log, 2);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(10));
  timers.set_now(t0 + milliseconds(5));
  timers.arm(a.deadline, milliseconds(10));  // now due at t0+15, behind b
  EXPECT_EQ(timers.armed_count(), 2u);
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, std::vector<int>{2});
  timers.expire(t0 + milliseconds(15));
  EXPECT_EQ(log, (std::vector<int>{2, 1}));
}

TEST_F(TimersTest, ReArmWithAnotherDuration) {
  Waiter a(log, 1);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(a.deadline, milliseconds(50));
  EXPECT_EQ(timers.armed_count(), 1u);
  timers.expire(t0 + milliseconds(10));
  EXPECT_TRUE(log.empty());
  timers.expire(t0 + milliseconds(50));
  EXPECT_EQ(log, std::vector<int>{1});
}

TEST_F(TimersTest, DisarmFromTheMiddleOfAList) {
  Waiter a(log, 1), b(log, 2), c(log, 3);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(10));
  timers.arm(c.deadline, milliseconds(10));
  timers.disarm(b.deadline);
  timers.disarm(c.deadline);  // the tail, then re-arm at the tail
  timers.arm(c.deadline, milliseconds(10));
  timers.disarm(a.deadline);  // the head
  timers.arm(a.deadline, milliseconds(10));
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, (std::vector<int>{3, 1}));
  EXPECT_EQ(timers.armed_count(), 0u);
}

TEST_F(TimersTest, ExpiredFlagUntilArmedAgain) {
  Waiter a(log, 1);
  timers.arm(a.deadline, milliseconds(1));
  timers.expire(t0 + milliseconds(1));
  EXPECT_TRUE(a.deadline.expired());
  a.deadline.clear_expired();
  EXPECT_FALSE(a.deadline.expired());
  timers.expire(t0 + milliseconds(1));
  timers.arm(a.deadline, milliseconds(1));
  EXPECT_FALSE(a.deadline.expired());
  timers.set_now(t0 + milliseconds(1));
  timers.expire(t0 + milliseconds(2));
  EXPECT_TRUE(a.deadline.expired());
  timers.arm(a.deadline, milliseconds(1));
  EXPECT_FALSE(a.deadline.expired());
}

TEST_F(TimersTest, MillisecondsToNext) {
  EXPECT_EQ(timers.milliseconds_to_next(-1), -1);
  EXPECT_EQ(timers.milliseconds_to_next(1234), 1234);
  Waiter a(log, 1), b(log, 2);
  timers.arm(a.deadline, milliseconds(30));
  timers.arm(b.deadline, milliseconds(10));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 10);  // the earliest head over all lists
  timers.set_now(t0 + microseconds(9500));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 1);  // rounded up, never a busy 0
  timers.set_now(t0 + microseconds(9001));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 1);
  timers.set_now(t0 + milliseconds(10));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 0);
  timers.set_now(t0 + milliseconds(11));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 0);
  timers.expire(t0 + milliseconds(11));
  EXPECT_EQ(timers.milliseconds_to_next(-1), 19);
  timers.disarm(a.deadline);
  EXPECT_EQ(timers.milliseconds_to_next(-1), -1);
}

TEST_F(TimersTest, MillisecondsToNextClampsToInt) {
  Waiter a(log, 1);
  timers.arm(a.deadline, std::chrono::duration_cast<Duration>(std::chrono::hours(24 * 365)));
  EXPECT_EQ(timers.milliseconds_to_next(-1), INT_MAX);
}

TEST_F(TimersTest, CallbackDisarmsAnotherDueDeadline) {
  Waiter a(log, 1), b(log, 2), c(log, 3);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(10));
  timers.arm(c.deadline, milliseconds(5));
  a.then = [&] {
    timers.disarm(b.deadline);
    timers.disarm(c.deadline);
  };
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, std::vector<int>{1});
  EXPECT_FALSE(b.deadline.expired());
  EXPECT_EQ(timers.armed_count(), 0u);
}

TEST_F(TimersTest, CallbackArmsAnotherWithAKnownDuration) {
  Waiter a(log, 1), b(log, 2), c(log, 3);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(20));
  timers.set_now(t0 + milliseconds(10));
  a.then = [&] { timers.arm(c.deadline, milliseconds(20)); };  // due at t0+30
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, std::vector<int>{1});
  EXPECT_TRUE(c.deadline.armed());
  timers.expire(t0 + milliseconds(20));
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  timers.expire(t0 + milliseconds(30));
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
}

TEST_F(TimersTest, CallbackReArmsItsOwnDeadline) {
  Waiter a(log, 1);
  a.then = [&] { timers.arm(a.deadline, milliseconds(10)); };
  timers.arm(a.deadline, milliseconds(10));
  for (int i = 1; i <= 3; ++i) {
    timers.set_now(t0 + milliseconds(10 * i));
    timers.expire(t0 + milliseconds(10 * i));
  }
  EXPECT_EQ(log, (std::vector<int>{1, 1, 1}));
  EXPECT_TRUE(a.deadline.armed());
}

// Deletes itself when its deadline fires (a connection closed by its idle timeout).
struct SelfDeleting {
  explicit SelfDeleting(std::vector<int>& log) : log(log) {}
  static void fire(void* self) {
    auto* s = static_cast<SelfDeleting*>(self);
    s->log.push_back(9);
    delete s;
  }
  std::vector<int>& log;
  Deadline deadline{this, &fire};
};

TEST_F(TimersTest, CallbackDestroysItsOwner) {
  auto* a = new SelfDeleting(log);
  Waiter b(log, 2);
  timers.arm(a->deadline, milliseconds(10));
  timers.arm(b.deadline, milliseconds(10));
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, (std::vector<int>{9, 2}));
  EXPECT_EQ(timers.armed_count(), 0u);
}

TEST_F(TimersTest, CallbackDestroysAnotherArmedOwner) {
  Waiter a(log, 1);
  auto b = std::make_unique<Waiter>(log, 2);
  Waiter c(log, 3);
  timers.arm(a.deadline, milliseconds(10));
  timers.arm(b->deadline, milliseconds(10));
  timers.arm(c.deadline, milliseconds(10));
  a.then = [&] { b.reset(); };
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, (std::vector<int>{1, 3}));
  EXPECT_EQ(timers.armed_count(), 0u);
}

// Exits 0 when a deadline's callback arms deadlines of durations not seen before, and all of them
// fire later; exits 3 when they do not.
[[noreturn]] void arm_new_durations_in_a_callback() {
  Timers timers;
  Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);
  timers.set_now(t0);
  std::vector<int> log;
  Waiter a(log, 1);
  std::vector<std::unique_ptr<Waiter>> more;
  a.then = [&] {
    // Several new durations, so that the vector of lists grows whatever its capacity.
    for (int i = 0; i < 8; ++i) {
      more.push_back(std::make_unique<Waiter>(log, 10 + i));
      timers.arm(more.back()->deadline, milliseconds(100 + i));
    }
  };
  timers.arm(a.deadline, milliseconds(10));
  timers.expire(t0 + milliseconds(10));
  timers.expire(t0 + milliseconds(200));
  bool ok = log.size() == 9 && log[0] == 1 && timers.armed_count() == 0;
  std::exit(ok ? 0 : 3);
}

// The contract says a callback may arm other deadlines; the first deadline of a new duration adds
// a list while expire() walks the lists. Run in a child process, so that a crash (under ASan:
// heap-use-after-free in Timers::expire) fails this test only.
TEST(TimersIsolatedTest, CallbackArmsADeadlineOfANewDuration) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(arm_new_durations_in_a_callback(), testing::ExitedWithCode(0), "");
}

TEST_F(TimersTest, DestroyingAnArmedDeadlineDisarmsIt) {
  Waiter a(log, 1), c(log, 3);
  timers.arm(a.deadline, milliseconds(10));
  {
    Waiter b(log, 2);
    timers.arm(b.deadline, milliseconds(10));
    timers.arm(c.deadline, milliseconds(10));
    EXPECT_EQ(timers.armed_count(), 3u);
  }
  EXPECT_EQ(timers.armed_count(), 2u);
  timers.expire(t0 + milliseconds(10));
  EXPECT_EQ(log, (std::vector<int>{1, 3}));
}

TEST_F(TimersTest, ScopedDeadline) {
  Waiter a(log, 1);
  {
    ScopedDeadline scoped(timers, a.deadline, milliseconds(10));
    EXPECT_TRUE(a.deadline.armed());
  }
  EXPECT_FALSE(a.deadline.armed());
  EXPECT_EQ(timers.armed_count(), 0u);
  {
    // Expired inside the scope: leaving it is harmless.
    ScopedDeadline scoped(timers, a.deadline, milliseconds(10));
    timers.expire(t0 + milliseconds(10));
    EXPECT_TRUE(a.deadline.expired());
  }
  EXPECT_EQ(timers.armed_count(), 0u);
  EXPECT_EQ(log, std::vector<int>{1});
}

TEST_F(TimersTest, ManyDeadlines) {
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < 1000; ++i) {
    waiters.push_back(std::make_unique<Waiter>(log, i));
    timers.set_now(t0 + milliseconds(i));
    timers.arm(waiters.back()->deadline, milliseconds(1000 + (i % 3)));
  }
  EXPECT_EQ(timers.armed_count(), 1000u);
  timers.expire(t0 + milliseconds(1499));
  // Due: i + 1000 + i%3 <= 1499.
  std::size_t due = 0;
  for (int i = 0; i < 1000; ++i) due += i + 1000 + (i % 3) <= 1499;
  EXPECT_EQ(log.size(), due);
  timers.expire(t0 + milliseconds(5000));
  EXPECT_EQ(log.size(), 1000u);
  EXPECT_EQ(timers.armed_count(), 0u);
}

}  // namespace
}  // namespace turnpike::net
