#include "engine/run_progress.h"

#include <algorithm>

namespace migrate {

namespace {

// done / total in percent, rounded down; capped at 99 unless the run is ok (100 means done).
std::optional<uint32_t> percentOf(uint64_t done, const std::optional<uint64_t>& total, bool ok) {
  if (ok) {
    return 100u;
  }
  if (!total) {
    return std::nullopt;
  }
  if (*total == 0) {
    return 100u;  // nothing to copy
  }
  const uint64_t capped = std::min(done, *total);
  // capped * 100 cannot overflow before 1.8e17 bytes; divide first beyond that.
  const uint64_t p = capped > UINT64_MAX / 100 ? capped / (*total / 100) : capped * 100 / *total;
  return static_cast<uint32_t>(std::min<uint64_t>(p, 99));
}

}  // namespace

RunProgress computeRunProgress(const std::optional<RunStatus>& status, const std::string& state) {
  RunProgress p;
  if (!status) {
    return p;
  }
  const RunStatus& s = *status;
  const bool ok = state == "ok";
  const bool running = state == "running";
  p.percent = percentOf(s.bytes, s.totalBytes, ok);
  p.percentMessages = percentOf(s.copied + s.failed, s.totalMessages, ok);
  if (running && s.rate) {
    p.rate = s.rate;
  } else if (s.started > 0) {
    const int64_t end = s.finished > 0 ? s.finished : s.updated;
    // Times are whole seconds: a run of less than one counts as one.
    const int64_t seconds = std::max<int64_t>(end - s.started, 1);
    p.rate = s.bytes / static_cast<uint64_t>(seconds);
  }
  if (running && s.totalBytes) {
    const uint64_t left = *s.totalBytes > s.bytes ? *s.totalBytes - s.bytes : 0;
    if (left == 0) {
      p.etaSeconds = 0;
    } else if (p.rate && *p.rate > 0) {
      p.etaSeconds = (left + *p.rate - 1) / *p.rate;
    }
  }
  return p;
}

void RateWindow::add(double seconds, uint64_t bytes) {
  if (samples_.size() >= 2 && seconds - samples_[samples_.size() - 2].first < kMinSpacing) {
    samples_.back() = {seconds, bytes};  // too close to the one before: the newest replaces it
  } else {
    samples_.emplace_back(seconds, bytes);
  }
  // Keep one sample at or before the window's start, as the start of the measurement.
  while (samples_.size() > 2 && samples_[1].first <= seconds - window_) {
    samples_.pop_front();
  }
}

std::optional<uint64_t> RateWindow::rate() const {
  if (samples_.size() < 2) {
    return std::nullopt;
  }
  const auto& first = samples_.front();
  const auto& last = samples_.back();
  const double span = last.first - first.first;
  if (span < 1.0 || last.second < first.second) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(static_cast<double>(last.second - first.second) / span);
}

}  // namespace migrate
