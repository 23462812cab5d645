#pragma once
// `doveadm migrate batch FILE` and `doveadm migrate check [-u USER|-A|-F USERFILE]`: plain
// (non-mail) doveadm commands that run each mailbox as a child `doveadm -f json migrate -u USER`
// (see core/batch/child_run.h for why processes). This header has their command table entries and
// what both hand to the run: the mailboxes and the options. The other parts are the batch_*
// files beside this one (a list: docs/ARCHITECTURE.md): parameters, the batch file, the passes,
// signals, the report directory, the output.

#include <functional>
#include <string>
#include <vector>

#include "batch/batch_values.h"
#include "batch/child_run.h"
#include "dovecot_adapter/dovecot_api.h"

extern "C" {
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_check_ver2;
// cmd_batch_control.cpp: the background batches
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_status_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_pause_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_resume_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_log_ver2;
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
  // batch --verify: each mailbox runs `migrate verify` (results complete / incomplete / failed).
  bool verify = false;
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
  // The doveadm the children run (doveadm_binary.h) and its -c.
  std::string executable = "/proc/self/exe";
  std::string configPath;
  // Inside doveadm-server (HTTP API): the printed rows are the whole answer; nothing goes to
  // stdout/stderr (the server's log), and problems of the input are rows, not an exit code.
  bool overServer = false;
  // The command may run inside doveadm-server (check, batch --background): it answers within the
  // request. Others refuse it there (a batch run does not fit one HTTP request).
  bool serverAllowed = false;
  // A background batch's progress.json (batch_background.h): called when a mailbox starts or
  // ends, with whether the run is stopping (a pause).
  std::function<void(const std::vector<Mailbox>&, bool stopping)> onProgress;
};

}  // namespace migrate::cmd::bulk
