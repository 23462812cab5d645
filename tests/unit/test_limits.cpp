// Process-wide limits per source host (core/net/limits): token bucket arithmetic on a fake clock,
// RateLimitedTransport over the memory pipe, the connection cap with threads, and the engine
// honouring MigrationOptions::maxBytesPerSecond / maxConnectionsPerHost.

#include "net/limits.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/migrator.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"
#include "net/memory_transport.h"

namespace migrate {
namespace {

using net::Clock;

// Time moves only when someone sleeps; every requested sleep is recorded.
class FakeClock final : public Clock {
 public:
  TimePoint now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return t_;
  }
  void sleepFor(Duration d) override {
    std::lock_guard<std::mutex> lock(mu_);
    t_ += d;
    slept_ += d;
    sleeps_++;
  }
  void advance(Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    t_ += d;
  }
  double sleptSeconds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::chrono::duration<double>(slept_).count();
  }
  int sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  TimePoint t_{};
  Duration slept_{};
  int sleeps_ = 0;
};

constexpr uint64_t kMB = 1000 * 1000;

TEST(TokenBucket, StartsFullAndRefillsAtTheRateUpToTheBurst) {
  FakeClock clock;
  net::TokenBucket b(1000, 0, clock);
  EXPECT_EQ(b.burst(), 1000u) << "burst: one second of the rate";
  EXPECT_EQ(b.chunkLimit(), 20u) << "rate/50";
  EXPECT_EQ(b.reserve(5000), 1000u) << "a full bucket grants its burst without sleeping";
  EXPECT_EQ(clock.sleeps(), 0);
  b.debit(1000);
  EXPECT_DOUBLE_EQ(b.available(), 0.0);
  clock.advance(std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(b.available(), 250.0);
  clock.advance(std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(b.available(), 1000.0) << "never more than the burst";
  EXPECT_EQ(b.reserve(0), 0u);
}

TEST(TokenBucket, EmptyBucketSleepsForTheMissingChunkOnly) {
  FakeClock clock;
  net::TokenBucket b(1000, 0, clock);
  b.debit(1000);
  // Wants 500 bytes, but only waits for one chunk (20 bytes = 20 ms at 1000 B/s).
  EXPECT_EQ(b.reserve(500), 20u);
  EXPECT_EQ(clock.sleeps(), 1);
  EXPECT_NEAR(clock.sleptSeconds(), 0.020, 1e-6);
  // A small want waits only for itself.
  b.debit(20);
  EXPECT_EQ(b.reserve(5), 5u);
  EXPECT_NEAR(clock.sleptSeconds(), 0.025, 1e-6);
}

TEST(TokenBucket, DebtIsPaidBeforeTheNextGrant) {
  FakeClock clock;
  net::TokenBucket b(1000, 0, clock);
  b.debit(3000);  // e.g. two threads used the same grant: 2000 bytes of debt
  EXPECT_DOUBLE_EQ(b.available(), -2000.0);
  EXPECT_EQ(b.reserve(20), 20u);
  EXPECT_NEAR(clock.sleptSeconds(), 2.020, 1e-6);
}

TEST(TokenBucket, ExplicitBurstAndTinyRates) {
  FakeClock clock;
  net::TokenBucket small(10, 0, clock);
  EXPECT_EQ(small.chunkLimit(), 1u) << "never less than one byte";
  net::TokenBucket fast(100 * kMB, 0, clock);
  EXPECT_EQ(fast.chunkLimit(), 64u * 1024) << "at most 64 KiB";
  net::TokenBucket capped(1000, 10, clock);
  EXPECT_EQ(capped.burst(), 10u);
  EXPECT_EQ(capped.chunkLimit(), 10u) << "never more than the burst";
}

// Pushes `total` bytes from the server end and reads them through `client`.
uint64_t pump(net::Transport& client, net::MemoryTransport& server, uint64_t total) {
  std::string block(256 * 1024, 'x');
  uint64_t sent = 0;
  uint64_t got = 0;
  std::vector<char> buf(128 * 1024);
  while (got < total) {
    if (sent < total && sent - got < block.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), total - sent));
      EXPECT_TRUE(server.writeAll(block.data(), n).isOk());
      sent += n;
    }
    Result<size_t> r = client.readSome(buf.data(), buf.size());
    if (!r.isOk()) {
      ADD_FAILURE() << r.status().describe();
      break;
    }
    got += r.value();
  }
  return got;
}

TEST(RateLimitedTransport, TenMegabytesAtOneMegabytePerSecondSleepNineToTenSeconds) {
  FakeClock clock;
  auto bucket = std::make_shared<net::TokenBucket>(kMB, 0, clock);
  net::MemoryPipe pipe = net::makeMemoryPipe();
  net::MemoryTransport& server = *pipe.server;
  net::RateLimitedTransport client(std::move(pipe.client), bucket);
  EXPECT_EQ(pump(client, server, 10 * kMB), 10 * kMB);
  // 10 MB minus the 1 MB burst the bucket started with, at 1 MB/s.
  EXPECT_GE(clock.sleptSeconds(), 9.0 - 0.01);
  EXPECT_LE(clock.sleptSeconds(), 10.0 + 0.01);
  EXPECT_EQ(server.bytesWritten(), 10 * kMB);

  // Writes are debited too: 2 MB more at 1 MB/s, the bucket being empty.
  double before = clock.sleptSeconds();
  std::string payload(2 * kMB, 'y');
  ASSERT_TRUE(client.writeAll(payload.data(), payload.size()).isOk());
  EXPECT_NEAR(clock.sleptSeconds() - before, 2.0, 0.03);
  EXPECT_EQ(server.available(), 2 * kMB);
}

TEST(RateLimitedTransport, WithoutABucketNothingSleepsAndEverythingIsForwarded) {
  FakeClock clock;
  net::MemoryPipe pipe = net::makeMemoryPipe();
  net::MemoryTransport& server = *pipe.server;
  net::MemoryTransport* inner = pipe.client.get();
  net::RateLimitedTransport client(std::move(pipe.client), nullptr);
  EXPECT_EQ(pump(client, server, 10 * kMB), 10 * kMB);
  EXPECT_EQ(clock.sleeps(), 0);

  ASSERT_TRUE(client.startTls(net::TlsOptions{}).isOk());
  EXPECT_TRUE(client.isTls());
  EXPECT_EQ(inner->startTlsCount(), 1);
  EXPECT_EQ(client.describe(), inner->describe());
  client.setRedact(true);
  client.setRedact(false);
  client.close();
  EXPECT_TRUE(server.peerClosed());

  // rateLimited() with rate 0 does not wrap at all.
  net::MemoryPipe p2 = net::makeMemoryPipe();
  net::Transport* raw = p2.client.get();
  EXPECT_EQ(net::rateLimited(std::move(p2.client), "imap.example.org", 0).get(), raw);
}

TEST(Limits, RegistryIsPerLowerCasedHostAndTheFirstValueApplies) {
  net::resetLimitsForTests();
  EXPECT_EQ(net::rateLimitFor("imap.example.org", 0), nullptr);
  EXPECT_EQ(net::connectionLimitFor("imap.example.org", 0), nullptr);
  auto a = net::rateLimitFor("IMAP.Example.org", 1000);
  auto b = net::rateLimitFor("imap.example.org", 5000);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b->rate(), 1000u);
  EXPECT_NE(net::rateLimitFor("other.example.org", 1000), a);
  auto c = net::connectionLimitFor("Imap.Example.Org", 2);
  EXPECT_EQ(c, net::connectionLimitFor("imap.example.org", 7));
  EXPECT_EQ(c->cap(), 2u);
  net::resetLimitsForTests();
}

TEST(ConnectionLimiter, AThirdAcquireWaitsUntilASlotIsReleased) {
  auto limiter = std::make_shared<net::ConnectionLimiter>(2);
  net::ConnectionSlot s1, s2;
  ASSERT_TRUE(limiter->tryAcquire());
  s1 = net::ConnectionSlot(limiter);
  ASSERT_TRUE(limiter->acquire(std::chrono::milliseconds(0)));
  s2 = net::ConnectionSlot(limiter);
  EXPECT_EQ(limiter->inUse(), 2u);
  EXPECT_FALSE(limiter->tryAcquire());

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool acquired = false;
  std::thread third([&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      started = true;
    }
    cv.notify_all();
    bool ok = limiter->acquire(std::chrono::seconds(30));
    net::ConnectionSlot s3(ok ? limiter : nullptr);
    std::lock_guard<std::mutex> lock(mu);
    acquired = ok;
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return started; }));
  }
  // Started, and the two slots are still held: it cannot have got one.
  EXPECT_FALSE(acquired);
  EXPECT_EQ(limiter->inUse(), 2u);
  s1.release();
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return acquired; }));
  }
  third.join();
  EXPECT_EQ(limiter->inUse(), 1u) << "the third thread's slot was released when it ended";
  s2.release();
  EXPECT_EQ(limiter->inUse(), 0u);
}

TEST(ConnectionLimiter, AcquireTimesOutWhenNoSlotIsFreed) {
  net::ConnectionLimiter limiter(1);
  ASSERT_TRUE(limiter.tryAcquire());
  EXPECT_FALSE(limiter.acquire(std::chrono::milliseconds(20)));
  EXPECT_EQ(limiter.inUse(), 1u);
  limiter.release();
  EXPECT_TRUE(limiter.acquire(std::chrono::milliseconds(20)));
}

TEST(ConnectionSlot, MoveTransfersOwnershipAndReleasesOnce) {
  auto limiter = std::make_shared<net::ConnectionLimiter>(1);
  ASSERT_TRUE(limiter->tryAcquire());
  net::ConnectionSlot a(limiter);
  net::ConnectionSlot b(std::move(a));
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(static_cast<bool>(b));
  { net::ConnectionSlot c(std::move(b)); }
  EXPECT_EQ(limiter->inUse(), 0u);
}

class LimitsEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-limits-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sink_ = std::make_unique<testing::MemorySink>(dir_);
    options_.localUser = "alice";
    options_.source.host = "imap.limits.example";
    options_.source.user = "alice@old.example";
    options_.source.password = "secret";
    options_.source.tlsModeSet = true;
    options_.source.tlsMode = TlsMode::None;
    options_.source.port = 143;
    options_.sleepFn = [](double) {};
    net::resetLimitsForTests();
    net::setClockForTests(&clock_);
  }
  void TearDown() override {
    net::setClockForTests(nullptr);
    net::resetLimitsForTests();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  MigrationReport run() {
    return runMigration(
        options_, *sink_, [this](const ProgressEvent& e) { events_.push_back(e.message); },
        [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
          return source_.connect();
        });
  }

  FakeClock clock_;
  std::string dir_;
  testing::FakeSource source_;
  std::unique_ptr<testing::MemorySink> sink_;
  MigrationOptions options_;
  std::vector<std::string> events_;
};

TEST_F(LimitsEngineTest, MaxBytesPerSecondDebitsTheClock) {
  for (int i = 0; i < 20; i++) {
    source_.add("INBOX", testing::FakeSource::makeMessage("m" + std::to_string(i),
                                                          "<" + std::to_string(i) + "@x>", 10000));
  }
  options_.maxBytesPerSecond = 50000;  // a burst of 50 kB, then 50 kB/s
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 20u);
  // About 200 kB crossed the wire (bodies plus protocol): at least (200 - 50) kB / 50 kB/s.
  EXPECT_GE(clock_.sleptSeconds(), 3.0);
  EXPECT_LE(clock_.sleptSeconds(), 6.0);
  auto bucket = net::rateLimitFor("imap.limits.example", 1);
  EXPECT_EQ(bucket->rate(), 50000u);
}

TEST_F(LimitsEngineTest, UnlimitedNeverTouchesTheClockAndSlotsAreReturned) {
  source_.add("INBOX", testing::FakeSource::makeMessage("m", "<m@x>", 10000));
  options_.maxConnectionsPerHost = 1;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(clock_.sleeps(), 0);
  auto limiter = net::connectionLimitFor("imap.limits.example", 1);
  EXPECT_EQ(limiter->inUse(), 0u) << "the slot is released when the run ends";
  // A second user of the same run gets the slot again.
  ASSERT_TRUE(run().status.isOk());
  EXPECT_EQ(limiter->inUse(), 0u);
}

TEST_F(LimitsEngineTest, ReconnectsReleaseAndRetakeTheirSlot) {
  for (int i = 0; i < 6; i++) {
    source_.add("INBOX", testing::FakeSource::makeMessage("m" + std::to_string(i),
                                                          "<" + std::to_string(i) + "@x>", 100));
  }
  source_.dropAfterBodies = 3;
  options_.batchMessages = 2;
  options_.maxConnectionsPerHost = 1;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.reconnects, 1u);
  EXPECT_EQ(r.copied, 6u);
  EXPECT_EQ(net::connectionLimitFor("imap.limits.example", 1)->inUse(), 0u);
}

TEST_F(LimitsEngineTest, AFullHostReportsTheWaitAndCancelStopsIt) {
  source_.add("INBOX", testing::FakeSource::makeMessage("m", "<m@x>", 100));
  options_.maxConnectionsPerHost = 1;
  auto limiter = net::connectionLimitFor("IMAP.limits.example", 1);
  ASSERT_TRUE(limiter->tryAcquire());  // another job holds the only connection
  net::ConnectionSlot other(limiter);
  options_.cancelled = [this] { return !events_.empty(); };
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Cancelled);
  EXPECT_NE(r.status.message().find("waiting for a free connection to imap.limits.example"),
            std::string::npos)
      << r.status.describe();
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_[0], "waiting for a free connection to imap.limits.example (1 in use)");
  EXPECT_EQ(source_.examines, 0) << "never connected";
}

TEST_F(LimitsEngineTest, AWaitingRunProceedsWhenTheSlotIsFreed) {
  source_.add("INBOX", testing::FakeSource::makeMessage("m", "<m@x>", 100));
  options_.maxConnectionsPerHost = 1;
  auto limiter = net::connectionLimitFor("imap.limits.example", 1);
  ASSERT_TRUE(limiter->tryAcquire());
  auto other = std::make_unique<net::ConnectionSlot>(limiter);
  std::mutex mu;
  // The progress callback runs on the migrating thread: free the slot from another thread once
  // the run says it is waiting.
  std::thread releaser;
  MigrationReport r = runMigration(
      options_, *sink_,
      [&](const ProgressEvent& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (e.message.find("waiting for a free connection") != std::string::npos && !releaser.joinable()) {
          releaser = std::thread([&other] { other.reset(); });
        }
      },
      [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> { return source_.connect(); });
  if (releaser.joinable()) {
    releaser.join();
  }
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(limiter->inUse(), 0u);
}

}  // namespace
}  // namespace migrate
