#pragma once
// The report directory of `migrate batch/check` (-r DIR, or the batch file's
// FILE.report-<time>): one log per mailbox with its child's stderr, and report.json at the end.
// Everything in it is written as root, mode 0600.
// Threads: the doveadm main thread.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "cmd_batch.h"

namespace migrate::cmd::bulk {

// A new directory for a run of batch file `file`: FILE.report-YYYYmmdd-HHMMSS (two runs within one
// second get -2, -3, ...). Only the name: prepareReportDir() creates it.
std::string newReportDir(const std::string& file);

// Creates opts.reportDir (with its parents, mode 0700) and refuses one that another user owns or
// anyone may write to. Nothing without a report directory. Returns the exit code to stop with
// (logged), or 0.
int prepareReportDir(const Options& opts);

// Writes report.json of the run into opts.reportDir (nothing without one); a failure is logged.
void writeReport(const Options& opts, const batch::RunInfo& info, const std::vector<Mailbox>& boxes);

// The mailboxes' logs, <user>.log (<user>.line<N>.log where two mailboxes would share a name).
// Without a report directory every call does nothing.
class MailboxLogs {
 public:
  // `boxes` is indexed by mailbox id; each one's result.logPath is set when its log first opens.
  MailboxLogs(const Options& opts, std::vector<Mailbox>& boxes) : opts_(opts), boxes_(boxes) {}
  ~MailboxLogs() { closeAll(); }
  MailboxLogs(const MailboxLogs&) = delete;
  MailboxLogs& operator=(const MailboxLogs&) = delete;

  // Opens mailbox `id`'s log for the child `argv` of pass `pass` (the first pass starts a fresh
  // log, later ones append) and writes the command line, secrets hidden, as its first line.
  // A log that cannot be opened is a warning; the child runs without one.
  void open(size_t id, const std::vector<std::string>& argv, unsigned pass);
  // Appends one line of the child's stderr.
  void write(size_t id, const std::string& line);
  void close(size_t id);
  void closeAll();

 private:
  std::string pathFor(size_t id);

  const Options& opts_;
  std::vector<Mailbox>& boxes_;
  std::map<size_t, int> fds_;
  std::map<std::string, size_t> names_;  // log file name -> mailboxes that map to it
};

}  // namespace migrate::cmd::bulk
