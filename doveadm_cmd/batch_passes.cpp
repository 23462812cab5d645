#include "batch_passes.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "batch/batch_report.h"
#include "batch/child_run.h"
#include "batch/input_formats.h"
#include "batch/scheduler.h"
#include "batch_output.h"
#include "batch_report_dir.h"
#include "batch_signals.h"
#include "common/strings.h"
#include "doveadm_binary.h"
#include "engine/report.h"
#include "exit_codes.h"
#include "job_runner.h"

namespace migrate::cmd::bulk {
namespace {

// A child's exit code as one of ours: signals are not sysexits codes.
int childCode(int code) {
  if (code > 128) {
    const int sig = code - 128;
    return sig == SIGTERM || sig == SIGINT ? EX_TEMPFAIL : EX_SOFTWARE;
  }
  return code;
}

struct PassResult {
  uint64_t copied = 0, bytes = 0;
  int exitCode = 0;
  bool interrupted = false;
};

// Where the per-mailbox lines go: stdout, or stderr when -f chose a formatter for stdout.
FILE* lineStream(const Options& opts) {
  return opts.formatterChosen ? stderr : stdout;
}

// What every child of a pass gets besides its mailbox.
struct ChildSetup {
  std::string configPath;
  std::vector<std::string> overrides;  // doveadm's -o setting=value
  std::vector<std::string> env;
};

ChildSetup childSetup(const Options& opts) {
  ChildSetup setup;
  setup.configPath = opts.configPath;
  // The batch's own `doveadm -o setting=value` apply to every child as well.
  setup.overrides = configOverrides();
  // doveadm cleans its environment when it re-executes itself through doveconf, except for the
  // variables named in DOVECOT_PRESERVE_ENVS: the run status reads MIGRATE_TRIGGER.
  setup.env = childEnvironment({"MIGRATE_TRIGGER=batch", "DOVECOT_PRESERVE_ENVS=MIGRATE_TRIGGER"});
  return setup;
}

class Runner {
 public:
  Runner(const Options& opts, std::vector<Mailbox>& boxes) : opts_(opts), boxes_(boxes), logs_(opts, boxes) {}

  PassResult runPass(unsigned pass);

 private:
  std::vector<batch::JobKey> jobKeys() const;
  void resetResults();
  bool startReady(batch::Scheduler& sched, JobRunner& children, const ChildSetup& setup, unsigned pass);
  bool collectFinished(batch::Scheduler& sched, JobRunner& children);
  PassResult totals(bool stopping) const;
  bool onStderr(size_t id, const std::string& line);

  const Options& opts_;
  std::vector<Mailbox>& boxes_;
  MailboxLogs logs_;
};

bool Runner::onStderr(size_t id, const std::string& line) {
  logs_.write(id, line);
  // check and verify: the mailbox's line carries the reason; the child's log lines only with -v.
  if (!opts_.overServer && ((!opts_.dryRun && !opts_.verify) || opts_.verbose)) {
    std::fprintf(stderr, "%s: %s\n", boxes_[id].result.user.c_str(), line.c_str());
  }
  return !batch::errorFromStderrLine(line).empty();
}

// The scheduler's key of each mailbox: its source host and its user.
std::vector<batch::JobKey> Runner::jobKeys() const {
  // Hosts are resolved once per pass, on this thread, before any child starts (a name that does
  // not resolve keeps its own key; its child reports the DNS error).
  std::vector<std::string> hosts;
  for (const Mailbox& b : boxes_) {
    hosts.push_back(b.target.host.empty() ? opts_.defaultHost : b.target.host);
  }
  const std::vector<std::string> hostKeys =
      opts_.maxPerHost == 0 ? hosts : batch::connectionKeys(hosts, batch::resolveAddresses);
  std::vector<batch::JobKey> keys;
  for (size_t i = 0; i < boxes_.size(); ++i) {
    keys.push_back({hostKeys[i], boxes_[i].target.user});
  }
  return keys;
}

// A new pass starts from the mailboxes' own fields (a preFailed one keeps its final result).
void Runner::resetResults() {
  for (Mailbox& b : boxes_) {
    if (b.preFailed) {
      continue;
    }
    batch::JobResult fresh;
    fresh.line = b.result.line;
    fresh.user = b.result.user;
    fresh.source = b.result.source;
    fresh.remoteUser = b.result.remoteUser;
    fresh.logPath = b.result.logPath;
    b.result = std::move(fresh);
  }
}

// Starts every child the scheduler lets start now. True when one started.
bool Runner::startReady(batch::Scheduler& sched, JobRunner& children, const ChildSetup& setup,
                        unsigned pass) {
  bool any = false;
  while (std::optional<size_t> id = sched.next()) {
    any = true;
    Mailbox& box = boxes_[*id];
    if (box.preFailed) {
      sched.finished(*id);
      continue;
    }
    JobRunner::Spec spec;
    spec.executable = opts_.executable;
    spec.argv =
        batch::childArgv(setup.configPath, box.target, opts_.passThrough, opts_.dryRun, setup.overrides);
    spec.env = setup.env;
    if (box.target.passwordStdin) {
      spec.stdinData = box.password;
    }
    logs_.open(*id, spec.argv, pass);
    box.result.started = true;
    Status started = children.start(*id, std::move(spec));
    if (!started.isOk()) {
      box.result.finished = true;
      box.result.result = "failed";
      box.result.reason = started.describe();
      box.result.exitCode = exitCodeFor(started);
      sched.finished(*id);
    }
  }
  return any;
}

// Waits a moment for children to end; reads the result of each that did and prints its line.
// True when one ended.
bool Runner::collectFinished(batch::Scheduler& sched, JobRunner& children) {
  std::vector<JobRunner::Finished> ended = children.wait(std::chrono::milliseconds(200));
  for (JobRunner::Finished& f : ended) {
    Mailbox& box = boxes_[f.id];
    batch::readChildOutput(f.out, f.exitCode, batch::errorFromStderrLine(f.lastError), box.result);
    box.result.seconds = f.seconds;
    sched.finished(f.id);
    logs_.close(f.id);
    if (!opts_.overServer) {
      const std::string text = mailboxLine(opts_, box.result);
      std::fprintf(lineStream(opts_), "%s\n", text.c_str());
      std::fflush(lineStream(opts_));
    }
  }
  return !ended.empty();
}

PassResult Runner::totals(bool stopping) const {
  PassResult pr;
  for (const Mailbox& b : boxes_) {
    const batch::JobResult& r = b.result;
    if (!r.started) {
      continue;
    }
    pr.copied += r.copied;
    pr.bytes += r.bytes;
    pr.exitCode = mergeExitCode(pr.exitCode, childCode(r.exitCode));
    if (opts_.dryRun && batch::exceedsQuota(r)) {
      pr.exitCode = mergeExitCode(pr.exitCode, exitCodeFor(ErrorKind::Quota));
    }
  }
  pr.interrupted = stopping;
  if (stopping) {
    pr.exitCode = mergeExitCode(pr.exitCode, EX_TEMPFAIL);
  }
  return pr;
}

PassResult Runner::runPass(unsigned pass) {
  batch::Scheduler sched(jobKeys(), opts_.jobs, opts_.maxPerHost);
  JobRunner children([this](size_t id, const std::string& line) { return onStderr(id, line); });
  const ChildSetup setup = childSetup(opts_);
  resetResults();

  bool stopping = false;
  while (!sched.done()) {
    if (stopSignal() != 0 && !stopping) {
      stopping = true;
      sched.stop();
      std::fprintf(stderr,
                   "migrate %s: stopping (signal %d): %zu running migrations save their state and stop; "
                   "no new one starts; run the same command again to continue\n",
                   opts_.command.c_str(), stopSignal(), children.running());
      children.signalAll(SIGTERM);
    }
    bool changed = startReady(sched, children, setup, pass);
    changed = collectFinished(sched, children) || changed;
    if (changed && opts_.onProgress) {
      opts_.onProgress(boxes_, stopping);
    }
  }
  logs_.closeAll();
  return totals(stopping);
}

// The passes: one, or with --repeat-until-idle until one copies nothing new for the quiet time or
// a signal stops the run. Returns the last pass's result; the ones before it go to info.passes.
PassResult runPasses(const Options& opts, Runner& runner, batch::RunInfo& info) {
  const StopOnSignals stopOnSignals;
  PassResult last;
  int64_t lastActivity = info.started;
  for (unsigned pass = 1;; ++pass) {
    const int64_t passStart = time(nullptr);
    if (opts.repeat) {
      std::fprintf(lineStream(opts), "pass %u (%s)\n", pass, isoTime(passStart).c_str());
      std::fflush(lineStream(opts));
    }
    last = runner.runPass(pass);
    if (!opts.repeat || last.interrupted) {
      break;
    }
    const int64_t now = time(nullptr);
    if (last.copied > 0) {
      lastActivity = now;
    }
    std::fprintf(lineStream(opts), "pass %u: %llu messages copied (%s)\n", pass,
                 static_cast<unsigned long long>(last.copied), formatBytes(last.bytes).c_str());
    info.passes.push_back({passStart, last.copied, last.bytes, last.exitCode});
    if (static_cast<uint64_t>(now - lastActivity) >= opts.repeatUntilIdle.quiet) {
      std::fprintf(lineStream(opts), "idle: nothing new copied for %llu s; done\n",
                   static_cast<unsigned long long>(now - lastActivity));
      std::fflush(lineStream(opts));
      info.passes.pop_back();  // the last pass is the report's own
      break;
    }
    std::fflush(lineStream(opts));
    if (!sleepInterruptible(opts.repeatUntilIdle.interval)) {
      // Stopped between passes: the last pass's results stand.
      info.passes.pop_back();
      last.interrupted = true;
      last.exitCode = mergeExitCode(last.exitCode, EX_TEMPFAIL);
      break;
    }
  }
  return last;
}

}  // namespace

int run(const Options& opts, std::vector<Mailbox>& boxes) {
  if (int code = prepareReportDir(opts); code != 0) {
    return code;
  }
  batch::RunInfo info;
  info.command = opts.command;
  info.file = opts.file;
  info.format = opts.format;
  info.dryRun = opts.dryRun;
  info.verify = opts.verify;
  info.jobs = opts.jobs;
  info.options = opts.reportOptions;
  info.started = time(nullptr);
  const auto t0 = std::chrono::steady_clock::now();

  Runner runner(opts, boxes);
  const PassResult last = runPasses(opts, runner, info);
  info.finished = time(nullptr);
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  info.interrupted = last.interrupted;
  info.exitCode = last.exitCode;

  writeReport(opts, info, boxes);
  const std::string summary = summaryText(opts, boxes, info);
  if (opts.verify) {
    printVerifyTable(boxes);
  } else if (opts.dryRun) {
    if (opts.formatterChosen) {
      printCheckTable(boxes);
    }
  } else {
    printSummaryTable(boxes);
  }
  if (!opts.overServer) {
    std::fprintf(stderr, "migrate %s: %s%s\n", opts.command.c_str(), summary.c_str(),
                 opts.reportDir.empty() ? "" : ("; report: " + opts.reportDir + "/report.json").c_str());
  }
  notifyAdmin(opts, boxes, info, summary);
  return info.exitCode;
}

}  // namespace migrate::cmd::bulk
