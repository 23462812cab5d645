#pragma once
// What `doveadm migrate status` (HTTP migrateStatus) shows of a run's progress, computed from its
// status file (engine/run_status.h): percent of bytes and of messages against the run's plan, the
// transfer rate and the time left. Dovecot-free, no I/O: the reader polls thousands of users.
//
// - percent: bytes copied by this run / total_bytes of its plan, 0-100 rounded down. A run that
//   is not "ok" shows at most 99 while something is left; an "ok" run 100; a plan with nothing
//   to copy (flag changes only) 100. Unknown (empty) before the plan and for files of versions
//   that wrote no plan.
// - percentMessages: the same for messages (copied + failed against total_messages).
// - rate: while running, the run's own measurement over its last RateWindow (bytes per second);
//   without one, and for every other state, bytes / seconds from start to finish (or to the
//   last update). Unknown when never migrated.
// - eta: remaining bytes / rate, only while running; unknown without a plan or a rate > 0.
// States are taken as strings: "ok" and "running" are special, every other state (partial,
// failed, stopped, interrupted, paused, scheduled, ...) is treated alike.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "engine/run_status.h"

namespace migrate {

struct RunProgress {
  std::optional<uint32_t> percent;          // of bytes
  std::optional<uint32_t> percentMessages;  // of messages
  std::optional<uint64_t> rate;             // bytes per second
  std::optional<uint64_t> etaSeconds;
};

// `state`: the state as shown (cmd::displayState: "interrupted" for a dead "running" run,
// "never" without a status file). `status`: nullopt when there is none.
RunProgress computeRunProgress(const std::optional<RunStatus>& status, const std::string& state);

// The transfer rate over the last `windowSeconds`: the run adds (time, bytes copied so far) as it
// goes; rate() is the bytes between the oldest sample still in the window (one just before it is
// kept as its start) and the newest, per second. Samples closer than kMinSpacing to the previous
// one replace it, so memory stays bounded whatever the event rate.
class RateWindow {
 public:
  static constexpr double kMinSpacing = 0.5;

  explicit RateWindow(double windowSeconds = 30.0) : window_(windowSeconds) {}

  void add(double seconds, uint64_t bytes);
  // nullopt until the samples span at least one second.
  std::optional<uint64_t> rate() const;
  size_t samples() const { return samples_.size(); }

 private:
  double window_;
  std::deque<std::pair<double, uint64_t>> samples_;
};

}  // namespace migrate
