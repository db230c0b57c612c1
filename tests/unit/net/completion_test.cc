// Waiting on anything: a Completion delivered from another coroutine or (through post) another
// thread, and the same wait ended by a deadline or by the exchange's cancellation, as a plugin
// waiting for Redis or for keys would be. Frames are checked to be freed (ASan in the debug
// preset finds a leak).
#include "net/completion.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

#include "net/cancel.h"
#include "net/task.h"
#include "net_test_util.h"

namespace turnpike::net {
namespace {

using std::chrono::milliseconds;
using testing_util::run_loop;

// The shape of an exchange: a cancellation, and a deadline that interrupts the current wait.
struct FakeExchange {
  Cancellation cancel;
  Deadline deadline{this, [](void* self) { static_cast<FakeExchange*>(self)->cancel.interrupt(); }};
};

// A plugin-like wait: registers with the exchange's cancellation for as long as it waits.
Task<void> wait_for(Completion<int>& c, FakeExchange& x, std::optional<int>& out, Loop& loop) {
  {
    Watch watch(x.cancel, c);
    out = co_await c.wait();
  }
  loop.stop();
}

TEST(CompletionTest, DeliveredFromAnotherCoroutine) {
  Loop loop;
  Completion<int> c(loop);
  FakeExchange x;
  std::optional<int> got;
  spawn(wait_for(c, x, got, loop));
  EXPECT_FALSE(got);
  loop.post([&] { c.complete(42); });
  run_loop(loop);
  EXPECT_EQ(got, 42);
}

TEST(CompletionTest, DeliveredFromAnotherThread) {
  Loop loop;
  auto c = std::make_shared<Completion<int>>(loop);  // shared: the poster may outlive the waiter
  FakeExchange x;
  std::optional<int> got;
  spawn(wait_for(*c, x, got, loop));
  std::thread control([&loop, c] { loop.post([c] { c->complete(7); }); });
  run_loop(loop);
  control.join();
  EXPECT_EQ(got, 7);
}

TEST(CompletionTest, EndedByItsDeadline) {
  Loop loop;
  Completion<int> c(loop);
  FakeExchange x;
  std::optional<int> got = -1;
  loop.timers().arm(x.deadline, milliseconds(20));
  spawn(wait_for(c, x, got, loop));
  run_loop(loop);
  EXPECT_FALSE(got);       // no result: the deadline ended the wait
  EXPECT_TRUE(x.deadline.expired());
  c.complete(1);           // a late result is dropped
  EXPECT_TRUE(c.done());
}

TEST(CompletionTest, EndedWhenTheClientLeaves) {
  Loop loop;
  Completion<int> c(loop);
  FakeExchange x;
  std::optional<int> got = -1;
  spawn(wait_for(c, x, got, loop));
  loop.post([&] { x.cancel.cancel(); });  // what a client hang-up does
  run_loop(loop);
  EXPECT_FALSE(got);
  EXPECT_TRUE(x.cancel.cancelled());
}

TEST(CompletionTest, AWaitAfterCancellationEndsAtOnce) {
  Loop loop;
  Completion<int> c(loop);
  FakeExchange x;
  x.cancel.cancel();  // the exchange is over before the wait starts
  std::optional<int> got = -1;
  spawn(wait_for(c, x, got, loop));
  run_loop(loop);
  EXPECT_FALSE(got);
}

TEST(CancellationTest, InterruptReachesOnlyTheCurrentWait) {
  struct Probe {
    int aborts = 0;
    void abort() { ++aborts; }
  } first, second;
  Cancellation c;
  c.watch(first);
  c.interrupt();
  c.clear();
  c.interrupt();  // nothing is watched: nothing happens
  c.watch(second);
  c.cancel();
  c.clear();
  Probe third;
  c.watch(third);  // after cancel(), every new wait is interrupted at once
  EXPECT_EQ(first.aborts, 1);
  EXPECT_EQ(second.aborts, 1);
  EXPECT_EQ(third.aborts, 1);
}

}  // namespace
}  // namespace turnpike::net
