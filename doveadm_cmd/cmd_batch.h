#pragma once
// `doveadm migrate batch FILE` and `doveadm migrate check [-u USER|-A|-F USERFILE]`: plain
// (non-mail) doveadm commands that run each mailbox as a child `doveadm -f json migrate -u USER`
// (see core/batch/jobs.h for why processes). cmd_batch.cpp has the batch command and the runner
// both share; cmd_check.cpp has check's user selection.

#include <initializer_list>
#include <string>
#include <vector>

#include "batch/jobs.h"
#include "dovecot_adapter/dovecot_api.h"

extern "C" {
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_check_ver2;
}

namespace migrate::cmd::bulk {

// One mailbox to run.
struct Mailbox {
  batch::JobResult result;  // line, user, source filled in; the rest after the run
  batch::ChildTarget target;
  std::string password;  // written to the child's stdin when target.passwordStdin; wiped
  // Failed before any child could run (check: not in the userdb): `result` is final, it is
  // reported with the others and no child starts.
  bool preFailed = false;
};

struct Options {
  std::string command;  // "batch" or "check"
  std::string file;     // batch file (absolute), or ""
  std::string format;   // batch format name, or ""
  bool dryRun = false;
  bool verbose = false;
  // doveadm -f was given: the per-mailbox lines go to stderr so that stdout holds only the
  // formatter's output (the summary rows, e.g. JSON), and check prints its rows too.
  bool formatterChosen = false;
  unsigned jobs = batch::kDefaultJobs;
  unsigned maxPerHost = 0;  // --max-connections (0: no cap)
  std::string defaultHost;  // --source-host (the host of lines without one)
  std::string reportDir;    // "" : no report.json and no per-user logs
  std::string notify;       // "" : no mail
  bool repeat = false;
  batch::RepeatUntilIdle repeatUntilIdle;
  std::vector<batch::PassThrough> passThrough;
  std::vector<batch::PassThrough> reportOptions;  // what report.json lists under "options"
};

// Own options of both commands, read from the command line: jobs, report dir, notify, and the
// migrate options to pass through (checked once here with the same parser `doveadm migrate` uses,
// so a bad option fails before anything runs). Returns the exit code to stop with, or 0.
// `password` receives --source-password-stdin's password (check only).
int readCommonOptions(struct doveadm_cmd_context* cctx, Options& opts, std::string& password);

// Runs every mailbox (up to opts.jobs at once), prints the per-mailbox lines and the summary,
// writes report.json, sends the notification. Returns the exit code.
int run(const Options& opts, std::vector<Mailbox>& mailboxes);

// The parameter tables: the migrate options without the excluded names, plus `own`. Built once while
// doveadm loads the module; if that fails (out of memory) the command takes no options.
const struct doveadm_cmd_param* buildParams(std::initializer_list<struct doveadm_cmd_param> own,
                                            bool withUserSelection) noexcept;

}  // namespace migrate::cmd::bulk
