#include "job_start.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include "cli_options.h"
#include "common/textfile.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/state_location.h"
#include "exit_codes.h"
#include "status_common.h"

namespace migrate::cmd {
namespace {

constexpr auto kWaitForStatus = std::chrono::seconds(5);

}  // namespace

StartOutcome failedOutcome(const Status& why) {
  StartOutcome o;
  o.result = "failed";
  o.message = why.describe();
  o.exitCode = exitCodeFor(why);
  return o;
}

StartOutcome alreadyRunningOutcome(const std::optional<RunStatus>& status) {
  StartOutcome o;
  o.result = "already_running";
  o.status = status;
  o.pid = status ? status->pid : 0;
  o.message = "a migration of this user is already running" +
              (status && status->pid > 0 ? " (pid " + std::to_string(status->pid) + ")" : std::string()) +
              "; follow it with doveadm migrate status";
  return o;
}

namespace {

// The status the new run writes first (state running, a pid other than the previous run's).
std::optional<RunStatus> awaitRunStatus(struct mail_user* user, const std::optional<RunStatus>& before) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitForStatus;
  while (std::chrono::steady_clock::now() < deadline && !doveadm_is_killed()) {
    Result<std::optional<RunStatus>> now = readUserRunStatus(user);
    if (now.isOk() && now.value() && now.value()->pid > 0 &&
        (!before || now.value()->started != before->started || now.value()->pid != before->pid)) {
      return now.value();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

// A line in the log before the run's own output, so that an admin sees where each run begins.
void writeLogHeader(int fd, const std::string& trigger) {
  char when[32] = {};
  const std::time_t now = std::time(nullptr);
  struct tm tm {};
  (void)std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  const std::string line =
      std::string("--- ") + when + " migration started in the background (" + trigger + ") ---\n";
  (void)!::write(fd, line.data(), line.size());
}

std::vector<std::string> runArgs(struct mail_user* user, const RunJob& job, bool withPassword) {
  std::vector<std::string> args = dovecot::doveadmCommandPrefix(user);
  args.insert(args.end(), {"migrate", "-u", user->username});
  args.insert(args.end(), job.args.begin(), job.args.end());
  if (withPassword) {
    args.emplace_back("--source-password-stdin");
  }
  return args;
}

}  // namespace

int lockUserRun(struct mail_user* user, const std::string& dir, StartOutcome& refused) {
  const int fd = dovecot::lockBackgroundRun(dir);
  if (fd >= 0) {
    return fd;
  }
  if (errno == EWOULDBLOCK) {
    Result<std::optional<RunStatus>> now = readUserRunStatus(user);
    refused = alreadyRunningOutcome(now.isOk() ? now.value() : std::nullopt);
  } else {
    refused = failedOutcome(
        textfile::sysError("cannot open the run lock", dir + "/" + dovecot::kBackgroundLockFile));
  }
  return -1;
}

StartOutcome startJob(struct mail_user* user, const std::string& dir, const RunJob& job,
                      std::string& password, const std::string& trigger) {
  StartOutcome refused;
  dovecot::FdGuard lock(lockUserRun(user, dir, refused));
  if (lock.get() < 0) {
    wipeSecret(password);
    return refused;
  }
  std::optional<RunStatus> before;
  if (std::optional<StartOutcome> refused = refuseIfRunning(user, before)) {
    wipeSecret(password);
    return *refused;
  }
  return startJobLocked(user, dir, job, password, trigger, lock.get(), before);
}

std::optional<StartOutcome> refuseIfRunning(struct mail_user* user, std::optional<RunStatus>& status) {
  Result<std::optional<RunStatus>> now = readUserRunStatus(user);
  if (!now.isOk()) {
    return failedOutcome(now.status());
  }
  status = now.value();
  if (displayState(status) == "running") {
    return alreadyRunningOutcome(status);
  }
  return std::nullopt;
}

StartOutcome startJobLocked(struct mail_user* user, const std::string& dir, const RunJob& job,
                            std::string& password, const std::string& trigger, int lockFd,
                            const std::optional<RunStatus>& before) {
  dovecot::FdGuard log(dovecot::openBackgroundLog(dir));
  if (log.get() < 0) {
    wipeSecret(password);
    return failedOutcome(
        textfile::sysError("cannot open the run's log", dir + "/" + dovecot::kBackgroundLogFile));
  }
  writeLogHeader(log.get(), trigger);
  dovecot::BackgroundRun run;
  run.args = runArgs(user, job, !password.empty());
  run.env.push_back("MIGRATE_TRIGGER=" + trigger);
  run.env.emplace_back("MIGRATE_JOB=1");
  if (const char* home = nullptr; mail_user_get_home(user, &home) > 0 && home != nullptr) {
    run.env.push_back("HOME=" + std::string(home));
  }
  run.logFd = log.get();
  run.lockFd = lockFd;
  Status started = dovecot::startBackgroundRun(run, password);
  if (!started.isOk()) {
    return failedOutcome(started.withPrefix("cannot start the background run"));
  }
  StartOutcome o;
  o.result = "started";
  o.status = awaitRunStatus(user, before);
  o.pid = o.status ? o.status->pid : 0;
  o.message = "the migration runs in the background; follow it with doveadm migrate status";
  return o;
}

StartOutcome startStoredJob(struct mail_user* user, const std::string& trigger) {
  Result<std::string> dir = dovecot::stateDirectory(user, true);
  if (!dir.isOk()) {
    return failedOutcome(dir.status());
  }
  Result<std::optional<RunJob>> job = readRunJob(dir.value());
  if (!job.isOk()) {
    return failedOutcome(job.status());
  }
  if (!job.value()) {
    return failedOutcome(Status(ErrorKind::Config,
                                "no migration was started for this user with doveadm migrate start",
                                "start one with doveadm migrate start (HTTP migrateStart)"));
  }
  std::string password;
  if (job.value()->secret) {
    Result<std::optional<std::string>> secret = readRunSecret(dir.value());
    if (!secret.isOk()) {
      return failedOutcome(secret.status());
    }
    if (!secret.value()) {
      return failedOutcome(Status(
          ErrorKind::Config, "the stored source password is gone (it is removed when a migration ends)",
          "start the migration again with its password (migrateStart sourcePassword)"));
    }
    password = std::move(*secret.value());
  }
  return startJob(user, dir.value(), *job.value(), password, trigger);
}

}  // namespace migrate::cmd

namespace migrate::cmd {

void addJobHeaders() {
  doveadm_print_header_simple("result");
  doveadm_print_header_simple("pid");
  doveadm_print_header_simple("state");
  doveadm_print_header("message", "message", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

void printJobRow(const std::string& result, int64_t pid, const std::optional<RunStatus>& status,
                 const std::string& message) {
  const std::string pidText = pid > 0 ? std::to_string(pid) : std::string();
  const std::string state = displayState(status);
  doveadm_print(result.c_str());
  doveadm_print(pidText.c_str());
  doveadm_print(state.c_str());
  doveadm_print(message.c_str());
}

}  // namespace migrate::cmd
