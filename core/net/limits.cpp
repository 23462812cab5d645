#include "net/limits.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <thread>

#include "common/strings.h"

namespace migrate::net {

namespace {

class SystemClock final : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
  void sleepFor(Duration d) override { std::this_thread::sleep_for(d); }
};

struct Registry {
  std::mutex mu;
  Clock* clock = nullptr;  // nullptr: systemClock()
  std::map<std::string, std::shared_ptr<TokenBucket>> buckets;
  std::map<std::string, std::shared_ptr<ConnectionLimiter>> limiters;
};

Registry& registry() {
  static Registry r;
  return r;
}

constexpr size_t kMaxChunk = size_t{64} * 1024;

}  // namespace

Clock& systemClock() {
  static SystemClock clock;
  return clock;
}

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, Clock& clock)
    : rate_(std::max<uint64_t>(rate, 1)),
      burst_(burst == 0 ? rate_ : burst),
      chunk_(static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>({rate_ / 50, kMaxChunk, burst_})))),
      clock_(clock),
      tokens_(static_cast<double>(burst_)),
      last_(clock.now()) {}

void TokenBucket::refillLocked(Clock::TimePoint now) {
  if (now > last_) {
    double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + secs * static_cast<double>(rate_));
    last_ = now;
  }
}

size_t TokenBucket::reserve(size_t want) {
  if (want == 0) {
    return 0;
  }
  const double need = static_cast<double>(std::min(want, chunk_));
  for (;;) {
    Clock::Duration wait{};
    {
      std::lock_guard<std::mutex> lock(mu_);
      refillLocked(clock_.now());
      if (tokens_ >= need) {
        return static_cast<size_t>(std::min(static_cast<double>(want), std::floor(tokens_)));
      }
      // Round up so that after the sleep the balance really reaches `need`.
      wait = Clock::Duration(
          static_cast<int64_t>(std::ceil((need - tokens_) * 1e9 / static_cast<double>(rate_))));
    }
    clock_.sleepFor(wait);
  }
}

void TokenBucket::debit(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  refillLocked(clock_.now());
  tokens_ -= static_cast<double>(n);
}

double TokenBucket::available() {
  std::lock_guard<std::mutex> lock(mu_);
  refillLocked(clock_.now());
  return tokens_;
}

ConnectionLimiter::ConnectionLimiter(uint32_t cap) : cap_(std::max<uint32_t>(cap, 1)) {}

bool ConnectionLimiter::tryAcquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (inUse_ >= cap_) {
    return false;
  }
  inUse_++;
  return true;
}

bool ConnectionLimiter::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto free = [this] { return inUse_ < cap_; };
  if (timeout.count() < 0) {
    freed_.wait(lock, free);
  } else if (!freed_.wait_for(lock, timeout, free)) {
    return false;
  }
  inUse_++;
  return true;
}

void ConnectionLimiter::release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (inUse_ > 0) {
      inUse_--;
    }
  }
  freed_.notify_one();
}

uint32_t ConnectionLimiter::inUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inUse_;
}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    limiter_ = std::move(other.limiter_);
  }
  return *this;
}

void ConnectionSlot::release() {
  if (limiter_) {
    limiter_->release();
    limiter_.reset();
  }
}

std::shared_ptr<TokenBucket> rateLimitFor(const std::string& host, uint64_t bytesPerSecond) {
  if (bytesPerSecond == 0) {
    return nullptr;
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::shared_ptr<TokenBucket>& b = r.buckets[lowerAscii(host)];
  if (!b) {
    b = std::make_shared<TokenBucket>(bytesPerSecond, 0, r.clock != nullptr ? *r.clock : systemClock());
  }
  return b;
}

std::shared_ptr<ConnectionLimiter> connectionLimitFor(const std::string& host, uint32_t maxConnections) {
  if (maxConnections == 0) {
    return nullptr;
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::shared_ptr<ConnectionLimiter>& l = r.limiters[lowerAscii(host)];
  if (!l) {
    l = std::make_shared<ConnectionLimiter>(maxConnections);
  }
  return l;
}

void setClockForTests(Clock* clock) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.clock = clock;
}

void resetLimitsForTests() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.buckets.clear();
  r.limiters.clear();
}

Status RateLimitedTransport::writeAll(const void* data, size_t len) {
  if (!bucket_) {
    return inner_->writeAll(data, len);
  }
  const auto* p = static_cast<const unsigned char*>(data);
  while (len > 0) {
    size_t n = bucket_->reserve(len);
    bucket_->debit(n);
    MIGRATE_RETURN_IF_ERROR(inner_->writeAll(p, n));
    p += n;
    len -= n;
  }
  return Status::ok();
}

Result<size_t> RateLimitedTransport::readSome(void* buf, size_t cap) {
  if (!bucket_) {
    return inner_->readSome(buf, cap);
  }
  Result<size_t> r = inner_->readSome(buf, bucket_->reserve(cap));
  if (r.isOk()) {
    bucket_->debit(r.value());
  }
  return r;
}

std::unique_ptr<Transport> rateLimited(std::unique_ptr<Transport> inner, const std::string& host,
                                       uint64_t bytesPerSecond) {
  std::shared_ptr<TokenBucket> bucket = rateLimitFor(host, bytesPerSecond);
  if (!bucket) {
    return inner;
  }
  return std::make_unique<RateLimitedTransport>(std::move(inner), std::move(bucket));
}

}  // namespace migrate::net
