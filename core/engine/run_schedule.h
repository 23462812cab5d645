#pragma once
// The user's schedule of `doveadm migrate start --at T --second-pass-after H`: a first pass at a
// given time (or at once) and a delta pass H hours after the first pass ENDED, kept with the user
// in the state directory (dovecot-migrate.schedule) and run by `doveadm migrate schedule-due`
// (started every minute by the packaged dovecot-migrate-schedule.timer, or cron). Nothing here
// touches Dovecot: the command observes the user's run and asks decideSchedule() what to do.
//
//   dovecot-migrate-schedule  1
//   created         <unix>            when migrate start wrote it
//   first_at        <unix>            when the first pass is due
//   second_after    <seconds>         delay of the second pass after the first ended; 0: none
//   first_started   <unix, 0>         when schedule-due (or migrate start) started the first pass
//   first_ended     <unix, 0>         when its run ended (the run status' finished time)
//   first_restarts  <n>               restarts of an interrupted first pass
//   first_pid       <pid, 0>          the pid of its run, when the start saw it
//   second_started / second_ended / second_restarts / second_pid    the same for the second pass
//
// Unknown keys are ignored; a newer version is a Config error. The file exists from migrate start
// until the last pass has ENDED (not merely started): a pass interrupted by a reboot is restarted
// by the next schedule-due, and needs the stored password (engine/run_job.h) for that, which the
// run therefore keeps while the file exists (schedulePending). schedule-due removes the file and
// the stored password once the last pass has ended.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/run_status.h"

namespace migrate {

constexpr const char* kRunScheduleFile = "dovecot-migrate.schedule";  // kStateFilePrefix + "schedule"
// Taken (flock, not waiting) by schedule-due and migrate start while they read and update the
// schedule: two schedule-due at once never start the same pass twice.
constexpr const char* kRunScheduleLockFile = "dovecot-migrate.schedule.lock";
constexpr int kRunScheduleVersion = 1;

// True while the user has a schedule (a pass still to start, or a started pass that a restart
// may have to run again): the job's stored password must be kept.
bool schedulePending(const std::string& dir);

struct SchedulePass {
  int64_t started = 0;  // 0: not started
  int64_t ended = 0;    // 0: not ended
  uint32_t restarts = 0;
  int64_t pid = 0;  // the run's pid as its first status said (0: not seen)
};

struct RunSchedule {
  int64_t created = 0;
  int64_t firstAt = 0;
  int64_t secondAfter = 0;  // seconds; 0: one pass only
  SchedulePass pass[2];

  int passes() const { return secondAfter > 0 ? 2 : 1; }
};

std::string serializeRunSchedule(const RunSchedule& schedule);
Result<RunSchedule> parseRunSchedule(const std::string& text);

// <dir>/dovecot-migrate.schedule; nullopt when there is none.
Result<std::optional<RunSchedule>> readRunSchedule(const std::string& dir);
// Atomic replace, synced (it must survive the reboot it is for).
Status writeRunSchedule(const std::string& dir, const RunSchedule& schedule);
// No error when there is none.
Status removeRunSchedule(const std::string& dir);
// Opens and flocks <dir>/dovecot-migrate.schedule.lock: the descriptor (close it to unlock), or
// -1 with errno (EWOULDBLOCK: held by another schedule-due or migrate start, when !wait).
int lockRunSchedule(const std::string& dir, bool wait);

// What schedule-due sees of the user's run.
struct ScheduleObservation {
  bool paused = false;              // the job is paused (migrate pause): nothing starts
  bool runActive = false;           // a run of the user is alive (its lock is held, or its status is
                                    // "running" with a live pid)
  std::optional<RunStatus> status;  // the user's run status as read
};

struct ScheduleDecision {
  enum class Action {
    Wait,      // nothing to start now (see reason, nextRun)
    Start,     // start pass `pass` now (restart: it was started before and interrupted)
    Finished,  // the last pass has ended: remove the schedule and the stored password
  };
  Action action = Action::Wait;
  int pass = 0;          // 1 or 2: the pass started, waited for or running
  bool restart = false;  // Start of a pass that was interrupted (dead run, stopped, reboot)
  int64_t nextRun = 0;   // when the next pass is due (0: not known yet / none)
  std::string reason;    // for the admin: "pass 1 due at ...", "pass 2 running", ...
  RunSchedule updated;   // the schedule with the ends seen now (write it when changed)
  bool changed = false;
};

// The restarts of one pass before schedule-due gives up on it (a run that dies every time).
constexpr uint32_t kMaxPassRestarts = 5;
// A started pass whose run has written no status yet after this long never started: run it again.
constexpr int64_t kPassStartGraceSeconds = 120;

// The pure decision of schedule-due for one user. `now` decides what is due (a test or an admin
// may give another time); `wallNow` is the real clock, compared with the run status' times.
// The caller starts the pass for Action::Start and then records it with markPassStarted().
ScheduleDecision decideSchedule(const RunSchedule& schedule, const ScheduleObservation& seen, int64_t now,
                                int64_t wallNow);
// `pid`: the started run's pid when known (0 otherwise); a status with another pid is not this
// pass's.
void markPassStarted(RunSchedule& schedule, int pass, bool restart, int64_t wallNow, int64_t pid = 0);

// When the next pass is due, as far as the file alone tells (first_at before the first pass,
// first_ended + second_after after it); 0 while a pass runs or when all have started.
int64_t scheduleNextRun(const RunSchedule& schedule);
// True when the current pass has not started yet: the user is waiting for its time. (migrate
// resume of such a paused user only un-pauses; schedule-due starts the pass when it is due.)
bool scheduleWaitingForPass(const RunSchedule& schedule);
// The same from the user's schedule file: false without one (or when it cannot be read).
bool scheduleWaiting(const std::string& dir);

// --at: "2026-12-07T22:00[:SS]" or "2026-12-07 22:00" (local time), the same with "Z" or an
// offset ("+01:00", "+0100"), "HH:MM[:SS]" (its next occurrence in local time after `now`), or
// unix seconds. A Config Status naming --at for anything else, for a time more than a day in the
// past (a mistyped date; a time in the last day means "now") or more than a year ahead.
Result<int64_t> parseScheduleTime(const std::string& text, int64_t now, const std::string& option = "--at");
// --second-pass-after: hours, decimals allowed ("23", "1.5"), or with a unit ("36h", "90m");
// more than 0 and at most 30 days. Seconds.
Result<int64_t> parseSecondPassAfter(const std::string& text);

}  // namespace migrate
