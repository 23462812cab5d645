// `doveadm migrate [-u USER | -A | -F USERFILE] [options]`: a doveadm mail command. doveadm's
// wrapper (doveadm_cmd_ver2_to_mail_cmd_wrapper) does the user iteration, the userdb lookup and
// the privilege drop; we get init() once (as root, before any user) and run() once per user.
//
// Every function doveadm calls is noexcept and catches everything: no C++ exception may unwind
// through doveadm's C frames.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cli_options.h"
#include "cmd_migrate.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/dovecot_sink.h"
#include "dovecot_adapter/migrate_settings.h"
#include "engine/migrator.h"
#include "exit_codes.h"
#include "job_notify.h"
#include "migrate_params.h"
#include "net/limits.h"
#include "run_tracker.h"

namespace migrate::cmd {
namespace {

// Lives from init() to deinit(); doveadm's context memory is a zeroed pool block that is never
// constructed or destructed, so it holds only a pointer to this.
struct CommandState {
  CliOptions cli;
  // init() rejected the command line: run() does nothing and the exit code is already set.
  bool initFailed = false;
  // prerun() switched this user's mail_fsync from "optimized" to "never": the sink flushes what
  // each committed batch wrote instead (see dovecot::SinkOptions).
  bool syncAfterCommit = false;
  // MIGRATE_TRIGGER (see runTrigger() for how it survives doveadm's environment cleaning).
  std::string trigger = runTrigger();
  // A run of a job started by `migrate start` (MIGRATE_JOB=1, dovecot_adapter/background_run.h):
  // it sends the job's result mail at its end.
  bool jobRun = std::getenv("MIGRATE_JOB") != nullptr;

  ~CommandState() {
    if (cli.password) {
      wipeSecret(*cli.password);
    }
  }
};

}  // namespace
}  // namespace migrate::cmd

struct migrate_cmd_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  migrate::cmd::CommandState* state;
};

namespace migrate::cmd {
namespace {

migrate_cmd_context* fromBase(doveadm_mail_cmd_context* ctx) {
  // ctx is the first member of migrate_cmd_context (allocated by cmdMigrateAlloc()).
  return reinterpret_cast<migrate_cmd_context*>(ctx);
}

void setExitCode(doveadm_mail_cmd_context* ctx, int code) {
  ctx->exit_code = mergeExitCode(ctx->exit_code, code);
}

// doveadm's user iterator, replaced when init() failed so that -A / -F / wildcards visit nobody.
int noMoreUsers(doveadm_mail_cmd_context*, const char** usernameR) noexcept {
  *usernameR = nullptr;
  return 0;
}

void addHeaders(bool dryRun) {
  using Flags = doveadm_print_header_flags;
  const Flags number =
      static_cast<Flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER | DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  // The local user name comes from doveadm's own sticky "username" column (add_username_header),
  // so -u, -A and -F print the same columns and JSON keys, as other doveadm commands do.
  doveadm_print_header_simple("result");
  doveadm_print_header("folders", "folders", number);
  doveadm_print_header("copied", "copied", number);
  doveadm_print_header("skipped", "skipped", number);
  doveadm_print_header("failed", "failed", number);
  doveadm_print_header("flags_updated", "flags_updated", number);
  // --sync-deletions (in a dry run: what a real run would do).
  doveadm_print_header("expunged", "expunged", number);
  doveadm_print_header("moved", "moved", number);
  doveadm_print_header("changed_here", "changed_here", number);
  doveadm_print_header("bytes", "bytes", number);
  doveadm_print_header("seconds", "seconds", number);
  // Why the run took what it took, and what it did not copy (see skipReasons()).
  doveadm_print_header("reconnects", "reconnects", number);
  doveadm_print_header("waited", "waited", number);
  doveadm_print_header_simple("skip_reasons");
  doveadm_print_header("excluded_folders", "excluded_folders", number);
  doveadm_print_header_simple("pop3_uidls");
  // What became of the old server's Sieve scripts (SieveReport::summary(); "" : not asked for).
  doveadm_print_header_simple("sieve");
  if (dryRun) {
    // The plan: what the engine found at the source (MigrationReport::sourceMessages/sourceBytes),
    // how many messages a real run would copy (FolderReport::pending), and the quota headroom.
    doveadm_print_header("source_messages", "source_messages", number);
    doveadm_print_header("source_bytes", "source_bytes", number);
    doveadm_print_header("pending", "pending", number);
    // A number, or "unlimited": not a NUMBER column (the JSON printer asserts numbers are numeric).
    doveadm_print_header("quota_free", "quota_free", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  }
  doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

uint64_t quotaFreeBytes(const MigrationReport& report) {
  return report.quotaLimit > report.quotaUsed ? report.quotaLimit - report.quotaUsed : 0;
}

std::string quotaFree(const MigrationReport& report) {
  return report.quotaLimited ? std::to_string(quotaFreeBytes(report)) : "unlimited";
}

uint64_t pendingMessages(const MigrationReport& report) {
  uint64_t n = 0;
  for (const FolderReport& f : report.folders) {
    n += f.pending;
  }
  return n;
}

// "too_large=2 date=5 duplicate=3": the messages not copied for a reason other than being there
// already (that count is the skipped column), in key order; "" when there are none.
std::string skipReasons(const MigrationReport& report) {
  std::string out;
  for (const auto& [reason, count] : report.skippedByReason) {
    if (reason == "present" || count == 0) {
      continue;
    }
    out += (out.empty() ? "" : " ") + reason + "=" + std::to_string(count);
  }
  return out;
}

// One row per user. All values are formatted before the first doveadm_print() so that a failure
// cannot leave a half-printed row.
void printRow(const MigrationReport& report, bool dryRun) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f", report.seconds >= 0 ? report.seconds : 0.0);
  const std::string error = report.status.isOk() ? std::string() : report.status.describe();
  const std::string free = dryRun ? quotaFree(report) : std::string();
  char waited[32];
  std::snprintf(waited, sizeof(waited), "%.1f", report.waitedSeconds >= 0 ? report.waitedSeconds : 0.0);
  const std::string reasons = skipReasons(report);
  const std::string pop3 = pop3Summary(report.pop3);
  const std::string sieve = report.sieve.summary();

  doveadm_print(report.result());
  doveadm_print_num(report.folders.size());
  doveadm_print_num(report.copied);
  doveadm_print_num(report.skipped);
  doveadm_print_num(report.failed);
  doveadm_print_num(report.flagsUpdated);
  doveadm_print_num(report.expunged);
  doveadm_print_num(report.moved);
  doveadm_print_num(report.changedHere);
  doveadm_print_num(report.bytes);
  doveadm_print(seconds);
  doveadm_print_num(report.reconnects);
  doveadm_print(waited);
  doveadm_print(reasons.c_str());
  doveadm_print_num(report.excludedFolders.size());
  doveadm_print(pop3.c_str());
  doveadm_print(sieve.c_str());
  if (dryRun) {
    doveadm_print_num(report.sourceMessages);
    doveadm_print_num(report.sourceBytes);
    doveadm_print_num(pendingMessages(report));
    doveadm_print(free.c_str());
  }
  doveadm_print(error.c_str());
}

void logFolders(const char* user, const MigrationReport& report) {
  for (const FolderReport& f : report.folders) {
    std::string line = f.source == f.destination ? f.destination : f.source + " -> " + f.destination;
    if (report.dryRun) {
      line += ": " + std::to_string(f.pending) + " of " + std::to_string(f.sourceMessages) + " to copy (" +
              formatBytes(f.sourceBytes) + ")";
    } else {
      line += ": " + std::to_string(f.copied) + " copied, " + std::to_string(f.skipped) + " skipped, " +
              std::to_string(f.failed) + " failed of " + std::to_string(f.sourceMessages) + " (" +
              formatBytes(f.bytes) + ")";
    }
    if (f.created) {
      line += ", created";
    }
    if (f.flagsUpdated > 0) {
      line += ", " + std::to_string(f.flagsUpdated) + " flag updates";
    }
    if (f.expunged > 0 || f.moved > 0 || f.changedHere > 0) {
      line += std::string(", ") + (report.dryRun ? "would expunge " : "expunged ") +
              std::to_string(f.expunged) + ", " + (report.dryRun ? "would move " : "moved ") +
              std::to_string(f.moved) + " (deleted or moved at the source), " +
              std::to_string(f.changedHere) + " left alone (changed here)";
    }
    if (!f.note.empty()) {
      line += "; " + f.note;
    }
    i_info("migrate(%s): %s", user, line.c_str());
  }
}

void logDryRunPlan(const char* user, const MigrationReport& report) {
  std::string line = "dry run: would copy " + std::to_string(pendingMessages(report)) + " messages (" +
                     formatBytes(report.sourceBytes) + ") in " + std::to_string(report.folders.size()) +
                     " folders; ";
  if (report.quotaLimited) {
    line += formatBytes(quotaFreeBytes(report)) + " free of " + formatBytes(report.quotaLimit) +
            " quota: " + (report.sourceBytes <= quotaFreeBytes(report) ? "fits" : "does NOT fit");
  } else {
    line += "no quota limit";
  }
  i_info("migrate(%s): %s", user, line.c_str());
}

std::string progressLine(const ProgressEvent& event) {
  if (!event.message.empty()) {
    return event.message;
  }
  std::string line = event.folder.empty() ? std::string() : event.folder + ": ";
  line += std::to_string(event.done) + "/" + std::to_string(event.total) + " messages";
  return line;
}

// Starts the run status of this user's run; nullptr (with a warning) when its directory cannot be
// made: the status is advisory and never stops a migration.
std::unique_ptr<RunTracker> startTracker(Sink& sink, const std::string& localUser, const std::string& trigger,
                                         const std::string& source) {
  Result<std::string> dir = sink.stateDir(true);
  if (!dir.isOk()) {
    // The engine reports the same problem as the run's error.
    return nullptr;
  }
  auto tracker = std::make_unique<RunTracker>(dir.value(), trigger, source);
  if (!tracker->start().isOk()) {
    i_warning("migrate(%s): cannot write the run status: %s", localUser.c_str(),
              tracker->lastError().describe().c_str());
  }
  return tracker;
}

// Logs, prints and sets the exit code for one user's result. Returns run()'s return value.
int finishUser(doveadm_mail_cmd_context* ctx, const CliOptions& cli, bool verbose, const char* user,
               const MigrationReport& report) {
  for (const std::string& w : report.warnings) {
    i_warning("migrate(%s): %s", user, w.c_str());
  }
  if (verbose) {
    logFolders(user, report);
  }
  if (cli.dryRun && report.status.isOk()) {
    logDryRunPlan(user, report);
  }
  printRow(report, cli.dryRun);
  if (report.status.isOk()) {
    return 0;
  }
  i_error("migrate(%s): %s", user, report.status.describe().c_str());
  setExitCode(ctx, exitCodeFor(report.status));
  return -1;
}

int runUser(doveadm_mail_cmd_context* ctx, mail_user* user) {
  CommandState* state = fromBase(ctx)->state;
  if (state == nullptr || state->initFailed) {
    // init() already logged the error and set the exit code (a usage error).
    if (ctx->exit_code == 0) {
      setExitCode(ctx, exitCodeFor(ErrorKind::Internal));
    }
    return -1;
  }
  const CliOptions& cli = state->cli;
  const std::string localUser = user->username;
  const bool verbose = cli.verbose || doveadm_verbose;

  MigrationReport report;
  if (Result<MigrationOptions> options = userRunOptions(cli, user, verbose); !options.isOk()) {
    report.status = options.status();
  } else {
    dovecot::SinkOptions sinkOptions;
    sinkOptions.syncAfterCommit = state->syncAfterCommit;
    std::unique_ptr<Sink> localSink = dovecot::makeDovecotSink(user, sinkOptions);
    Sink* sink = localSink.get();
    // The run status (dovecot-migrate.status in the state directory) for `doveadm migrate status`, `migrate
    // stop` and the first-login plugin; dry runs leave no trace.
    std::unique_ptr<RunTracker> tracker;
    std::unique_ptr<Sink> trackingSink;
    if (!cli.dryRun) {
      tracker = startTracker(*localSink, localUser, state->trigger, options.value().source.describe());
      if (tracker) {
        trackingSink = tracker->wrap(*localSink);
        sink = trackingSink.get();
      }
    }
    ProgressFn trackerProgress = tracker ? tracker->progressFn() : ProgressFn();
    ProgressFn progress = [&localUser, verbose, &trackerProgress](const ProgressEvent& event) {
      if (trackerProgress) {
        trackerProgress(event);
      }
      if (verbose) {
        i_info("migrate(%s): %s", localUser.c_str(), progressLine(event).c_str());
      }
    };
    report = runMigration(options.value(), *sink, progress);
    wipeSecret(options.value().source.password);
    if (tracker && !tracker->finish(report).isOk()) {
      i_warning("migrate(%s): cannot write the run status: %s", localUser.c_str(),
                tracker->lastError().describe().c_str());
    }
    if (tracker && state->jobRun) {
      notifyJobEnd(tracker->dir(), localUser, tracker->status());
    }
  }
  if (report.user.empty()) {
    report.user = localUser;
  }
  report.dryRun = cli.dryRun;
  return finishUser(ctx, cli, verbose, localUser.c_str(), report);
}

// --- doveadm vfuncs -------------------------------------------------------------------------

void cmdMigrateInit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* mctx = fromBase(ctx);
  Status status;
  try {
    mctx->state = new CommandState();
    status = parseCommandLine(ctx, mctx->state->cli);
  } catch (const std::exception& e) {
    status = Status(ErrorKind::Internal, std::string("internal error: ") + e.what());
  } catch (...) {
    status = Status(ErrorKind::Internal, "internal error: unknown exception");
  }
  if (status.isOk()) {
    addHeaders(mctx->state->cli.dryRun);
    return;
  }
  // No headers: no row follows, and a lone title line after the error would only confuse.
  i_error("migrate: %s", status.describe().c_str());
  setExitCode(ctx, status.kind() == ErrorKind::Config ? usageExitCode() : exitCodeFor(status));
  if (mctx->state != nullptr) {
    mctx->state->initFailed = true;
  }
  ctx->v.get_next_user = noMoreUsers;
}

// Before the user's storage exists: Dovecot's default mail_fsync=optimized fsyncs every saved
// message, which dominates a bulk import on most disks. The run saves with "never" and the sink
// flushes the files each committed batch wrote, together, before the engine records it (not
// the whole file system), so a crash loses at most an unrecorded batch, which the next run
// copies again. An admin's explicit "always" or "never" is kept as it is.
int cmdMigratePrerun(doveadm_mail_cmd_context* ctx, mail_storage_service_user* serviceUser,
                     const char** error_r) noexcept {
  auto* mctx = fromBase(ctx);
  if (mctx->state == nullptr) {
    return 0;
  }
  mctx->state->syncAfterCommit = false;
  if (mctx->state->cli.dryRun) {
    return 0;
  }
  if (!dovecot::overrideOptimizedFsync(serviceUser)) {
    return 0;
  }
  mctx->state->syncAfterCommit = true;
  (void)error_r;
  return 0;
}

int cmdMigrateRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  const char* name = user->username;
  try {
    return runUser(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate(%s): internal error: %s", name, e.what());
  } catch (...) {
    i_error("migrate(%s): internal error: unknown exception", name);
  }
  // doveadm asserts that a failing run() has set an exit code.
  setExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void cmdMigrateDeinit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* mctx = fromBase(ctx);
  delete mctx->state;  // ~CommandState is noexcept
  mctx->state = nullptr;
}

doveadm_mail_cmd_context* cmdMigrateAlloc() noexcept {
  auto* mctx = doveadm_mail_cmd_alloc(migrate_cmd_context);
  mctx->state = nullptr;
  dovecot::setMailCommandInit<cmdMigrateInit, isMigrateOptionLetter>(&mctx->ctx);
  mctx->ctx.v.prerun = cmdMigratePrerun;
  mctx->ctx.v.run = cmdMigrateRun;
  mctx->ctx.v.deinit = cmdMigrateDeinit;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &mctx->ctx;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_ver2 = {
    nullptr,       migrate::cmd::cmdMigrateAlloc, "migrate", migrate::cmd::kMigrateUsage,
    CMD_FLAG_NONE, migrate::cmd::migrateParams(),
};
}
