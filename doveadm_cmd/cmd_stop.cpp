// `doveadm migrate stop [-u USER | -A | -F FILE] [-t SECONDS]`: stops the user's running
// migration on this host. It reads the user's dovecot-migrate.status (engine/run_status.h) and sends the
// run's process SIGTERM, the same as Ctrl-C or `kill PID`: doveadm turns it into
// doveadm_is_killed(), the engine stops after the current message, commits what it saved and
// keeps its state, and the run writes the status "stopped". The next run continues.
//
// It waits (up to -t seconds, default 60) until the process has gone, then prints the run's
// final status. Result column and exit code, per user:
//   stopped       the run was stopped (exit 0)
//   not_running   nothing to stop: never migrated, finished, or a dead run (exit 0: after the
//                 command no migration runs, which is what a script asking "stop" wants)
//   stopping      the signal was sent but the run was still going at the timeout (exit 75)
//   other_host    the status names another host (a run on another backend; run the stop there,
//                 e.g. `doveadm -S BACKEND migrate stop` or its HTTP API) (exit 69)
//   failed        the status could not be read or the signal not sent (exit code of the cause)
// Like status, it opens no mailbox and creates nothing.

#include <sys/types.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"

#include "cmd_migrate.h"
#include "dovecot_adapter/state_location.h"
#include "engine/run_job.h"
#include "exit_codes.h"
#include "status_common.h"
#include "stop_run.h"

namespace {

constexpr int kExUnavailable = 69;  // sysexits.h EX_UNAVAILABLE
constexpr int kExTempFail = 75;     // sysexits.h EX_TEMPFAIL
constexpr unsigned kDefaultWaitSeconds = 60;

}  // namespace

struct migrate_stop_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  unsigned waitSeconds;
};

namespace migrate::cmd {
namespace {

migrate_stop_context* stopContext(doveadm_mail_cmd_context* ctx) {
  return reinterpret_cast<migrate_stop_context*>(ctx);
}

void printStopRow(const StopOutcome& o) {
  const std::string state = displayState(o.status);
  const std::string pid = o.pid > 0 ? std::to_string(o.pid) : std::string();
  const RunStatus s = o.status.value_or(RunStatus());
  doveadm_print(o.result.c_str());
  doveadm_print(pid.c_str());
  doveadm_print(state.c_str());
  doveadm_print_num(s.copied);
  doveadm_print(o.message.c_str());
}

bool processGone(int64_t pid) {
  return ::kill(static_cast<pid_t>(pid), 0) < 0 && errno == ESRCH;
}

// The run is over once its status no longer says "running" with its pid (it writes the final
// state just before it exits; its process may linger as a zombie of its parent), or once the
// process has gone without writing it (killed harder in the meantime).
bool runEnded(mail_user* user, int64_t pid) {
  if (processGone(pid)) {
    return true;
  }
  Result<std::optional<RunStatus>> now = readUserRunStatus(user);
  return now.isOk() && (!now.value() || now.value()->state != "running" || now.value()->pid != pid);
}

}  // namespace

StopOutcome stopUser(mail_user* user, unsigned waitSeconds) {
  StopOutcome o;
  Result<std::optional<RunStatus>> found = readUserRunStatus(user);
  if (!found.isOk()) {
    o.result = "failed";
    o.message = found.status().describe();
    o.exitCode = exitCodeFor(found.status());
    return o;
  }
  o.status = found.value();
  if (!o.status || o.status->state != "running" || !runStatusAlive(*o.status)) {
    o.result = "not_running";
    o.message =
        !o.status ? "never migrated" : "no migration is running (last run: " + displayState(o.status) + ")";
    return o;
  }
  o.pid = o.status->pid;
  if (!o.status->host.empty() && o.status->host != localHostName()) {
    o.result = "other_host";
    o.message = "the migration runs on " + o.status->host +
                "; stop it there (e.g. doveadm -S <that backend> migrate stop -u " +
                std::string(user->username) + ")";
    o.exitCode = kExUnavailable;
    return o;
  }
  if (::kill(static_cast<pid_t>(o.pid), SIGTERM) < 0) {
    if (errno == ESRCH) {
      o.result = "not_running";
      o.message = "the run had just ended";
      return o;
    }
    o.result = "failed";
    o.message = std::string("cannot signal pid ") + std::to_string(o.pid) + ": " + std::strerror(errno) +
                " (run the command as root)";
    o.exitCode = exitCodeFor(ErrorKind::LocalStorage);
    return o;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
  bool ended = runEnded(user, o.pid);
  while (!ended && std::chrono::steady_clock::now() < deadline && !doveadm_is_killed()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ended = runEnded(user, o.pid);
  }
  Result<std::optional<RunStatus>> after = readUserRunStatus(user);
  if (after.isOk()) {
    o.status = after.value();
  }
  if (!ended) {
    o.result = "stopping";
    o.message =
        "SIGTERM sent; the run stops after the current message (a large message can take a while); "
        "check with doveadm migrate status";
    o.exitCode = kExTempFail;
    return o;
  }
  o.result = "stopped";
  o.message = "what was copied stays; run the migration again to continue";
  return o;
}

namespace {

// A job of `migrate start` stopped on purpose stays stopped: nothing restarts it on its own
// (engine/run_job.h "held"), only a start or resume.
void holdJob(mail_user* user) {
  Result<std::string> dir = dovecot::stateDirectoryPath(user);
  if (!dir.isOk()) {
    return;
  }
  Result<std::optional<RunJob>> job = readRunJob(dir.value());
  if (job.isOk() && job.value() && !job.value()->held) {
    job.value()->held = true;
    Status written = writeRunJob(dir.value(), *job.value());
    if (!written.isOk()) {
      i_warning("migrate stop(%s): %s", user->username, written.describe().c_str());
    }
  }
}

int stopRun(doveadm_mail_cmd_context* ctx, mail_user* user) {
  StopOutcome o = stopUser(user, stopContext(ctx)->waitSeconds);
  if (o.result == "stopped" || o.result == "stopping") {
    holdJob(user);
  }
  printStopRow(o);
  if (o.exitCode != 0) {
    i_error("migrate stop(%s): %s", user->username, o.message.c_str());
    mergeCommandExitCode(ctx, o.exitCode);
    return -1;
  }
  i_info("migrate stop(%s): %s: %s", user->username, o.result.c_str(), o.message.c_str());
  return 0;
}

int cmdStopRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  try {
    return stopRun(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate stop(%s): internal error: %s", user->username, e.what());
  } catch (...) {
    i_error("migrate stop(%s): internal error: unknown exception", user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

bool isStopOptionLetter(int letter) noexcept {
  return letter == 't';
}

void cmdStopInit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* sctx = stopContext(ctx);
  sctx->waitSeconds = kDefaultWaitSeconds;
  const char* value = nullptr;
  if (doveadm_cmd_param_str(ctx->cctx, "timeout", &value)) {
    char* end = nullptr;
    errno = 0;
    const unsigned long n = std::strtoul(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n > 86400) {
      i_error("migrate stop: -t/--timeout %s: not a number of seconds (0 to 86400)", value);
      mergeCommandExitCode(ctx, usageExitCode());
      ctx->v.get_next_user = [](doveadm_mail_cmd_context*, const char** usernameR) noexcept {
        *usernameR = nullptr;
        return 0;
      };
      return;
    }
    sctx->waitSeconds = static_cast<unsigned>(n);
  }
  doveadm_print_header_simple("result");
  doveadm_print_header_simple("pid");
  doveadm_print_header_simple("state");
  doveadm_print_header("copied", "copied",
                       static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                               DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY));
  doveadm_print_header("message", "message", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

doveadm_mail_cmd_context* cmdStopAlloc() noexcept {
  auto* sctx = doveadm_mail_cmd_alloc(migrate_stop_context);
  sctx->waitSeconds = kDefaultWaitSeconds;
  dovecot::setMailCommandInit<cmdStopInit, isStopOptionLetter>(&sctx->ctx);
  sctx->ctx.v.run = cmdStopRun;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &sctx->ctx;
}

const doveadm_cmd_param* stopParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    // A string, not INT64: doveadm silently drops an INT64 value that does not parse.
    params.push_back(dovecot::makeParam('t', "timeout", CMD_PARAM_STR));
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_stop_ver2 = {
    nullptr,        migrate::cmd::cmdStopAlloc,
    "migrate stop", "[-u <user>|-A|-F <user file>] [-S <socket_path>] [-t <seconds to wait>]",
    CMD_FLAG_NONE,  migrate::cmd::stopParams(),
};
}
