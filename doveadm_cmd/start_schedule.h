#pragma once
// `migrate start --at TIME --second-pass-after HOURS`: the start of a migration at a given time
// and a second (delta) pass some hours after the first has ended, kept in the user's schedule
// file (engine/run_schedule.h) and run by `doveadm migrate schedule-due` (cmd_schedule_due.cpp).

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

struct mail_user;

namespace migrate::cmd {

struct StartScheduleArgs {
  std::optional<std::string> at;               // --at
  std::optional<std::string> secondPassAfter;  // --second-pass-after
  bool any() const { return at || secondPassAfter; }
};

// Checks the values before anything is written: a Config Status naming the option.
Status checkStartSchedule(const StartScheduleArgs& args);

// Called by `migrate start` after the job is stored (engine/run_job.h), under the user's run lock
// (job_start.h lockUserRun: no run can start meanwhile). Records the schedule
// (a start without --at/--second-pass-after removes an earlier schedule of the user); true when
// the first run must start now, false when it starts later: the run status then says
// "scheduled" with next_run.
Result<bool> applyStartSchedule(struct mail_user* user, const std::string& stateDir,
                                const StartScheduleArgs& args);

// How noteNextRun() treats the state in the user's run status.
enum class NextRunState {
  Keep,            // only next_run changes (a paused user stays "paused")
  Scheduled,       // "scheduled", the last run's numbers kept (between the passes)
  ScheduledFresh,  // "scheduled" and nothing else of an earlier migration (before the first pass)
};

// Puts `nextRun` (0: none) into the user's run status while no run is going, so that `migrate
// status` shows when the next pass starts. It takes the user's run lock for that unless the caller
// holds it (`runLocked`). False when a run is going or the status cannot be written (logged: the
// schedule itself is unaffected).
bool noteNextRun(const std::string& stateDir, int64_t nextRun, NextRunState state, bool runLocked = false);

}  // namespace migrate::cmd
