#pragma once
// The status of a user's latest migration run, kept with the user (dovecot-migrate.status in the
// state directory, dovecot_adapter/state_location.h)
// so that `doveadm migrate status`, a provider's provisioning script and the first-login plugin
// can tell whether a migration is running, finished, or keeps failing, and why.
//
// One file per local user (whatever the source account), replaced atomically on every update.
// Versioned text, one `key<TAB>value` per line, values escaped like the state file:
//
//   dovecot-migrate-status  1
//   state     running | ok | partial | failed | stopped
//   trigger   doveadm | login | batch
//   pid       <pid of the run>           host  <hostname that ran it>
//   started   <unix>   updated <unix>    finished <unix, 0 while running>
//   source    <SourceOptions::describe()>
//   folder    <destination folder being copied>
//   folders_done / folders_total / copied / skipped / failed / bytes / pending  <numbers>
//   error     <Status::describe() of the last failure, empty when ok>
//   error_kind <errorKindName(), empty when ok>
//   error_hint <Status::hint() of the last failure alone (also inside `error`), empty when none>
//   consecutive_failures <failed or partial runs in a row, 0 after an ok run>
//   total_messages / total_bytes  <what this run copies in all (the plan: folders with new mail,
//             after the filters), empty until the plan is known>
//   rate      <bytes per second over the last RateWindow (engine/run_progress.h) as of `updated`,
//             empty until measured>
//   next_run  <unix: when a scheduled pass starts (engine/run_schedule.h), 0: none (not written)>
//
// The keys from error_hint on came with the progress columns (issue 14); files without them
// read as "unknown" (RunStatus's optionals empty).
//
// Unknown keys are ignored (forward compatible); a newer major version is a Config error.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/report.h"

namespace migrate {

struct RunStatus {
  std::string state;    // running / ok / partial / failed / stopped / scheduled
  std::string trigger;  // doveadm / login / batch
  int64_t pid = 0;
  std::string host;
  int64_t started = 0, updated = 0, finished = 0;
  std::string source;
  std::string folder;
  uint32_t foldersDone = 0, foldersTotal = 0;
  uint64_t copied = 0, skipped = 0, failed = 0, bytes = 0, pending = 0;
  std::string error;
  std::string errorKind;
  std::string errorHint;
  uint32_t consecutiveFailures = 0;
  // The plan of this run (nullopt: not known yet, or a file of an earlier version).
  std::optional<uint64_t> totalMessages, totalBytes;
  std::optional<uint64_t> rate;  // bytes per second, measured by the run
  int64_t nextRun = 0;           // written by migrate start / schedule-due; a run starts with 0
};

constexpr int kRunStatusVersion = 1;
constexpr const char* kRunStatusFile = "dovecot-migrate.status";  // kStateFilePrefix + "status"

std::string serializeRunStatus(const RunStatus& status);
Result<RunStatus> parseRunStatus(const std::string& text);

// <dir>/dovecot-migrate.status; nullopt when there is none yet (never migrated).
Result<std::optional<RunStatus>> readRunStatus(const std::string& dir);
// The same for the file at `path` (a status file of an earlier version, at its old place).
Result<std::optional<RunStatus>> readRunStatusFile(const std::string& path);
// Atomic replace (no fsync: the status is advisory; the state file is the truth).
Status writeRunStatus(const std::string& dir, const RunStatus& status);

// True when the status says "running" and that process still exists on this host (a run killed
// with -9 leaves "running" behind; readers must treat it as stopped).
bool runStatusAlive(const RunStatus& status);

// The status at the start of a run: counters zero, state "running", pid/host of this process,
// consecutiveFailures carried over from `previous`.
RunStatus beginRunStatus(const std::optional<RunStatus>& previous, const std::string& trigger,
                         const std::string& source);
// Fills the end of a run from its report: state = report.result() ("stopped" when it was
// cancelled), counters, error, finished time; consecutiveFailures reset on ok, else +1.
void finishRunStatus(RunStatus& status, const MigrationReport& report);

}  // namespace migrate
