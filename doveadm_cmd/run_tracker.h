#pragma once
// Keeps the user's dovecot-migrate.status (engine/run_status.h) up to date during one user's
// `doveadm migrate` run. Dovecot-free; main thread only (the sink and the progress callback both
// run there).
//
// Wrap the run's Sink with wrap() and pass progressFn() to runMigration(); the tracker sees from
// the sink which folder is being copied and what was committed, and from the progress events the
// bytes. It writes the file:
// - at start(): state "running" with the trigger and the source, unless the previous status says
//   another run is alive on this host; then only once the engine holds the account lock (its
//   first listFolders(), which comes after StateStore::open), so a run refused as Busy never
//   overwrites the running one's status;
// - on progress, at most every kMinInterval, with the run's plan (total_messages, total_bytes,
//   from the engine's totals event) and the transfer rate over the last kRateWindowSeconds;
// - at finish(): the final state (finishRunStatus; "paused" for a run stopped by `migrate
//   pause`, engine/run_job.h). A Busy result restores the previous file if this run had already
//   replaced it. A finished job's stored password is removed then (unless a scheduled pass is to
//   come).
// A failure to write the status is logged by the caller once and never fails the migration.

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "engine/migrator.h"
#include "engine/run_job.h"
#include "engine/run_progress.h"
#include "engine/run_schedule.h"
#include "engine/run_status.h"
#include "engine/sink.h"

namespace migrate::cmd {

// MIGRATE_TRIGGER from the environment: "login" / "batch" / "panel" / "schedule", anything else (or unset)
// "doveadm". doveadm clears its environment at startup (master_service_env_clean keeps only the variables
// named in DOVECOT_PRESERVE_ENVS and in import_environment), so a caller runs
//   DOVECOT_PRESERVE_ENVS=MIGRATE_TRIGGER MIGRATE_TRIGGER=login doveadm migrate ...
// Code in this process (e.g. `migrate batch`) may setenv() it before the command's init().
std::string runTrigger();

class RunTracker {
 public:
  static constexpr std::chrono::seconds kMinInterval{2};
  // The rate in the status is the bytes of the last this many seconds.
  static constexpr double kRateWindowSeconds = 20.0;

  // dir: the user's state directory (created by the caller).
  RunTracker(std::string dir, std::string trigger, std::string source);

  // Reads the previous status and writes "running" when no other run is alive. Returns the first
  // write error (advisory).
  Status start();
  std::unique_ptr<Sink> wrap(Sink& inner);
  ProgressFn progressFn();
  // Writes the final status (or restores the previous one after a Busy result).
  Status finish(const MigrationReport& report);

  // Called by the wrapped sink.
  void onLocked();
  void onFolder(const std::string& name);
  void onCommitted(size_t messages);
  void onProgress(const ProgressEvent& event);

  const Status& lastError() const { return writeError_; }
  const std::string& dir() const { return dir_; }
  const RunStatus& status() const { return status_; }

 private:
  void write(bool force);
  void sampleRate();
  void clearPause();
  void settleJob();

  std::string dir_;
  std::string trigger_;
  std::string source_;
  std::optional<RunStatus> previous_;
  RunStatus status_;
  std::set<std::string> foldersSeen_;  // a folder resumed after a reconnect counts once
  uint32_t plannedFolders_ = 0;        // from the engine's plan event; 0 until then
  bool written_ = false;               // this run has replaced the file
  bool deferred_ = false;              // waiting for the account lock before the first write
  std::chrono::steady_clock::time_point lastWrite_{};
  std::chrono::steady_clock::time_point begun_ = std::chrono::steady_clock::now();
  RateWindow rate_{kRateWindowSeconds};
  Status writeError_;
};

}  // namespace migrate::cmd
