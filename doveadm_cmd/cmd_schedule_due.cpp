// `doveadm migrate schedule-due [-u USER | -A | -F FILE]` (HTTP migrateScheduleDue): runs what
// the users' schedules (engine/run_schedule.h, written by `migrate start --at ...
// --second-pass-after ...`) have due. The packaged dovecot-migrate-schedule.timer runs it with -A
// every minute; it is safe to run at any time and any number of times at once.
//
// For each user with a schedule, under the user's schedule lock (another schedule-due holding it:
// "busy", nothing done): a pass that is due starts in the background with the user's stored job
// (job_start.h, trigger "schedule"), unless the user is paused or a run of the user is going; a
// started pass whose run ended without a result (killed, a reboot, stopped) starts again; once the
// last pass has ended, the schedule and the stored password are removed. Users without a schedule
// give no row. Columns: result (started | restarted | waiting | running | paused | held | busy |
// done | failed), pass, next_run, pid, message.
//
// --now TIME (letter J, for tests and for running passes early): decide what is due as if it were
// TIME (the formats of --at).

#include <cerrno>
#include <ctime>
#include <exception>
#include <optional>
#include <string>

#include "cmd_migrate.h"
#include "common/strings.h"
#include "common/textfile.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/state_location.h"
#include "engine/run_job.h"
#include "engine/run_schedule.h"
#include "exit_codes.h"
#include "job_start.h"
#include "start_schedule.h"
#include "status_common.h"

struct migrate_schedule_due_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  int64_t now;                          // --now, 0: the clock
};

namespace migrate::cmd {
namespace {

migrate_schedule_due_context* dueContext(doveadm_mail_cmd_context* ctx) {
  return reinterpret_cast<migrate_schedule_due_context*>(ctx);
}

int64_t wallClock() {
  return static_cast<int64_t>(std::time(nullptr));
}

struct DueRow {
  std::string result;
  int pass = 0;
  int64_t nextRun = 0;
  int64_t pid = 0;
  std::string message;
  int exitCode = 0;
};

void printDueRow(const DueRow& r) {
  const std::string pass = r.pass > 0 ? std::to_string(r.pass) : std::string();
  const std::string next = isoTime(r.nextRun);
  const std::string pid = r.pid > 0 ? std::to_string(r.pid) : std::string();
  doveadm_print(r.result.c_str());
  doveadm_print(pass.c_str());
  doveadm_print(next.c_str());
  doveadm_print(pid.c_str());
  doveadm_print(r.message.c_str());
}

DueRow failedRow(const Status& why) {
  DueRow r;
  r.result = "failed";
  r.message = why.describe();
  r.exitCode = exitCodeFor(why);
  return r;
}

// A background run of the user holds its lock from its start to its exit.
bool backgroundRunHeld(const std::string& dir) {
  const int fd = dovecot::lockBackgroundRun(dir);
  if (fd >= 0) {
    dovecot::FdGuard release(fd);
    return false;
  }
  return errno == EWOULDBLOCK;
}

// The schedule is over (or cannot go on): it and the stored password go (the run removes the
// password itself only when no schedule is pending).
Status endSchedule(const std::string& dir) {
  MIGRATE_RETURN_IF_ERROR(removeRunSchedule(dir));
  MIGRATE_RETURN_IF_ERROR(removeRunSecret(dir));
  Result<std::optional<RunJob>> job = readRunJob(dir);
  if (job.isOk() && job.value() && job.value()->secret) {
    job.value()->secret = false;
    return writeRunJob(dir, *job.value());
  }
  return Status::ok();
}

DueRow startPass(mail_user* user, const std::string& dir, ScheduleDecision& d, int64_t wallNow) {
  DueRow r;
  r.pass = d.pass;
  StartOutcome o = startStoredJob(user, "schedule");
  if (o.result != "started" && d.changed) {
    (void)writeRunSchedule(dir, d.updated);  // the end of the first pass, seen just now
  }
  if (o.result == "already_running") {
    r.result = "running";
    r.pid = o.pid;
    r.message = d.reason + "; " + o.message;
    return r;
  }
  if (o.result != "started") {
    r.result = "failed";
    r.message = d.reason + "; cannot start it: " + o.message;
    r.exitCode = o.exitCode != 0 ? o.exitCode : exitCodeFor(ErrorKind::Internal);
    if (r.exitCode == exitCodeFor(ErrorKind::Config)) {
      // No stored job or password, a damaged job file: no later round can start it either.
      Status ended = endSchedule(dir);
      r.message += ended.isOk() ? "; schedule removed" : "; " + ended.describe();
    }
    return r;
  }
  markPassStarted(d.updated, d.pass, d.restart, wallNow, o.pid);
  Status written = writeRunSchedule(dir, d.updated);
  r.result = d.restart ? "restarted" : "started";
  r.pid = o.pid;
  r.message = d.reason + "; " + o.message;
  if (!written.isOk()) {
    // The pass runs; without the record the next schedule-due would see it running and, once
    // it ended, start it once more (no mail twice: the runs are incremental).
    r.message += "; WARNING: " + written.describe();
    r.exitCode = exitCodeFor(written);
  }
  return r;
}

DueRow dueUser(mail_user* user, int64_t now, int64_t wallNow, bool& haveRow) {
  haveRow = false;
  Result<std::string> dirFound = dovecot::stateDirectoryPath(user);
  if (!dirFound.isOk()) {
    // No state directory: no migrate start can have left a schedule. Not an error of this
    // command (with -A every minute it would fail the timer for a user it has nothing to do with).
    return {};
  }
  const std::string& dir = dirFound.value();
  if (!schedulePending(dir)) {
    return {};  // the common case with -A: one stat(), no row
  }
  haveRow = true;
  const int lockFd = lockRunSchedule(dir, false);
  if (lockFd < 0) {
    if (errno == EWOULDBLOCK) {
      DueRow r;
      r.result = "busy";
      r.message = "another schedule-due or migrate start is handling this user";
      return r;
    }
    return failedRow(textfile::sysError("cannot lock the schedule", dir + "/" + kRunScheduleLockFile));
  }
  dovecot::FdGuard lock(lockFd);
  Result<std::optional<RunSchedule>> schedule = readRunSchedule(dir);
  if (!schedule.isOk()) {
    return failedRow(schedule.status());
  }
  if (!schedule.value()) {
    haveRow = false;  // ended meanwhile
    return {};
  }
  Result<std::optional<RunJob>> job = readRunJob(dir);
  if (!job.isOk()) {
    return failedRow(job.status());
  }
  if (!job.value()) {
    Status ended = endSchedule(dir);
    DueRow r = failedRow(
        Status(ErrorKind::Config,
               "the schedule has no migration to run (no " + std::string(kRunJobFile) + "); removed it",
               "schedule it again with doveadm migrate start --at ... (HTTP migrateStart)"));
    if (!ended.isOk()) {
      r.message += "; " + ended.describe();
    }
    return r;
  }
  Result<std::optional<RunStatus>> status = readUserRunStatus(user);
  if (!status.isOk()) {
    return failedRow(status.status());
  }
  ScheduleObservation seen;
  // Paused, or stopped on purpose with migrate stop ("held"): nothing starts on its own. (A
  // SIGTERM at shutdown does not hold the job: that pass is restarted.)
  const bool held = job.value()->held && !job.value()->paused;
  seen.paused = job.value()->paused || job.value()->held;
  seen.status = status.value();
  seen.runActive = (seen.status && runStatusAlive(*seen.status)) || backgroundRunHeld(dir);

  ScheduleDecision d = decideSchedule(*schedule.value(), seen, now, wallNow);
  DueRow r;
  r.pass = d.pass;
  r.nextRun = d.nextRun;
  r.message = d.reason;
  switch (d.action) {
    case ScheduleDecision::Action::Finished: {
      Status ended = endSchedule(dir);
      if (!ended.isOk()) {
        return failedRow(ended);
      }
      r.result = "done";
      r.message = d.reason + "; schedule and stored password removed";
      return r;
    }
    case ScheduleDecision::Action::Start:
      return startPass(user, dir, d, wallNow);
    case ScheduleDecision::Action::Wait:
      break;
  }
  if (d.changed) {
    Status written = writeRunSchedule(dir, d.updated);
    if (!written.isOk()) {
      return failedRow(written);
    }
  }
  r.result = seen.paused ? (held ? "held" : "paused") : (seen.runActive ? "running" : "waiting");
  if (held && !seen.runActive) {
    r.message =
        "stopped on purpose (migrate stop): nothing starts until migrate resume or a new migrate start";
  }
  r.pid = seen.runActive && seen.status ? seen.status->pid : 0;
  if (!seen.runActive && d.nextRun > 0 && scheduleWaitingForPass(d.updated)) {
    // Between the passes the status says "scheduled" (with the first pass's numbers) and when.
    noteNextRun(dir, d.nextRun, seen.paused ? NextRunState::Keep : NextRunState::Scheduled);
  }
  return r;
}

int scheduleDueRun(doveadm_mail_cmd_context* ctx, mail_user* user) {
  const int64_t wallNow = wallClock();
  const int64_t now = dueContext(ctx)->now > 0 ? dueContext(ctx)->now : wallNow;
  bool haveRow = false;
  DueRow r = dueUser(user, now, wallNow, haveRow);
  if (!haveRow) {
    return 0;
  }
  printDueRow(r);
  if (r.exitCode != 0) {
    i_error("migrate schedule-due(%s): %s: %s", user->username, r.result.c_str(), r.message.c_str());
    mergeCommandExitCode(ctx, r.exitCode);
    return -1;
  }
  if (r.result == "started" || r.result == "restarted" || r.result == "done") {
    i_info("migrate schedule-due(%s): %s: %s", user->username, r.result.c_str(), r.message.c_str());
  }
  return 0;
}

int cmdScheduleDueRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  try {
    return scheduleDueRun(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate schedule-due(%s): internal error: %s", user->username, e.what());
  } catch (...) {
    i_error("migrate schedule-due(%s): internal error: unknown exception", user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

bool isScheduleDueLetter(int letter) noexcept {
  return letter == 'J';
}

int noMoreUsers(doveadm_mail_cmd_context*, const char** usernameR) noexcept {
  *usernameR = nullptr;
  return 0;
}

void cmdScheduleDueInit(doveadm_mail_cmd_context* ctx) noexcept {
  const char* value = nullptr;
  if (doveadm_cmd_param_str(ctx->cctx, "now", &value)) {
    try {
      Result<int64_t> now = parseScheduleTime(value, wallClock(), "--now");
      if (!now.isOk()) {
        i_error("migrate schedule-due: %s (%s)", now.status().message().c_str(), now.status().hint().c_str());
        mergeCommandExitCode(ctx, usageExitCode());
        ctx->v.get_next_user = noMoreUsers;
        return;
      }
      dueContext(ctx)->now = now.value();
    } catch (...) {
      mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
      ctx->v.get_next_user = noMoreUsers;
      return;
    }
  }
  doveadm_print_header_simple("result");
  doveadm_print_header_simple("pass");
  doveadm_print_header_simple("next_run");
  doveadm_print_header_simple("pid");
  doveadm_print_header("message", "message", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

doveadm_mail_cmd_context* cmdScheduleDueAlloc() noexcept {
  auto* dctx = doveadm_mail_cmd_alloc(migrate_schedule_due_context);
  dctx->now = 0;
  dovecot::setMailCommandInit<cmdScheduleDueInit, isScheduleDueLetter>(&dctx->ctx);
  dctx->ctx.v.run = cmdScheduleDueRun;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &dctx->ctx;
}

const doveadm_cmd_param* scheduleDueParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    // Not in the usage line: a test's (or an admin's "run it early") clock.
    params.push_back(dovecot::makeParam('J', "now", CMD_PARAM_STR));
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_schedule_due_ver2 = {
    nullptr,
    migrate::cmd::cmdScheduleDueAlloc,
    "migrate schedule-due",
    "[-u <user>|-A|-F <user file>] [-S <socket_path>]",
    CMD_FLAG_NONE,
    migrate::cmd::scheduleDueParams(),
};
}
