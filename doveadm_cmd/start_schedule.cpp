// `migrate start --at/--second-pass-after` (see start_schedule.h).

#include "start_schedule.h"

#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/strings.h"
#include "common/textfile.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/dovecot_api.h"
#include "engine/run_schedule.h"
#include "engine/run_status.h"
#include "status_common.h"

namespace migrate::cmd {
namespace {

int64_t wallClock() {
  return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace

Status checkStartSchedule(const StartScheduleArgs& args) {
  const int64_t now = wallClock();
  if (args.at) {
    Result<int64_t> at = parseScheduleTime(*args.at, now);
    if (!at.isOk()) {
      return at.status();
    }
  }
  if (args.secondPassAfter) {
    Result<int64_t> after = parseSecondPassAfter(*args.secondPassAfter);
    if (!after.isOk()) {
      return after.status();
    }
  }
  return Status::ok();
}

bool noteNextRun(const std::string& stateDir, int64_t nextRun, NextRunState state, bool runLocked) {
  // The run lock keeps a background run from starting (and writing its first status) meanwhile.
  dovecot::FdGuard runLock(runLocked ? -1 : dovecot::lockBackgroundRun(stateDir));
  if (!runLocked && runLock.get() < 0) {
    return false;
  }
  Result<std::optional<RunStatus>> found = readRunStatus(stateDir);
  if (!found.isOk()) {
    i_warning("migrate: %s", found.status().describe().c_str());
    return false;
  }
  RunStatus s = found.value().value_or(RunStatus());
  if (runStatusAlive(s)) {
    return false;
  }
  if (state == NextRunState::ScheduledFresh) {
    // What `migrate status` shows until the first pass starts; the run replaces it.
    RunStatus fresh;
    fresh.host = localHostName();
    fresh.consecutiveFailures = s.consecutiveFailures;
    s = fresh;
  }
  const std::string newState = state == NextRunState::Keep ? s.state : std::string("scheduled");
  if (s.nextRun == nextRun && s.state == newState && state != NextRunState::ScheduledFresh) {
    return false;  // nothing changes: no write every minute
  }
  s.state = newState;
  if (state != NextRunState::Keep) {
    s.trigger = "schedule";
  }
  s.nextRun = nextRun;
  s.updated = wallClock();
  Status written = writeRunStatus(stateDir, s);
  if (!written.isOk()) {
    i_warning("migrate: %s", written.describe().c_str());
    return false;
  }
  return true;
}

Result<bool> applyStartSchedule(struct mail_user* user, const std::string& stateDir,
                                const StartScheduleArgs& args) {
  const int lockFd = lockRunSchedule(stateDir, true);
  if (lockFd < 0) {
    return textfile::sysError("cannot lock the schedule", stateDir + "/" + kRunScheduleLockFile);
  }
  dovecot::FdGuard lock(lockFd);
  if (!args.any()) {
    // A start without a schedule replaces an earlier one: its passes would run the new job.
    MIGRATE_RETURN_IF_ERROR(removeRunSchedule(stateDir));
    return true;
  }
  const int64_t now = wallClock();
  RunSchedule s;
  s.created = now;
  s.firstAt = now;
  if (args.at) {
    MIGRATE_ASSIGN_OR_RETURN(s.firstAt, parseScheduleTime(*args.at, now));
  }
  if (args.secondPassAfter) {
    MIGRATE_ASSIGN_OR_RETURN(s.secondAfter, parseSecondPassAfter(*args.secondPassAfter));
  }
  const bool startNow = s.firstAt <= now;
  if (startNow) {
    // migrate start starts it right after this; schedule-due restarts it if that start is lost.
    markPassStarted(s, 1, false, now);
  }
  MIGRATE_RETURN_IF_ERROR(writeRunSchedule(stateDir, s));
  if (!startNow) {
    noteNextRun(stateDir, s.firstAt, NextRunState::ScheduledFresh, true);
  }
  std::string what = startNow ? "first pass now" : "first pass at " + isoTime(s.firstAt);
  if (s.secondAfter > 0) {
    what += ", second pass " + std::to_string(s.secondAfter / 60) + " minutes after the first has ended";
  }
  i_info("migrate start(%s): scheduled: %s", user->username, what.c_str());
  return startNow;
}

}  // namespace migrate::cmd
