// `doveadm migrate verify [-u USER | -A | -F USERFILE] [-B] [migrate options]`: the independent
// check before the old account is closed (core/engine/verify.h). A mail command like `migrate`:
// the same options and settings reach the same source; one row per user; exit 0 only when every
// user's mail is complete. It writes nothing but the user's dovecot-migrate.verify, which
// `migrate status` shows (engine/verify_result.h).
//
// Every function doveadm calls is noexcept and catches everything.

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_options.h"
#include "cmd_migrate.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/dovecot_sink.h"
#include "dovecot_adapter/state_location.h"
#include "engine/verify.h"
#include "engine/verify_result.h"
#include "exit_codes.h"
#include "migrate_params.h"

namespace migrate::cmd {
namespace {

// Folder lines per user in the log before "... and N more".
constexpr size_t kMaxLoggedItems = 20;

struct VerifyState {
  CliOptions cli;
  bool full = false;
  bool initFailed = false;
  // doveadm -f was given before our alloc (json, tab, flow): the row gets the per-folder details.
  bool details = false;
  ~VerifyState() {
    if (cli.password) {
      wipeSecret(*cli.password);
    }
  }
};

}  // namespace
}  // namespace migrate::cmd

struct verify_cmd_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  migrate::cmd::VerifyState* state;
  bool formatterChosen;
};

namespace migrate::cmd {
namespace {

verify_cmd_context* fromBase(doveadm_mail_cmd_context* ctx) {
  return reinterpret_cast<verify_cmd_context*>(ctx);
}

int noMoreUsers(doveadm_mail_cmd_context*, const char** usernameR) noexcept {
  *usernameR = nullptr;
  return 0;
}

bool isVerifyLetter(int c) noexcept {
  return c == 'B' || isMigrateOptionLetter(c);
}

void addHeaders(bool details) {
  using Flags = doveadm_print_header_flags;
  const Flags number =
      static_cast<Flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER | DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header_simple("result");
  for (const char* name : {"folders", "source_messages", "matched", "missing", "differing", "extra", "local",
                           "filtered", "excluded_folders"}) {
    doveadm_print_header(name, name, number);
  }
  doveadm_print_header("seconds", "seconds", number);
  doveadm_print_header("summary", "summary", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  if (details) {
    doveadm_print_header_simple("details");
  }
}

void printRow(const VerifyReport& r, bool details) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f", r.seconds >= 0 ? r.seconds : 0.0);
  const std::string summary = r.summary();
  const std::string folders = details ? verifyFoldersJson(r) : std::string();
  doveadm_print(r.result());
  doveadm_print_num(r.folders.size());
  doveadm_print_num(r.sourceMessages());
  doveadm_print_num(r.matched());
  doveadm_print_num(r.missing());
  doveadm_print_num(r.differing());
  doveadm_print_num(r.extra());
  doveadm_print_num(r.local());
  doveadm_print_num(r.filtered());
  doveadm_print_num(r.excludedFolders.size());
  doveadm_print(seconds);
  doveadm_print(summary.c_str());
  if (details) {
    doveadm_print(folders.c_str());
  }
}

std::string uidList(const std::vector<uint32_t>& uids) {
  std::string out;
  for (size_t i = 0; i < uids.size() && i < kMaxLoggedItems; i++) {
    out += (i == 0 ? "" : ",") + std::to_string(uids[i]);
  }
  if (uids.size() > kMaxLoggedItems) {
    out += " and " + std::to_string(uids.size() - kMaxLoggedItems) + " more";
  }
  return out;
}

// One log line per folder that is not complete (every folder with -v), naming what to look at.
void logFolders(const char* user, const VerifyReport& r, bool verbose) {
  for (const FolderVerify& f : r.folders) {
    if (f.complete() && !verbose) {
      continue;
    }
    std::string line = f.source == f.destination ? f.destination : f.source + " -> " + f.destination;
    line += ": " + std::to_string(f.matched) + " of " + std::to_string(f.sourceMessages) + " here";
    if (!f.error.empty()) {
      line += "; not verified: " + f.error;
    }
    if (!f.missing.empty()) {
      line += "; missing source UIDs " + uidList(f.missing);
      line += f.destMissing ? " (the folder does not exist here)" : "";
    }
    for (size_t i = 0; i < f.differences.size() && i < kMaxLoggedItems; i++) {
      const VerifyDifference& d = f.differences[i];
      line += "; source UID " + std::to_string(d.sourceUid) + " (here " + std::to_string(d.destUid) + ") " +
              d.what + " differs: source '" + d.source + "', here '" + d.here + "'";
    }
    if (f.differences.size() > kMaxLoggedItems) {
      line += "; " + std::to_string(f.differences.size() - kMaxLoggedItems) + " more differences";
    }
    if (!f.extra.empty()) {
      std::vector<uint32_t> uids;
      for (const auto& [uid, sourceUid] : f.extra) {
        uids.push_back(uid);
      }
      line += "; here but gone at the source: UIDs " + uidList(uids);
    }
    if (f.local > 0) {
      line += "; " + std::to_string(f.local) + " not from the source (delivered here)";
    }
    i_info("migrate verify(%s): %s", user, line.c_str());
  }
  for (const std::string& e : r.excludedFolders) {
    if (verbose) {
      i_info("migrate verify(%s): left out: %s", user, e.c_str());
    }
  }
}

// The one write of a verify: its result, for `migrate status`. Never fails the verify.
void recordResult(mail_user* user, const VerifyReport& r) {
  Result<std::string> dir = dovecot::stateDirectoryPath(user);
  Status st = dir.isOk() ? writeVerifyRecord(dir.value(), verifyRecordOf(r)) : dir.status();
  if (!st.isOk()) {
    i_warning("migrate verify(%s): cannot keep the result for `doveadm migrate status`: %s", user->username,
              st.describe().c_str());
  }
}

int runUser(doveadm_mail_cmd_context* ctx, mail_user* user) {
  VerifyState* state = fromBase(ctx)->state;
  if (state == nullptr || state->initFailed) {
    if (ctx->exit_code == 0) {
      ctx->exit_code = exitCodeFor(ErrorKind::Internal);
    }
    return -1;
  }
  const bool verbose = state->cli.verbose || doveadm_verbose;
  VerifyReport report;
  Result<MigrationOptions> options = userRunOptions(state->cli, user, verbose);
  if (!options.isOk()) {
    report.status = options.status();
  } else {
    std::unique_ptr<Sink> sink = dovecot::makeDovecotSink(user);
    VerifyOptions vo;
    vo.full = state->full;
    report = runVerify(options.value(), vo, *sink);
    wipeSecret(options.value().source.password);
  }
  report.user = user->username;
  for (const std::string& w : report.warnings) {
    i_warning("migrate verify(%s): %s", user->username, w.c_str());
  }
  logFolders(user->username, report, verbose);
  printRow(report, state->details);
  if (options.isOk() && report.status.kind() != ErrorKind::Cancelled) {
    recordResult(user, report);
  }
  if (report.complete()) {
    i_info("migrate verify(%s): %s", user->username, report.summary().c_str());
    return 0;
  }
  if (!report.status.isOk()) {
    i_error("migrate verify(%s): %s", user->username, report.status.describe().c_str());
    ctx->exit_code = mergeExitCode(ctx->exit_code, exitCodeFor(report.status));
  } else {
    i_error("migrate verify(%s): %s", user->username, report.summary().c_str());
    ctx->exit_code = mergeExitCode(ctx->exit_code, incompleteExitCode());
  }
  return -1;
}

void cmdVerifyInit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* vctx = fromBase(ctx);
  Status status;
  try {
    vctx->state = new VerifyState();
    vctx->state->details = vctx->formatterChosen;
    status = parseCommandLine(ctx, vctx->state->cli);
    bool full = false;
    vctx->state->full = doveadm_cmd_param_bool(ctx->cctx, "full", &full) && full;
    if (status.isOk() && vctx->state->cli.dryRun) {
      status = Status(ErrorKind::Config, "--dry-run does not apply to verify",
                      "verify only reads; leave --dry-run out");
    }
  } catch (const std::exception& e) {
    status = Status(ErrorKind::Internal, std::string("internal error: ") + e.what());
  } catch (...) {
    status = Status(ErrorKind::Internal, "internal error: unknown exception");
  }
  if (status.isOk()) {
    addHeaders(vctx->state->details);
    return;
  }
  i_error("migrate verify: %s", status.describe().c_str());
  ctx->exit_code = mergeExitCode(ctx->exit_code,
                                 status.kind() == ErrorKind::Config ? usageExitCode() : exitCodeFor(status));
  if (vctx->state != nullptr) {
    vctx->state->initFailed = true;
  }
  ctx->v.get_next_user = noMoreUsers;
}

int cmdVerifyRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  const char* name = user->username;
  try {
    return runUser(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate verify(%s): internal error: %s", name, e.what());
  } catch (...) {
    i_error("migrate verify(%s): internal error: unknown exception", name);
  }
  ctx->exit_code = mergeExitCode(ctx->exit_code, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void cmdVerifyDeinit(doveadm_mail_cmd_context* ctx) noexcept {
  auto* vctx = fromBase(ctx);
  delete vctx->state;
  vctx->state = nullptr;
}

doveadm_mail_cmd_context* cmdVerifyAlloc() noexcept {
  auto* vctx = doveadm_mail_cmd_alloc(verify_cmd_context);
  vctx->state = nullptr;
  // doveadm initializes the formatter before the command only for -f.
  vctx->formatterChosen = doveadm_print_is_initialized();
  dovecot::setMailCommandInit<cmdVerifyInit, isVerifyLetter>(&vctx->ctx);
  vctx->ctx.v.run = cmdVerifyRun;
  vctx->ctx.v.deinit = cmdVerifyDeinit;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &vctx->ctx;
}

const doveadm_cmd_param* verifyParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    appendMigrateOptionParams(params);
    // A short letter: doveadm 2.3.19's mail-command wrapper rejects a named parameter without one.
    params.push_back(dovecot::makeParam('B', "full", CMD_PARAM_BOOL));
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_ver2 = {
    nullptr,
    migrate::cmd::cmdVerifyAlloc,
    "migrate verify",
    "[-u <user>|-A|-F <user file>] [-S <socket_path>] [-B|--full] [-H <source host>] [-P <port>] "
    "[-T imaps|starttls|none] [-U <source user>] [-w <password file>|-W] [migrate options]",
    CMD_FLAG_NONE,
    migrate::cmd::verifyParams(),
};
}
