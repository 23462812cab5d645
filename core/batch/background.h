#pragma once
// A background batch (`doveadm migrate batch --background`, HTTP `migrateBatch` with
// background=true): its id, and the files in its directory <migrate_batch_dir>/<id>/ that the
// detached batch process and the `migrate batch status|pause|resume|log` commands share.
//
//   input         the batch text (0600; it holds passwords): removed when the batch is done
//   batch.json    what the batch was started with (BatchMeta), written by the command that
//                 started it; `resume` starts the same command line again
//   progress.json the batch process's view (BatchProgress): its pid, its state, one row per
//                 mailbox; rewritten (atomically) as mailboxes start and end
//   lock          held (fcntl write lock) by the batch process while it runs: a batch whose
//                 progress says running but whose lock is free was killed (interrupted)
//   runner.log    the batch process's stdout and stderr
//   report/       the report directory of `migrate batch -r`: report.json, report.csv... and
//                 one log per mailbox
// Dovecot-free.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::batch {

// "20261207-051400-3fa9c2": the start time (UTC) and 24 random bits, so that ids sort by time
// and two batches started in one second differ.
std::string newBatchId(int64_t now, uint32_t random);
// The shape newBatchId() gives: nothing that could name another directory.
bool validBatchId(const std::string& id);

// One mailbox of a background batch, as the batch process last saw it.
struct MailboxProgress {
  uint32_t line = 0;
  std::string user;
  // waiting: not started yet; running; done: finished (ok or not); stopped: ended by a pause
  // (its migration saved its state; a resume continues it).
  std::string state = "waiting";
  std::string result;  // done/stopped: ok, partial, failed
  std::string reason;
  int exitCode = 0;
  uint64_t copied = 0, bytes = 0;
  double seconds = 0;
};

struct BatchProgress {
  std::string id;
  // running; paused (stopped by `pause` or a signal: resume continues it); done (every mailbox
  // ended; see their results); failed (the batch process could not run it: `error` says why).
  std::string state = "running";
  int64_t pid = 0;
  int64_t started = 0, updated = 0, finished = 0;  // Unix time
  std::string error;
  std::vector<MailboxProgress> mailboxes;
};

std::string progressJson(const BatchProgress& p);
// A Protocol error for text that is not a progress file.
Result<BatchProgress> parseProgress(const std::string& text);

// What the batch was started with.
struct BatchMeta {
  std::string id;
  int64_t created = 0;
  std::string format;             // the input's format (pairs, csv, semicolon)
  uint64_t mailboxes = 0;         // lines to migrate
  std::vector<std::string> argv;  // the batch process's command line (no secret in it)
  std::vector<std::pair<std::string, std::string>> options;  // as report.json lists them
};

std::string metaJson(const BatchMeta& m);
Result<BatchMeta> parseMeta(const std::string& text);

// The state a status shows: a "running" batch whose process is gone is "interrupted" (killed,
// crashed, rebooted); resume continues it like a paused one.
std::string shownState(const BatchProgress& p, bool processAlive);

// A resumed run starts these again: not started, stopped by the pause, or running when the batch
// process died. Done mailboxes keep their result.
inline bool needsRun(const MailboxProgress& m) {
  return m.state != "done";
}

struct ProgressCounts {
  uint64_t total = 0, waiting = 0, running = 0, done = 0, stopped = 0;
  uint64_t ok = 0, failed = 0, partial = 0;  // results of the done ones
  uint64_t copied = 0, bytes = 0;
};
ProgressCounts countProgress(const std::vector<MailboxProgress>& mailboxes);

}  // namespace migrate::batch
