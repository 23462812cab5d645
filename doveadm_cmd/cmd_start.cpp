// `doveadm migrate start -u USER [migrate options] [--at T] [--second-pass-after H] [--notify ADDR]`
// (HTTP API: migrateStart): starts the user's migration in the background and answers at once.
// The options are those of `doveadm migrate`; they are kept with the user (engine/run_job.h) so
// that `migrate resume` and a scheduled pass run the same migration again.
//
// The source password: over the HTTP API the parameter sourcePassword (refused elsewhere: on a
// command line it would be in the shell history and `ps`, over the doveadm protocol a getopt
// error can log it); on the command line -W (stdin) or -w FILE. A password given over the API or
// on stdin is kept in dovecot-migrate.secret (0600) while the job may need it again (a pause, a
// scheduled pass) and handed to each run on its stdin: never in an argument list, log line,
// status or report.
//
// Result column: started | already_running | scheduled | failed (see job_start.h).

#include <cstring>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

#include "batch_params.h"
#include "cli_options.h"
#include "cmd_migrate.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/state_location.h"
#include "exit_codes.h"
#include "job_start.h"
#include "migrate_params.h"
#include "start_schedule.h"
#include "status_common.h"

namespace migrate::cmd {
namespace {

struct StartState {
  std::string password;           // sourcePassword or -W; empty: none to store
  std::vector<std::string> args;  // the migrate options for the runs
  StartScheduleArgs schedule;
  std::string notify;  // --notify: a result mail at the end of each run of the job
  std::string trigger;
  bool initFailed = false;
  // Over the HTTP API a refused request still answers with a row (result "failed", the reason
  // in message): doveadm's error reply would carry only the exit code.
  std::optional<Status> refusal;
  ~StartState() { wipeSecret(password); }
};

}  // namespace
}  // namespace migrate::cmd

struct migrate_start_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  migrate::cmd::StartState* state;
};

namespace migrate::cmd {
namespace {

migrate_start_context* startContext(doveadm_mail_cmd_context* ctx) {
  return reinterpret_cast<migrate_start_context*>(ctx);
}

std::vector<std::string> runOptionArgs(const doveadm_cmd_context* cctx, bool dryRun) {
  std::vector<std::string> args;
  for (const batch::PassThrough& p : bulk::passedThroughOptions(cctx)) {
    args.push_back("--" + p.name);
    if (!p.flag) {
      args.push_back(p.value);
    }
  }
  if (dryRun) {
    args.emplace_back("--dry-run");
  }
  return args;
}

std::optional<std::string> strParam(doveadm_cmd_context* cctx, const char* name) {
  const char* value = nullptr;
  if (doveadm_cmd_param_str(cctx, name, &value) && value != nullptr) {
    return std::string(value);
  }
  return std::nullopt;
}

// The password to keep for the runs: sourcePassword over HTTP, or -W's. -w FILE stays a file
// the runs read themselves.
Status takePassword(doveadm_mail_cmd_context* ctx, CliOptions& cli, std::string& password) {
  std::optional<std::string> given = strParam(ctx->cctx, "source-password");
  bool fromStdin = false;
  (void)doveadm_cmd_param_bool(ctx->cctx, "source-password-stdin", &fromStdin);
  if (given) {
    if (ctx->cctx->conn_type != DOVEADM_CONNECTION_TYPE_HTTP) {
      wipeSecret(*given);
      return Status(ErrorKind::Config,
                    "--source-password is accepted only over the doveadm HTTP API (sourcePassword)",
                    "on the command line use -W (the password on stdin) or -w FILE, which keep it out of "
                    "the process list and the shell history");
    }
    if (cli.password || cli.oauth2TokenFile || cli.oauth2TokenCommand) {
      wipeSecret(*given);
      return Status(ErrorKind::Config, "sourcePassword given together with another login method",
                    "give only one of sourcePassword, sourcePasswordFile, sourceOauth2TokenFile and "
                    "sourceOauth2TokenCommand");
    }
    if (given->empty()) {
      return Status(ErrorKind::Config, "sourcePassword is empty", "give the password of the old mailbox");
    }
    password.swap(*given);
    wipeSecret(*given);
  } else if (fromStdin && cli.password) {
    password.swap(*cli.password);
  }
  if (cli.password) {
    wipeSecret(*cli.password);
  }
  return Status::ok();
}

bool paramGiven(const doveadm_cmd_context* cctx, const char* name) {
  for (int i = 0; i < cctx->argc; ++i) {
    const doveadm_cmd_param& p = cctx->argv[i];
    if (p.name != nullptr && p.value_set && std::strcmp(p.name, name) == 0) {
      return p.type != CMD_PARAM_BOOL || p.value.v_bool;
    }
  }
  return false;
}

// One background run per user: started for thousands at once they would all copy at the same
// time. Many mailboxes are a batch, which runs a few at a time.
Status checkOneUser(const doveadm_cmd_context* cctx) {
  const char* user = nullptr;
  const bool wildcard = doveadm_cmd_param_str(const_cast<doveadm_cmd_context*>(cctx), "user", &user) &&
                        user != nullptr && std::strpbrk(user, "*?") != nullptr;
  if (paramGiven(cctx, "all-users") || paramGiven(cctx, "user-file") || wildcard) {
    return Status(
        ErrorKind::Config, "migrate start takes one user (-u USER), not -A, -F or a wildcard",
        "start many mailboxes as a batch: doveadm migrate batch --background FILE (HTTP migrateBatch)");
  }
  return Status::ok();
}

void cmdStartInit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* sctx = startContext(ctx);
  Status status;
  try {
    sctx->state = new StartState();
    CliOptions cli;
    status = checkOneUser(ctx->cctx);
    if (status.isOk()) {
      status = parseCommandLine(ctx, cli);
    }
    if (status.isOk()) {
      status = takePassword(ctx, cli, sctx->state->password);
    }
    if (status.isOk()) {
      sctx->state->schedule.at = strParam(ctx->cctx, "at");
      sctx->state->schedule.secondPassAfter = strParam(ctx->cctx, "second-pass-after");
      status = checkStartSchedule(sctx->state->schedule);
    }
    if (status.isOk()) {
      sctx->state->args = runOptionArgs(ctx->cctx, cli.dryRun);
      sctx->state->notify = strParam(ctx->cctx, "notify").value_or("");
      if (sctx->state->notify.find_first_of(" \t\r\n,;") != std::string::npos) {
        status = Status(ErrorKind::Config, "--notify " + sctx->state->notify + ": not one mail address",
                        "give one address, e.g. --notify admin@example.org");
      }
      sctx->state->trigger = ctx->cctx->conn_type == DOVEADM_CONNECTION_TYPE_HTTP ? "panel" : "doveadm";
    }
  } catch (const std::exception& e) {
    status = Status(ErrorKind::Internal, e.what());
  }
  if (status.isOk()) {
    addJobHeaders();
    return;
  }
  i_error("migrate start: %s", status.describe().c_str());
  if (sctx->state != nullptr && ctx->cctx->conn_type == DOVEADM_CONNECTION_TYPE_HTTP &&
      checkOneUser(ctx->cctx).isOk()) {
    sctx->state->refusal = status;
    addJobHeaders();
    return;
  }
  mergeCommandExitCode(ctx, status.kind() == ErrorKind::Config ? usageExitCode() : exitCodeFor(status));
  if (sctx->state != nullptr) {
    sctx->state->initFailed = true;
  }
  ctx->v.get_next_user = [](doveadm_mail_cmd_context*, const char** usernameR) noexcept {
    *usernameR = nullptr;
    return 0;
  };
}

// The job of this start, without the password.
RunJob newJob(const StartState& st) {
  RunJob job;
  job.created = static_cast<int64_t>(std::time(nullptr));
  job.trigger = st.trigger;
  job.secret = !st.password.empty();
  job.args = st.args;
  job.notify = st.notify;
  return job;
}

// Under the user's run lock (two starts at once: one waits for nothing and answers
// already_running): stores the job and its password (or removes an older password), then starts
// or schedules it.
StartOutcome startUser(StartState& st, mail_user* user) {
  Result<std::string> dir = dovecot::stateDirectory(user, true);
  if (!dir.isOk()) {
    return failedOutcome(dir.status());
  }
  StartOutcome refused;
  dovecot::FdGuard lock(lockUserRun(user, dir.value(), refused));
  if (lock.get() < 0) {
    return refused;
  }
  std::optional<RunStatus> before;
  if (std::optional<StartOutcome> running = refuseIfRunning(user, before)) {
    return *running;
  }
  const RunJob job = newJob(st);
  Status status = job.secret ? writeRunSecret(dir.value(), st.password) : removeRunSecret(dir.value());
  if (status.isOk()) {
    status = writeRunJob(dir.value(), job);
  }
  Result<bool> startNow =
      status.isOk() ? applyStartSchedule(user, dir.value(), st.schedule) : Result<bool>(status);
  if (!startNow.isOk()) {
    return failedOutcome(startNow.status());
  }
  if (!startNow.value()) {
    refused.result = "scheduled";
    Result<std::optional<RunStatus>> after = readUserRunStatus(user);
    refused.status = after.isOk() ? after.value() : std::nullopt;
    refused.message = "the migration starts at the scheduled time; follow it with doveadm migrate status";
    return refused;
  }
  std::string password = st.password;
  return startJobLocked(user, dir.value(), job, password, st.trigger, lock.get(), before);
}

int cmdStartRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  try {
    StartState& st = *startContext(ctx)->state;
    if (st.initFailed) {
      return -1;
    }
    if (st.refusal) {
      Result<std::optional<RunStatus>> now = readUserRunStatus(user);
      printJobRow("failed", 0, now.isOk() ? now.value() : std::nullopt, st.refusal->describe());
      return 0;
    }
    StartOutcome o = startUser(st, user);
    printJobRow(o.result, o.pid, o.status, o.message);
    if (o.exitCode != 0) {
      i_error("migrate start(%s): %s", user->username, o.message.c_str());
      mergeCommandExitCode(ctx, o.exitCode);
      return -1;
    }
    i_info("migrate start(%s): %s", user->username, o.result.c_str());
    return 0;
  } catch (const std::exception& e) {
    i_error("migrate start(%s): internal error: %s", user->username, e.what());
  } catch (...) {
    i_error("migrate start(%s): internal error: unknown exception", user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void cmdStartDeinit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* sctx = startContext(ctx);
  delete sctx->state;
  sctx->state = nullptr;
}

bool isStartOptionLetter(int c) noexcept {
  return c == 'y' || c == 'a' || c == 'I' || c == 'l' || isMigrateOptionLetter(c);
}

doveadm_mail_cmd_context* cmdStartAlloc() noexcept {
  auto* sctx = doveadm_mail_cmd_alloc(migrate_start_context);
  sctx->state = nullptr;
  dovecot::setMailCommandInit<cmdStartInit, isStartOptionLetter>(&sctx->ctx);
  sctx->ctx.v.run = cmdStartRun;
  sctx->ctx.v.deinit = cmdStartDeinit;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &sctx->ctx;
}

const doveadm_cmd_param* startParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    appendMigrateOptionParams(params);
    params.push_back(dovecot::makeParam('y', "source-password", CMD_PARAM_STR));
    params.push_back(dovecot::makeParam('a', "at", CMD_PARAM_STR));
    params.push_back(dovecot::makeParam('I', "second-pass-after", CMD_PARAM_STR));
    params.push_back(dovecot::makeParam('l', "notify", CMD_PARAM_STR));
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

const std::string kStartUsage =
    std::string(kMigrateUsage) + " [--at <time>] [--second-pass-after <hours>] [--notify <address>]";

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_start_ver2 = {
    nullptr,       migrate::cmd::cmdStartAlloc, "migrate start", migrate::cmd::kStartUsage.c_str(),
    CMD_FLAG_NONE, migrate::cmd::startParams(),
};
}
