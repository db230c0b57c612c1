// The Loop's own services and the Task type: post() from other threads, stop(), sleep(), values
// passed through awaited tasks, and spawned tasks freeing their frames when they finish.
#include "net/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/task.h"
#include "net_test_util.h"

namespace turnpike::net {
namespace {

using std::chrono::milliseconds;
using testing_util::run_loop;

TEST(LoopTest, StopBeforeRunReturnsAtOnce) {
  Loop loop;
  loop.stop();
  loop.run();  // returns: nothing to wait for
  SUCCEED();
}

TEST(LoopTest, PostBeforeRunRunsOnceRunning) {
  Loop loop;
  int ran = 0;
  loop.post([&] {
    ++ran;
    loop.stop();
  });
  EXPECT_EQ(ran, 0);
  run_loop(loop);
  EXPECT_EQ(ran, 1);
}

TEST(LoopTest, PostFromOtherThreads) {
  Loop loop;
  constexpr int kPerThread = 2000;
  constexpr int kThreads = 2;
  const std::thread::id loop_thread = std::this_thread::get_id();
  int ran = 0;                      // touched on the loop's thread only
  bool all_on_loop_thread = true;
  std::vector<std::vector<int>> order(kThreads);  // per-thread order as run
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        loop.post([&, t, i] {
          all_on_loop_thread = all_on_loop_thread && std::this_thread::get_id() == loop_thread;
          order[t].push_back(i);
          if (++ran == kThreads * kPerThread) loop.stop();
        });
      }
    });
  }
  go = true;
  run_loop(loop, std::chrono::seconds(5));
  for (auto& th : threads) th.join();
  EXPECT_EQ(ran, kThreads * kPerThread);
  EXPECT_TRUE(all_on_loop_thread);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(order[t].size(), static_cast<std::size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(order[t][i], i) << "thread " << t;
  }
}

TEST(LoopTest, StopFromAnotherThread) {
  Loop loop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(10));
    loop.stop();
  });
  run_loop(loop);
  stopper.join();
}

TEST(LoopTest, PostFromAPostedFunction) {
  Loop loop;
  int depth = 0;
  std::function<void()> step = [&] {
    if (++depth == 100) {
      loop.stop();
    } else {
      loop.post(step);
    }
  };
  loop.post(step);
  run_loop(loop);
  EXPECT_EQ(depth, 100);
}

// ---------------------------------------------------------------------------------------------
// Tasks.

Task<void> sleeper(Loop& loop, Duration d, Clock::time_point& woke) {
  co_await sleep(loop, d);
  woke = Clock::now();
  loop.stop();
}

TEST(TaskTest, SleepResumesAfterItsDuration) {
  // Before the loop: a sleep counts from the loop's notion of now, read when it was made.
  Clock::time_point start = Clock::now();
  Loop loop;
  Clock::time_point woke{};
  spawn(sleeper(loop, milliseconds(20), woke));
  EXPECT_EQ(woke, Clock::time_point{});
  run_loop(loop);
  EXPECT_GE(woke - start, milliseconds(20));
}

TEST(TaskTest, SleepOfZeroDoesNotSuspend) {
  Loop loop;
  Clock::time_point woke{};
  spawn(sleeper(loop, milliseconds(0), woke));
  EXPECT_NE(woke, Clock::time_point{});
}

Task<int> add(int a, int b) { co_return a + b; }

Task<std::unique_ptr<std::string>> make_text(std::string s) {
  co_return std::make_unique<std::string>(std::move(s));
}

Task<int> sum_to(int n) {
  int total = 0;
  for (int i = 1; i <= n; ++i) total = co_await add(total, i);
  co_return total;
}

Task<void> compute(int& out, std::string& text) {
  out = co_await sum_to(1000);
  std::unique_ptr<std::string> p = co_await make_text("move-only");
  text = *p;
}

TEST(TaskTest, ValuesThroughNestedAwaits) {
  int out = 0;
  std::string text;
  spawn(compute(out, text));  // nothing suspends: runs to the end inside spawn
  EXPECT_EQ(out, 500500);
  EXPECT_EQ(text, "move-only");
}

// A spawned task owns its frame: finishing destroys it and what it holds.
Task<void> hold(std::shared_ptr<int> held) {
  (void)held;
  co_return;
}

Task<void> hold_across_sleep(Loop& loop, std::shared_ptr<int> held) {
  co_await sleep(loop, milliseconds(1));
  (void)held;
  loop.stop();
}

TEST(TaskTest, SpawnedTaskFreesItselfWhenItFinishes) {
  auto token = std::make_shared<int>(7);
  spawn(hold(token));
  EXPECT_EQ(token.use_count(), 1);

  Loop loop;
  spawn(hold_across_sleep(loop, token));
  EXPECT_EQ(token.use_count(), 2);  // suspended: the frame still holds its copy
  run_loop(loop);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(TaskTest, ManySpawnedTasksReuseFrames) {
  auto token = std::make_shared<int>(0);
  for (int i = 0; i < 10000; ++i) spawn(hold(token));
  EXPECT_EQ(token.use_count(), 1);
}

// A task that is never awaited or spawned is destroyed with its handle, without running.
TEST(TaskTest, UnstartedTaskIsDestroyed) {
  auto token = std::make_shared<int>(0);
  {
    Task<void> t = hold(token);
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(TaskTest, FrameAllocatorRoundTrips) {
  // Sizes within and beyond the recycled classes; ASan checks each block's extent.
  for (std::size_t size : {1u, 64u, 65u, 1000u, 24u * 1024u, 24u * 1024u + 1u, 100000u}) {
    void* a = allocate_frame(size);
    std::memset(a, 0xab, size);
    free_frame(a, size);
    void* b = allocate_frame(size);
    std::memset(b, 0xcd, size);
    free_frame(b, size);
  }
}

}  // namespace
}  // namespace turnpike::net
