#pragma once
// What the admin reads of a batch: a line per mailbox (check and run) and report.json.
#include <cstdint>
#include <string>
#include <vector>

#include "batch/child_run.h"

namespace migrate::batch {

// One line per mailbox of `migrate check` / `migrate batch --check`:
//   "line 3 alice@example.org: ok, 1234 messages in 12 folders, 1200 to copy (56.0 MiB), fits the
//    quota (1.2 GiB free)"
//   "line 12 bob@example.org: failed: login failed: ... (hint)"
std::string checkLine(const JobResult& r);
// One line per finished mailbox of a real batch run:
//   "line 3 alice@example.org: ok, 1200 copied, 34 already there, 0 failed, 56.0 MiB in 12.3 s"
std::string doneLine(const JobResult& r);

// One line per mailbox of `migrate batch --verify`:
//   "line 3 alice@example.org: complete: ready for cut-over: all 1234 messages in 12 folders are here"
//   "line 4 bob@example.org: incomplete: NOT ready for cut-over: 2 missing, ..."
std::string verifyLine(const JobResult& r);

struct RunInfo {
  std::string command;  // "batch" or "check"
  std::string file;     // batch file, or ""
  std::string format;   // batch format name, or ""
  bool dryRun = false;
  bool verify = false;                // batch --verify: each mailbox's verify result
  int64_t started = 0, finished = 0;  // Unix time
  double seconds = 0;
  bool interrupted = false;
  int exitCode = 0;
  unsigned jobs = 0;
  std::vector<PassThrough> options;  // as given (never holds a password)
  // repeat-until-idle: one entry per pass before this one
  struct Pass {
    int64_t started = 0;
    uint64_t copied = 0, bytes = 0;
    int exitCode = 0;
  };
  std::vector<Pass> passes;
};

// report.json (pretty-printed): the run, its options, totals, and one object per mailbox.
std::string reportJson(const RunInfo& info, const std::vector<JobResult>& results);

}  // namespace migrate::batch
