#pragma once
// The user's schedule of `doveadm migrate start --at T --second-pass-after H` (a first pass at a
// given time, a delta pass some hours after it), kept with the user in the state directory.
// Interface used by the run (secret kept while a pass is still to come); the schedule itself is
// run by `doveadm migrate schedule-due`.

#include <string>

namespace migrate {

constexpr const char* kRunScheduleFile = "dovecot-migrate.schedule";  // kStateFilePrefix + "schedule"

// True while the user's schedule has a pass still to start: the job's stored password must be kept.
bool schedulePending(const std::string& dir);

}  // namespace migrate
