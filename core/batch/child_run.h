#pragma once
// One mailbox of a batch as a child process: the command line of its `doveadm -f json migrate`,
// and what its output says (the JSON row, the exit code, the last error line).
//
// Each mailbox runs as a child process: process isolation gives parallelism without ever touching
// lib-storage from threads, a crash or a leak stays in one mailbox, and every child is exactly the
// `doveadm migrate -u USER` an admin would run by hand (same state, same run status, same codes).
// The processes themselves are doveadm_cmd/job_runner.cpp's.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/options.h"

namespace migrate::batch {

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
  bool verify = false;         // `migrate batch --verify`: run `migrate verify` instead of `migrate`
};

// argv of one child, starting with "doveadm": [-c CONFIG] [-o SETTING=VALUE ...] -f json migrate
// [verify] -u USER [target options] [-W] [--dry-run] [pass-through]. `overrides` are the batch's own
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
  uint64_t expunged = 0, moved = 0, changedHere = 0;  // --sync-deletions
  double seconds = 0;                                 // wall time of the child, measured by the batch
  // dry run (check)
  uint64_t sourceMessages = 0, sourceBytes = 0, pending = 0;
  std::string quotaFree;  // bytes, "unlimited", or "" when not reported
  // Messages not copied by reason (the child's skip_reasons column: "too_large=3 date=2"), and
  // how many source folders were left out (excluded_folders; their names are in the child's -v
  // log).
  std::map<std::string, uint64_t> skipReasons;
  uint64_t excludedFolders = 0;
  std::string pop3Uidls;  // the child's pop3_uidls column ("kept=12 unmatched=1", "skipped", ...)
  std::string sieve;      // the child's sieve column: what became of the Sieve scripts
  uint64_t reconnects = 0;
  double waited = 0;    // seconds spent backing off
  std::string logPath;  // the child's stderr, when kept
  // `batch --verify`: the child's verify row (result is then complete / incomplete / failed).
  struct Verify {
    bool have = false;
    uint64_t sourceMessages = 0, matched = 0, missing = 0, differing = 0, extra = 0, local = 0, filtered = 0;
    std::string summary;
    std::string details;  // the per-folder JSON array (engine/verify_result.h), as the child printed it
  } verify;
};

// "doveadm(bob): Error: migrate(bob): login failed ..." -> "login failed ...". Lines that are not
// errors give "".
std::string errorFromStderrLine(const std::string& line);

// Fills `r` from the child's stdout (the `-f json` rows), its exit code, and the last error line
// of its stderr (for children that failed before printing a row, e.g. an unknown user).
void readChildOutput(const std::string& stdoutText, int exitCode, const std::string& lastError, JobResult& r);

// The child's quota_free as bytes; nullopt for "unlimited", "" or anything else.
std::optional<uint64_t> quotaFreeBytes(const JobResult& r);

// The dry run found more to copy than the quota allows (check fails then, although the child
// succeeded).
bool exceedsQuota(const JobResult& r);

// A verify that found every message (the child's result "complete").
inline bool verifiedComplete(const JobResult& r) {
  return r.verify.have && r.result == "complete";
}

// The result the admin reads for a mailbox: "not started" when the batch stopped before it;
// for a check (`check`), "failed" when it does not fit the quota (exceedsQuota()); else r.result.
std::string shownResult(const JobResult& r, bool check);

}  // namespace migrate::batch
