#pragma once
// Starting a user's migration in the background for `migrate start`, `migrate resume` and a
// scheduled pass: one detached `doveadm migrate -u USER <options>` (dovecot_adapter/
// background_run.h) at a time per user, with the options of the user's job (engine/run_job.h) and
// its stored password on the run's stdin.

#include <cstdint>
#include <optional>
#include <string>

#include "engine/run_job.h"
#include "engine/run_status.h"

struct mail_user;

namespace migrate::cmd {

struct StartOutcome {
  std::string result;  // started | already_running | failed
  int64_t pid = 0;     // the run's pid once its status says so (0: not seen yet)
  std::optional<RunStatus> status;
  std::string message;
  int exitCode = 0;
};

// Starts `job` for the user now, unless a run of this user is alive (already_running). The
// password (may be empty) is wiped. `trigger` goes into the run's status ("panel", "schedule").
// Waits a few seconds for the run's first status so that the answer can name its pid.
StartOutcome startJob(struct mail_user* user, const std::string& dir, const RunJob& job,
                      std::string& password, const std::string& trigger);

// Locks the user's background run (dovecot_adapter/background_run.h): the descriptor, or -1 with
// `refused` set (already_running when another start or run holds it, else failed).
int lockUserRun(struct mail_user* user, const std::string& dir, StartOutcome& refused);
// Under the lock: the user's run status into `status`, and the answer when a run of the user is
// alive (already_running) or the status cannot be read (failed); nullopt when a run may start.
std::optional<StartOutcome> refuseIfRunning(struct mail_user* user, std::optional<RunStatus>& status);
// startJob() with the lock already held (it passes to the run) and refuseIfRunning() passed:
// `before` is the status it read.
StartOutcome startJobLocked(struct mail_user* user, const std::string& dir, const RunJob& job,
                            std::string& password, const std::string& trigger, int lockFd,
                            const std::optional<RunStatus>& before);

// The answer when it could not be done: result "failed", the message and exit code of `why`.
StartOutcome failedOutcome(const Status& why);

// The answer when a run of the user is alive.
StartOutcome alreadyRunningOutcome(const std::optional<RunStatus>& status);

// The same with the user's stored job (dovecot-migrate.job, the password from
// dovecot-migrate.secret); failed with a hint when there is none.
StartOutcome startStoredJob(struct mail_user* user, const std::string& trigger);

}  // namespace migrate::cmd

namespace migrate::cmd {

// The columns of start, pause and resume: result, pid, state (as `migrate status` shows it),
// message; and one row.
void addJobHeaders();
void printJobRow(const std::string& result, int64_t pid, const std::optional<RunStatus>& status,
                 const std::string& message);

}  // namespace migrate::cmd
