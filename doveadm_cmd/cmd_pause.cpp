// `doveadm migrate pause|resume [-u USER | -A | -F FILE]` (HTTP migratePause / migrateResume).
//
// pause: marks the user's job paused (engine/run_job.h) and stops a running migration as
//   `migrate stop` does: after the current message, with everything saved. The run then ends with
//   the state "paused" instead of "stopped", and stays so: a login does not restart it, a
//   schedule skips it. A user that is not running but scheduled is paused too.
//   Result: paused | not_running | stopping | other_host | failed.
// resume: clears the mark and starts the job again in the background with its stored options
//   and password; the run continues where the paused one stopped (nothing is copied twice).
//   A paused first-login run (no stored job) continues at the user's next login instead.
//   Result: started | already_running | scheduled | nothing_to_resume | failed.

#include <ctime>
#include <exception>
#include <string>

#include "cmd_migrate.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/state_location.h"
#include "engine/run_schedule.h"
#include "exit_codes.h"
#include "job_start.h"
#include "status_common.h"
#include "stop_run.h"

namespace migrate::cmd {
namespace {

constexpr unsigned kPauseWaitSeconds = 60;

// The user's state directory and run status, or why not.
struct UserRun {
  std::string dir;
  std::optional<RunStatus> status;
};

Result<UserRun> loadUserRun(mail_user* user) {
  UserRun run;
  MIGRATE_ASSIGN_OR_RETURN(run.dir, dovecot::stateDirectory(user, true));
  MIGRATE_ASSIGN_OR_RETURN(run.status, readUserRunStatus(user));
  return run;
}

StartOutcome failed(const Status& why) {
  return failedOutcome(why);
}

// The user's job with the pause mark set or cleared; a job is made for a run that was not
// started by `migrate start` (its trigger from the status), so that the run can see the mark.
Status markPaused(const std::string& dir, const std::optional<RunStatus>& status, bool paused) {
  MIGRATE_ASSIGN_OR_RETURN(std::optional<RunJob> job, readRunJob(dir));
  if (!job) {
    if (!paused) {
      return Status::ok();
    }
    job = RunJob();
    job->created = static_cast<int64_t>(std::time(nullptr));
    job->trigger = status ? status->trigger : std::string("doveadm");
  }
  if (job->paused == paused && job->held == paused) {
    return Status::ok();
  }
  job->paused = paused;
  job->held = paused;
  return writeRunJob(dir, *job);
}

// A user that is not running: a scheduled one is paused (its status says so), else nothing.
StartOutcome pauseIdle(const std::string& dir, std::optional<RunStatus> status) {
  StartOutcome o;
  const std::string state = displayState(status);
  if (state != "scheduled") {
    o.result = state == "paused" ? "paused" : "not_running";
    o.status = status;
    o.message = state == "paused" ? "already paused" : "no migration is running (last run: " + state + ")";
    return o;
  }
  Status st = markPaused(dir, status, true);
  if (st.isOk()) {
    status->state = "paused";
    st = writeRunStatus(dir, *status);
  }
  if (!st.isOk()) {
    return failed(st);
  }
  o.result = "paused";
  o.status = status;
  o.message = "the scheduled migration will not start until it is resumed (doveadm migrate resume)";
  return o;
}

StartOutcome pauseUser(mail_user* user) {
  Result<UserRun> run = loadUserRun(user);
  if (!run.isOk()) {
    return failed(run.status());
  }
  const std::string& dir = run.value().dir;
  const std::optional<RunStatus>& status = run.value().status;
  if (!status || status->state != "running" || !runStatusAlive(*status)) {
    return pauseIdle(dir, status);
  }
  Status marked = markPaused(dir, status, true);
  if (!marked.isOk()) {
    return failed(marked);
  }
  StopOutcome stop = stopUser(user, kPauseWaitSeconds);
  StartOutcome o;
  o.result = stop.result == "stopped" ? "paused" : stop.result;
  o.pid = stop.pid;
  o.status = stop.status;
  o.exitCode = stop.exitCode;
  o.message =
      stop.result == "stopped"
          ? "paused after the current message; what was copied stays (doveadm migrate resume continues)"
          : stop.message;
  return o;
}

StartOutcome resumeUser(mail_user* user) {
  Result<UserRun> run = loadUserRun(user);
  if (!run.isOk()) {
    return failed(run.status());
  }
  const std::string& dir = run.value().dir;
  std::optional<RunStatus> status = run.value().status;
  const std::string state = displayState(status);
  if (state == "running") {
    return alreadyRunningOutcome(status);
  }
  Result<std::optional<RunJob>> job = readRunJob(dir);
  if (!job.isOk()) {
    return failed(job.status());
  }
  StartOutcome o;
  o.status = status;
  if (state != "paused" && state != "stopped" && state != "interrupted") {
    o.result = "nothing_to_resume";
    o.message = "the migration is not paused (state: " + state + ")";
    return o;
  }
  Status st = markPaused(dir, status, false);
  if (!st.isOk()) {
    return failed(st);
  }
  // Paused before its first scheduled pass: the schedule goes on.
  if (state == "paused" && status->started == 0 && schedulePending(dir)) {
    status->state = "scheduled";
    st = writeRunStatus(dir, *status);
    o.result = st.isOk() ? "scheduled" : "failed";
    o.message = st.isOk() ? "the migration starts at the scheduled time" : st.describe();
    o.status = status;
    return o;
  }
  if (!job.value() && status->trigger != "login") {
    o.result = "nothing_to_resume";
    o.message = "this migration was not started with doveadm migrate start (trigger: " + status->trigger +
                "); run the same doveadm migrate command again to continue it";
    return o;
  }
  // A first-login run has no stored job: its password comes with the user's next login.
  if (!job.value() || (job.value()->args.empty() && !job.value()->secret && status->trigger == "login")) {
    status->state = "stopped";
    st = writeRunStatus(dir, *status);
    o.result = st.isOk() ? "resumed" : "failed";
    o.message = st.isOk() ? "the migration continues at the user's next login" : st.describe();
    o.status = status;
    return o;
  }
  return startStoredJob(user, job.value()->trigger.empty() ? "doveadm" : job.value()->trigger);
}

template <StartOutcome (*Action)(mail_user*)>
int runJobAction(doveadm_mail_cmd_context* ctx, mail_user* user, const char* name) noexcept {
  try {
    StartOutcome o = Action(user);
    printJobRow(o.result, o.pid, o.status, o.message);
    if (o.exitCode != 0) {
      i_error("migrate %s(%s): %s", name, user->username, o.message.c_str());
      mergeCommandExitCode(ctx, o.exitCode);
      return -1;
    }
    i_info("migrate %s(%s): %s", name, user->username, o.result.c_str());
    return 0;
  } catch (const std::exception& e) {
    i_error("migrate %s(%s): internal error: %s", name, user->username, e.what());
  } catch (...) {
    i_error("migrate %s(%s): internal error: unknown exception", name, user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void jobHeadersInit(doveadm_mail_cmd_context*) noexcept {
  addJobHeaders();
}

doveadm_mail_cmd_context* cmdPauseAlloc() noexcept {
  auto* ctx = doveadm_mail_cmd_alloc(doveadm_mail_cmd_context);
  dovecot::setMailCommandInit<jobHeadersInit, noOwnLetters>(ctx);
  ctx->v.run = [](doveadm_mail_cmd_context* c, mail_user* u) noexcept {
    return runJobAction<pauseUser>(c, u, "pause");
  };
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return ctx;
}

doveadm_mail_cmd_context* cmdResumeAlloc() noexcept {
  auto* ctx = doveadm_mail_cmd_alloc(doveadm_mail_cmd_context);
  dovecot::setMailCommandInit<jobHeadersInit, noOwnLetters>(ctx);
  ctx->v.run = [](doveadm_mail_cmd_context* c, mail_user* u) noexcept {
    return runJobAction<resumeUser>(c, u, "resume");
  };
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return ctx;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_pause_ver2 = {
    nullptr,         migrate::cmd::cmdPauseAlloc,
    "migrate pause", "[-u <user>|-A|-F <user file>] [-S <socket_path>]",
    CMD_FLAG_NONE,   migrate::cmd::userSelectionParams(),
};
struct doveadm_cmd_ver2 doveadm_cmd_migrate_resume_ver2 = {
    nullptr,          migrate::cmd::cmdResumeAlloc,
    "migrate resume", "[-u <user>|-A|-F <user file>] [-S <socket_path>]",
    CMD_FLAG_NONE,    migrate::cmd::userSelectionParams(),
};
}
