#pragma once
// The Dovecot-free half of `doveadm migrate batch` / `doveadm migrate check` (the doveadm glue is
// doveadm_cmd/cmd_batch.cpp, the processes doveadm_cmd/job_runner.cpp): which mailbox may start
// next (--jobs, --max-connections per source host), the command line of each child
// `doveadm -f json migrate`, reading the child's JSON row back, and the texts the admin reads
// (check lines, report.json).
//
// Each mailbox runs as a child process: process isolation gives parallelism without ever touching
// lib-storage from threads, a crash or a leak stays in one mailbox, and every child is exactly the
// `doveadm migrate -u USER` an admin would run by hand (same state, same run status, same codes).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/options.h"
#include "engine/preset.h"

namespace migrate::batch {

// Decides which job may start. Jobs start in their order; a job whose source host already has
// `maxPerHost` running children waits, and so does a job whose local user is already running
// (two source accounts merged into one mailbox run one after the other: a second run on the same
// mailbox would only find it busy). Later jobs may start before a waiting one.
// Hosts compare case-insensitively; "" (the host comes from settings) counts as one host. The
// caller passes connectionKeys() so that two spellings of one server count as one host.
struct JobKey {
  std::string host;
  std::string user;
};

class Scheduler {
 public:
  // maxJobs 0 is taken as 1; maxPerHost 0: no per-host cap.
  Scheduler(const std::vector<JobKey>& jobs, unsigned maxJobs, unsigned maxPerHost);

  // The next job that may start now (marked running), or nullopt.
  std::optional<size_t> next();
  void finished(size_t job);
  // Start nothing more (SIGINT/SIGTERM): next() returns nullopt from now on.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  size_t running() const { return running_; }
  bool started(size_t job) const { return state_.at(job) != State::Waiting; }
  // Every job has finished, or (after stop()) every started one has.
  bool done() const;

 private:
  enum class State { Waiting, Running, Finished };
  std::vector<std::string> hosts_;
  std::vector<std::string> users_;
  std::vector<State> state_;
  std::map<std::string, unsigned> perHost_;
  std::map<std::string, unsigned> perUser_;
  unsigned maxJobs_;
  unsigned maxPerHost_;
  size_t running_ = 0;
  size_t finished_ = 0;
  bool stopped_ = false;
};

// The host key the Scheduler uses: lower case, brackets of an IPv6 literal removed.
std::string hostKey(const std::string& host);

// The numeric addresses a host name (or address literal) resolves to; empty when it does not.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

// The per-host cap counts servers, not spellings: hosts that share an address (a name and its IP
// address, two names of one server, a round-robin name and one of its addresses) get the same
// key, the hostKey() of the first of them in `hosts`. A host that does not resolve keeps its own
// hostKey(); "" stays "". Returns one key per entry of `hosts`, in order; each distinct host is
// resolved once.
std::vector<std::string> connectionKeys(const std::vector<std::string>& hosts, const Resolver& resolve);

// getaddrinfo(): every address of `host` (IPv4 and IPv6), numeric, without duplicates.
std::vector<std::string> resolveAddresses(const std::string& host);

// An option given to `migrate batch`/`migrate check` that each child gets as well, by its long
// name ("max-rate"), with its value (empty for a flag).
struct PassThrough {
  std::string name;
  std::string value;
  bool flag = false;
};

// Options of `doveadm migrate` that are never passed on: the user selection (each child gets its
// own -u), and the login method, which the batch gives each child itself.
bool passedThrough(const std::string& longName);

struct ChildTarget {
  std::string user;  // local user (-u)
  std::string host;  // empty: from the pass-through --source-host or the settings
  std::optional<uint16_t> port;
  std::optional<TlsMode> tlsMode;
  std::string remoteUser;      // empty: not given (the child's default is the local user)
  bool passwordStdin = false;  // the password comes on the child's stdin (-W)
};

// argv of one child, starting with "doveadm": [-c CONFIG] [-o SETTING=VALUE ...] -f json migrate
// -u USER [target options] [-W] [--dry-run] [pass-through]. `overrides` are the batch's own
// `doveadm -o` settings, so the children read the same configuration. Options the target sets
// itself replace a passed-through one of the same name, so each option appears once.
std::vector<std::string> childArgv(const std::string& configPath, const ChildTarget& target,
                                   const std::vector<PassThrough>& passThrough, bool dryRun,
                                   const std::vector<std::string>& overrides = {});

// What one mailbox's run gave.
struct JobResult {
  uint32_t line = 0;  // 0: not from a file (check -u/-A)
  std::string user;
  std::string source;  // "host" or "host:port", "" when from settings
  std::string remoteUser;
  bool started = false;
  bool finished = false;
  int exitCode = 0;      // the child's exit code (128+N when killed by signal N)
  std::string result;    // "ok", "partial", "failed", "not started"
  std::string reason;    // empty when ok
  bool haveRow = false;  // the child printed its JSON row
  uint64_t folders = 0, copied = 0, skipped = 0, failed = 0, flagsUpdated = 0, bytes = 0;
  double seconds = 0;  // wall time of the child, measured by the batch
  // dry run (check)
  uint64_t sourceMessages = 0, sourceBytes = 0, pending = 0;
  std::string quotaFree;  // bytes, "unlimited", or "" when not reported
  // Messages not copied by reason (the child's skip_reasons column: "too_large=3 date=2"), and
  // how many source folders were left out (excluded_folders; their names are in the child's -v
  // log).
  std::map<std::string, uint64_t> skipReasons;
  uint64_t excludedFolders = 0;
  uint64_t reconnects = 0;
  double waited = 0;    // seconds spent backing off
  std::string logPath;  // the child's stderr, when kept
};

// "doveadm(bob): Error: migrate(bob): login failed ..." -> "login failed ...". Lines that are not
// errors give "".
std::string errorFromStderrLine(const std::string& line);

// Fills `r` from the child's stdout (the `-f json` rows), its exit code, and the last error line
// of its stderr (for children that failed before printing a row, e.g. an unknown user).
void readChildOutput(const std::string& stdoutText, int exitCode, const std::string& lastError, JobResult& r);

// The dry run found more to copy than the quota allows (check fails then, although the child
// succeeded).
bool exceedsQuota(const JobResult& r);

// The result the admin reads for a mailbox: "not started" when the batch stopped before it;
// for a check (`check`), "failed" when it does not fit the quota (exceedsQuota()); else r.result.
std::string shownResult(const JobResult& r, bool check);

// One line per mailbox of `migrate check` / `migrate batch --check`:
//   "line 3 alice@example.org: ok, 1234 messages in 12 folders, 1200 to copy (56.0 MiB), fits the
//    quota (1.2 GiB free)"
//   "line 12 bob@example.org: failed: login failed: ... (hint)"
std::string checkLine(const JobResult& r);
// One line per finished mailbox of a real batch run:
//   "line 3 alice@example.org: ok, 1200 copied, 34 already there, 0 failed, 56.0 MiB in 12.3 s"
std::string doneLine(const JobResult& r);

struct RunInfo {
  std::string command;  // "batch" or "check"
  std::string file;     // batch file, or ""
  std::string format;   // batch format name, or ""
  bool dryRun = false;
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

// "90" / "90s", "15m", "2h", "1d" -> seconds; nullopt for anything else (0, no number, overflow).
std::optional<uint64_t> parseDuration(const std::string& text);

// --repeat-until-idle INTERVAL[,QUIET]: re-run the batch every INTERVAL until no pass has copied
// a message for QUIET (default 4 x INTERVAL; at least INTERVAL). Config error naming the option.
struct RepeatUntilIdle {
  uint64_t interval = 0;  // seconds
  uint64_t quiet = 0;     // seconds
};
Result<RepeatUntilIdle> parseRepeatUntilIdle(const std::string& text);

// --jobs: 1..kMaxJobs. Config error naming the option.
inline constexpr unsigned kDefaultJobs = 4;
inline constexpr unsigned kMaxJobs = 256;
Result<unsigned> parseJobs(const std::string& text);

// Mailboxes the batch runs at once per source host: --max-connections when given, else the cap
// of the --preset (each mailbox is its own process, so only the batch can hold a preset's cap
// across mailboxes): an admin preset from `admin` (dovecot.conf's migrate_preset_<name>_*, its
// max_connections or its base's), else a built-in one; else 0 (no cap). An unknown or invalid
// preset gives 0 here: each child reports it.
unsigned perHostCap(const std::optional<uint32_t>& maxConnections, const std::optional<std::string>& preset,
                    const PresetDefinitions& admin = {});

}  // namespace migrate::batch
