#pragma once
// SIGINT and SIGTERM during `migrate batch/check`: the run stops starting children, tells the
// running ones to save their state and stop, and reports what it has. While a StopOnSignals lives,
// either signal is only recorded (through lib-signals, which doveadm has set up); the pass loop
// asks stopSignal() between its waits.
// Threads: the doveadm main thread.

#include <cstdint>

namespace migrate::cmd::bulk {

class StopOnSignals {
 public:
  // Forgets any signal recorded before, then records SIGINT and SIGTERM until destroyed.
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
};

// The signal that asked the run to stop, or 0.
int stopSignal() noexcept;

// Sleeps `seconds` (in steps of 200 ms); false as soon as a stop signal is there.
bool sleepInterruptible(uint64_t seconds);

}  // namespace migrate::cmd::bulk
