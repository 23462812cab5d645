#pragma once
// Process-wide limits per source host, shared by every migration of one doveadm run (and by the
// parallel jobs of a later version): a byte rate (token bucket) and a number of connections
// (counting semaphore). Hosts are compared lower-cased.
//
// Threads: everything here is thread-safe except RateLimitedTransport, which, like every
// Transport, is used by one thread; several RateLimitedTransports may share one bucket.
//
// Settings that differ between users: the first non-zero rate / connection cap registered for a
// host applies for the rest of the process (documented in docs/admin-guide.md).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "net/transport.h"

namespace migrate::net {

// The time source of the token buckets. Tests inject a fake one (setClockForTests) that records
// the requested sleeps instead of sleeping.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::nanoseconds;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  virtual void sleepFor(Duration d) = 0;
};

// steady_clock and std::this_thread::sleep_for.
Clock& systemClock();

// A token bucket: `rate` bytes per second, holding at most `burst` bytes (rate > 0; burst 0 means
// one second of the rate). Starts full. The clock must outlive the bucket.
class TokenBucket {
 public:
  TokenBucket(uint64_t rate, uint64_t burst, Clock& clock);
  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // Waits (clock.sleepFor, never holding the lock) until at least min(want, chunkLimit())
  // bytes are available and returns how many may be used now: 1..want. Does not debit them.
  // want 0 returns 0 at once.
  size_t reserve(size_t want);
  // Takes n bytes. The balance may go negative (bytes read beyond the grant, or several threads
  // debiting the same grant): later reserve() calls wait until the debt is paid.
  void debit(size_t n);

  uint64_t rate() const { return rate_; }
  uint64_t burst() const { return burst_; }
  // The largest wait-for amount of reserve(): rate/50 (20 ms of the rate), at least 1 byte, at
  // most 64 KiB and the burst, so a slow rate gives small steady chunks instead of bursts.
  size_t chunkLimit() const { return chunk_; }
  // The current balance in bytes (negative: debt), after refilling up to now.
  double available();

 private:
  void refillLocked(Clock::TimePoint now);

  const uint64_t rate_;
  const uint64_t burst_;
  const size_t chunk_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;
  Clock::TimePoint last_;
};

// A counting semaphore of connection slots.
class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(uint32_t cap);
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // Takes a slot if one is free, without waiting.
  bool tryAcquire();
  // Waits until a slot is free and takes it; false when `timeout` passed first (a negative
  // timeout waits forever).
  bool acquire(std::chrono::milliseconds timeout);
  void release();

  uint32_t cap() const { return cap_; }
  uint32_t inUse() const;

 private:
  const uint32_t cap_;
  mutable std::mutex mu_;
  std::condition_variable freed_;
  uint32_t inUse_ = 0;
};

// One taken slot; released on destruction (or release()). Movable; an empty slot holds nothing.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(std::shared_ptr<ConnectionLimiter> limiter) : limiter_(std::move(limiter)) {}
  ~ConnectionSlot() { release(); }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  void release();
  explicit operator bool() const { return limiter_ != nullptr; }

 private:
  std::shared_ptr<ConnectionLimiter> limiter_;
};

// The registry. The bucket of `host` (created on first use with `bytesPerSecond` and a burst of
// one second); nullptr when bytesPerSecond is 0 (unlimited).
std::shared_ptr<TokenBucket> rateLimitFor(const std::string& host, uint64_t bytesPerSecond);
// The connection semaphore of `host` (created on first use with `maxConnections`); nullptr when
// maxConnections is 0 (unlimited).
std::shared_ptr<ConnectionLimiter> connectionLimitFor(const std::string& host, uint32_t maxConnections);

// Test hooks: buckets created afterwards use `clock` (nullptr: systemClock()); the clock must
// outlive them. resetLimitsForTests() forgets every host (live buckets/slots stay valid).
void setClockForTests(Clock* clock);
void resetLimitsForTests();

// A Transport that debits `bucket` for every byte read and written: reads ask the inner
// transport for no more than the bucket grants, writes are split into granted chunks, sleeping as
// the bucket says. Without a bucket (nullptr) every call goes straight to the inner transport.
// Every other virtual is forwarded unchanged.
class RateLimitedTransport final : public Transport {
 public:
  RateLimitedTransport(std::unique_ptr<Transport> inner, std::shared_ptr<TokenBucket> bucket)
      : inner_(std::move(inner)), bucket_(std::move(bucket)) {}

  Status writeAll(const void* data, size_t len) override;
  Result<size_t> readSome(void* buf, size_t cap) override;
  Status startTls(const TlsOptions& tls) override { return inner_->startTls(tls); }
  bool isTls() const override { return inner_->isTls(); }
  std::string describe() const override { return inner_->describe(); }
  void close() override { inner_->close(); }
  void setIoTimeoutMs(int ms) override { inner_->setIoTimeoutMs(ms); }
  void setRedact(bool on) override { inner_->setRedact(on); }

  Transport& inner() { return *inner_; }

 private:
  std::unique_ptr<Transport> inner_;
  std::shared_ptr<TokenBucket> bucket_;
};

// Wraps `inner` when bytesPerSecond > 0 (the bucket of `host`); otherwise returns it unchanged.
std::unique_ptr<Transport> rateLimited(std::unique_ptr<Transport> inner, const std::string& host,
                                       uint64_t bytesPerSecond);

}  // namespace migrate::net
