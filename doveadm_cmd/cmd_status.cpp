// `doveadm migrate status [-u USER | -A | -F FILE]`: one row per user from the user's dovecot-migrate.status
// (engine/run_status.h). A mail command because it needs each user's mail location from the
// userdb (the file is in INBOX's control directory, dovecot_adapter/state_location.h); it opens no
// mailbox and only reads, so it creates nothing and works for users that were never migrated
// ("never"). The progress columns (percent, rate, ETA) are computed from the file by
// engine/run_progress.h; about 0.2 ms per user with -A (bench/status_bench.py).
//
// Every function doveadm calls is noexcept and catches everything.

#include <exception>
#include <optional>
#include <string>

#include "cmd_migrate.h"
#include "common/strings.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "engine/run_progress.h"
#include "exit_codes.h"
#include "status_common.h"

namespace migrate::cmd {
namespace {

void addStatusHeaders() {
  using Flags = doveadm_print_header_flags;
  const Flags number =
      static_cast<Flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER | DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header_simple("state");
  doveadm_print_header_simple("trigger");
  doveadm_print_header_simple("started");
  doveadm_print_header_simple("finished");
  // When the next scheduled pass starts (state "scheduled", or between the passes).
  doveadm_print_header_simple("next_run");
  doveadm_print_header_simple("folder");
  doveadm_print_header("folders_done", "folders_done", number);
  doveadm_print_header("folders_total", "folders_total", number);
  doveadm_print_header("copied", "copied", number);
  doveadm_print_header("skipped", "skipped", number);
  doveadm_print_header("failed", "failed", number);
  doveadm_print_header("bytes", "bytes", number);
  doveadm_print_header("pending", "pending", number);
  // Progress against the run's plan (engine/run_progress.h). Empty when unknown, so not NUMBER
  // columns (the JSON printer asserts that those are numeric).
  const Flags maybeNumber = DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY;
  doveadm_print_header("total_messages", "total_messages", maybeNumber);
  doveadm_print_header("total_bytes", "total_bytes", maybeNumber);
  doveadm_print_header("percent", "percent", maybeNumber);
  doveadm_print_header("percent_messages", "percent_messages", maybeNumber);
  doveadm_print_header("rate_bytes_per_second", "rate_bytes_per_second", maybeNumber);
  doveadm_print_header("eta_seconds", "eta_seconds", maybeNumber);
  doveadm_print_header("consecutive_failures", "consecutive_failures", number);
  doveadm_print_header_simple("source");
  // The last `migrate verify` (engine/verify_result.h): complete / incomplete / failed / never.
  doveadm_print_header_simple("verify");
  doveadm_print_header_simple("verified");
  // What to do about the error (its Status::hint(); also at the end of `error`, in brackets).
  doveadm_print_header_simple("hint");
  doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

template <typename T>
std::string optionalText(const std::optional<T>& value) {
  return value ? std::to_string(*value) : std::string();
}

// All values are formatted before the first doveadm_print(), so a failure cannot leave a
// half-printed row.
void printStatusRow(const std::optional<RunStatus>& status, const std::string& readError,
                    const std::optional<VerifyRecord>& verify) {
  const RunStatus s = status.value_or(RunStatus());
  const std::string state = readError.empty() ? displayState(status) : "unknown";
  const RunProgress progress = computeRunProgress(readError.empty() ? status : std::nullopt, state);
  const std::string totalMessages = optionalText(s.totalMessages);
  const std::string totalBytes = optionalText(s.totalBytes);
  const std::string percent = optionalText(progress.percent);
  const std::string percentMessages = optionalText(progress.percentMessages);
  const std::string rate = optionalText(progress.rate);
  const std::string eta = optionalText(progress.etaSeconds);
  const std::string started = isoTime(s.started);
  const std::string finished = isoTime(s.finished);
  const std::string nextRun = isoTime(s.nextRun);
  std::string error = readError.empty() ? s.error : readError;
  std::string hint = readError.empty() ? s.errorHint : std::string();
  if (state == "interrupted" && error.empty()) {
    error = "the run (pid " + std::to_string(s.pid) +
            ") ended without a result (killed or crashed); run the migration again to continue";
    hint = "run the migration again to continue";
  }
  const std::string verifyResult = verify ? verify->result : "never";
  const std::string verified = verify ? isoTime(verify->finished) : std::string();
  doveadm_print(state.c_str());
  doveadm_print(s.trigger.c_str());
  doveadm_print(started.c_str());
  doveadm_print(finished.c_str());
  doveadm_print(nextRun.c_str());
  doveadm_print(s.folder.c_str());
  doveadm_print_num(s.foldersDone);
  doveadm_print_num(s.foldersTotal);
  doveadm_print_num(s.copied);
  doveadm_print_num(s.skipped);
  doveadm_print_num(s.failed);
  doveadm_print_num(s.bytes);
  doveadm_print_num(s.pending);
  doveadm_print(totalMessages.c_str());
  doveadm_print(totalBytes.c_str());
  doveadm_print(percent.c_str());
  doveadm_print(percentMessages.c_str());
  doveadm_print(rate.c_str());
  doveadm_print(eta.c_str());
  doveadm_print_num(s.consecutiveFailures);
  doveadm_print(s.source.c_str());
  doveadm_print(verifyResult.c_str());
  doveadm_print(verified.c_str());
  doveadm_print(hint.c_str());
  doveadm_print(error.c_str());
}

int statusRun(doveadm_mail_cmd_context* ctx, mail_user* user) {
  Result<std::optional<RunStatus>> status = readUserRunStatus(user);
  Result<std::optional<VerifyRecord>> verify = readUserVerifyRecord(user);
  if (!verify.isOk()) {
    i_warning("migrate status(%s): %s", user->username, verify.status().describe().c_str());
  }
  const std::optional<VerifyRecord> lastVerify = verify.isOk() ? verify.value() : std::nullopt;
  if (!status.isOk()) {
    printStatusRow(std::nullopt, status.status().describe(), lastVerify);
    i_error("migrate status(%s): %s", user->username, status.status().describe().c_str());
    mergeCommandExitCode(ctx, exitCodeFor(status.status()));
    return -1;
  }
  printStatusRow(status.value(), std::string(), lastVerify);
  return 0;
}

int cmdStatusRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  try {
    return statusRun(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate status(%s): internal error: %s", user->username, e.what());
  } catch (...) {
    i_error("migrate status(%s): internal error: unknown exception", user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void cmdStatusInit(doveadm_mail_cmd_context*) noexcept {
  addStatusHeaders();
}

doveadm_mail_cmd_context* cmdStatusAlloc() noexcept {
  doveadm_mail_cmd_context* ctx = doveadm_mail_cmd_alloc(struct doveadm_mail_cmd_context);
  dovecot::setMailCommandInit<cmdStatusInit, noOwnLetters>(ctx);
  ctx->v.run = cmdStatusRun;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return ctx;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_status_ver2 = {
    nullptr,          migrate::cmd::cmdStatusAlloc,
    "migrate status", "[-u <user>|-A|-F <user file>] [-S <socket_path>]",
    CMD_FLAG_NONE,    migrate::cmd::userSelectionParams(),
};
}
