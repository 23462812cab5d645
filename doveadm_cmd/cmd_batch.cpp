// `doveadm migrate batch [--check|--verify [--full]] [--format F] [-j N] [-r DIR] [--notify ADDR]
// [--repeat-until-idle INTERVAL[,QUIET]] [migrate options] FILE`. See cmd_batch.h for the files
// it shares with `doveadm migrate check`, and docs/batch.md.
//
// A plain doveadm command (no mail_user): doveadm calls cmdBatch() once with the parsed
// parameters. Every mailbox runs as a child `doveadm -f json migrate -u USER ...` (job_runner.h),
// with the line's password on the child's stdin.

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "batch/batch_report.h"
#include "batch/input_formats.h"
#include "batch_background.h"
#include "batch_file.h"
#include "batch_params.h"
#include "batch_passes.h"
#include "batch_report_dir.h"
#include "cli_options.h"
#include "cmd_batch.h"
#include "doveadm_binary.h"
#include "dovecot_adapter/doveadm_compat.h"

namespace migrate::cmd::bulk {
namespace {

void setExit(int code) {
  doveadm_exit_code = code;
}

// --check, --verify, --background and --format (the options batch has and check has not).
int readBatchOptions(doveadm_cmd_context* cctx, Options& opts, std::optional<batch::Format>& forced,
                     bool& background) {
  bool check = false;
  bool verify = false;
  background = false;
  opts.dryRun = doveadm_cmd_param_bool(cctx, "check", &check) && check;
  opts.verify = doveadm_cmd_param_bool(cctx, "verify", &verify) && verify;
  background = doveadm_cmd_param_bool(cctx, "background", &background) && background;
  // Over the doveadm server only what answers within the request: the check, and the start of a
  // background batch.
  opts.serverAllowed = opts.dryRun || background;
  std::string unused;
  if (int code = readCommonOptions(cctx, opts, unused); code != 0) {
    return code;
  }
  wipeSecret(unused);
  if (opts.dryRun) {
    opts.command = "batch --check";
  }
  if (background && !opts.reportDir.empty()) {
    i_error(
        "migrate batch: --report-dir does not go with --background: a background batch writes its report "
        "into its own directory (migrate batch log ID gives it)");
    return EX_USAGE;
  }
  if (background && (opts.dryRun || opts.verify)) {
    i_error("migrate batch: --background starts a migration; run --%s without it (it answers at once)",
            opts.dryRun ? "check" : "verify");
    return EX_USAGE;
  }
  if (opts.verify) {
    if (opts.dryRun || opts.repeat) {
      i_error(
          "migrate batch: --verify cannot be combined with %s (a verify only reads; run it after the "
          "last pass)",
          opts.dryRun ? "--check" : "--repeat-until-idle");
      return EX_USAGE;
    }
    opts.command = "batch --verify";
  }
  bool full = false;
  if (doveadm_cmd_param_bool(cctx, "full", &full) && full) {
    if (!opts.verify) {
      i_error("migrate batch: --full belongs to --verify (it compares every message body)");
      return EX_USAGE;
    }
    opts.passThrough.push_back({"full", "", true});
    opts.reportOptions.push_back({"full", "", true});
  }

  const char* file = nullptr;
  if (doveadm_cmd_param_str(cctx, "batch-file", &file) && file != nullptr && *file != '\0') {
    opts.file = absolutePath(file);
  }
  const char* formatName = nullptr;
  if (doveadm_cmd_param_str(cctx, "format", &formatName) && formatName != nullptr) {
    Result<batch::Format> f = batch::parseFormatName(formatName);
    if (!f.isOk()) {
      i_error("migrate batch: --format: %s", f.status().describe().c_str());
      return EX_USAGE;
    }
    forced = f.value();
    opts.reportOptions.push_back({"format", formatName, false});
  }
  return 0;
}

// The batch text: the file, or the `input` parameter (exactly one). Returns the exit code to stop
// with, or 0.
int readInput(doveadm_cmd_context* cctx, const Options& opts, std::string& text) {
  const int input = readInputParam(cctx, text);
  if (input < 0) {
    return -input;
  }
  if ((input == 1) == !opts.file.empty()) {
    wipeSecret(text);
    i_error(
        "migrate batch: give the batch as a FILE or as the input parameter (--input FILE|-, over the HTTP "
        "API \"input\": the file's text; Dovecot 2.3 takes at most 1 MiB of request body)%s",
        input == 1 ? ", not both" : "");
    return EX_USAGE;
  }
  return input == 1 ? 0 : readInputFile(opts.file, text);
}

int batchCommand(doveadm_cmd_context* cctx) {
  Options opts;
  opts.command = "batch";
  // doveadm initializes the formatter before the command only for -f.
  opts.formatterChosen = doveadm_print_is_initialized();
  opts.overServer = cctx->conn_type != DOVEADM_CONNECTION_TYPE_CLI;
  // The summary table; -f json/tab (already set by doveadm) takes precedence.
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  std::optional<batch::Format> forced;
  bool background = false;
  const char* batchId = nullptr;
  if (doveadm_cmd_param_str(cctx, "batch-id", &batchId) && batchId != nullptr) {
    // The detached batch process (batch_background.h): only ever started by this module.
    if (opts.overServer) {
      i_error("migrate batch: --batch-id is the background batch process's own option");
      return EX_USAGE;
    }
    if (int code = readBatchOptions(cctx, opts, forced, background); code != 0) {
      return code;
    }
    const DoveadmBinary bin = doveadmBinary(cctx);
    opts.executable = bin.executable;
    opts.configPath = bin.configPath;
    return runBackground(cctx, opts, forced, batchId);
  }
  if (int code = readBatchOptions(cctx, opts, forced, background); code != 0) {
    return code;
  }
  const DoveadmBinary bin = doveadmBinary(cctx);
  opts.executable = bin.executable;
  opts.configPath = bin.configPath;
  std::string text;
  if (int code = readInput(cctx, opts, text); code != 0) {
    return code;
  }
  if (opts.dryRun) {
    return checkBatchInput(opts, forced, text);
  }
  if (background) {
    return startBackground(cctx, opts, forced, text);
  }
  BatchInput input;
  const int inputCode = parseBatchText(opts, forced, text, false, input);
  printInputProblems(opts, input, inputCode);  // the warnings too
  if (inputCode != 0) {
    return inputCode;
  }
  std::vector<Mailbox> boxes = std::move(input.boxes);
  for (Mailbox& b : boxes) {
    b.target.verify = opts.verify;
  }
  if (opts.reportDir.empty()) {
    opts.reportDir = newReportDir(opts.file.empty() ? std::string("/var/tmp/migrate-batch") : opts.file);
  }
  const int code = run(opts, boxes);
  for (Mailbox& b : boxes) {
    wipeSecret(b.password);
  }
  return code;
}

void cmdBatch(doveadm_cmd_context* cctx) noexcept {
  try {
    setExit(batchCommand(cctx));
  } catch (const std::exception& e) {
    i_error("migrate batch: internal error: %s", e.what());
    setExit(EX_SOFTWARE);
  } catch (...) {
    i_error("migrate batch: internal error");
    setExit(EX_SOFTWARE);
  }
}

const doveadm_cmd_param* batchParams() noexcept {
  static const doveadm_cmd_param* table = buildParams(
      {
          dovecot::makeParam('\0', "check", CMD_PARAM_BOOL),
          dovecot::makeParam('\0', "verify", CMD_PARAM_BOOL),
          dovecot::makeParam('\0', "full", CMD_PARAM_BOOL),
          dovecot::makeParam('\0', "format", CMD_PARAM_STR),
          dovecot::makeParam('j', "jobs", CMD_PARAM_STR),
          dovecot::makeParam('r', "report-dir", CMD_PARAM_STR),
          dovecot::makeParam('\0', "notify", CMD_PARAM_STR),
          dovecot::makeParam('\0', "repeat-until-idle", CMD_PARAM_STR),
          dovecot::makeParam('\0', "background", CMD_PARAM_BOOL),
          // The batch text itself (HTTP API: a JSON string; command line: a file, or - for stdin).
          dovecot::makeParam('\0', "input", CMD_PARAM_ISTREAM),
          // The detached batch process's own (batch_background.h).
          dovecot::makeParam('\0', "batch-id", CMD_PARAM_STR),
          dovecot::makeParam('\0', "batch-file", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL),
      },
      false);
  return table;
}

}  // namespace
}  // namespace migrate::cmd::bulk

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_ver2 = {
    migrate::cmd::bulk::cmdBatch,
    nullptr,
    "migrate batch",
    "[--check|--verify [--full]|--background] [--format pairs|csv|semicolon] [-j <jobs>] [-r <report dir>] "
    "[--notify <address>] "
    "[--repeat-until-idle <interval>[,<quiet>]] [-H <source host>] [-P <port>] [-T imaps|starttls|none] "
    "[migrate options] <batch file>|--input <file>|-",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::batchParams(),
};
}
