#pragma once
// `migrate start --at TIME --second-pass-after HOURS`: the start of a migration at a given time
// and a second (delta) pass some hours after the first, kept in the user's schedule file
// (engine/run_schedule.h) and run by `doveadm migrate schedule-due`.

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

// Called by `migrate start` after the job is stored (engine/run_job.h). Records the schedule;
// true when the first run must start now, false when it starts later (the status then says
// "scheduled").
Result<bool> applyStartSchedule(struct mail_user* user, const std::string& stateDir,
                                const StartScheduleArgs& args);

}  // namespace migrate::cmd
