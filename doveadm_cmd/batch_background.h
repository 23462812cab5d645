#pragma once
// `doveadm migrate batch --background` (HTTP `migrateBatch` with background=true) and the detached
// batch process it starts; the files both share are described in core/batch/background.h. The
// control commands (status, pause, resume, log) are in cmd_batch_control.cpp.
// Threads: the doveadm main thread.

#include <optional>
#include <string>
#include <vector>

#include "batch/background.h"
#include "batch/input_formats.h"
#include "cmd_batch.h"
#include "dovecot_adapter/dovecot_api.h"

namespace migrate::cmd::bulk {

// The directory of every background batch: the setting migrate_batch_dir, or kDefaultBatchRoot.
inline constexpr const char* kDefaultBatchRoot = "/var/lib/dovecot-migrate/batches";
std::string batchRoot(struct doveadm_cmd_context* cctx);
std::string batchDir(struct doveadm_cmd_context* cctx, const std::string& id);

// Validates `text` as `migrate batch` would (bad lines or unknown users: their rows, nothing
// started), stores it in a new batch directory, starts the batch process detached and prints
// the batch id with the mailboxes. Returns the exit code.
int startBackground(struct doveadm_cmd_context* cctx, Options& opts,
                    const std::optional<batch::Format>& forced, std::string& text);

// The detached batch process (`migrate batch --batch-id ID ... <dir>/input`): runs the batch,
// keeps progress.json, skips the mailboxes a paused run finished, removes the input when every
// mailbox is done. Returns the exit code.
int runBackground(struct doveadm_cmd_context* cctx, Options& opts, const std::optional<batch::Format>& forced,
                  const std::string& id);

// Starts the batch process of `dir` (batch.json's command line) detached and waits until it
// holds its lock; "" or why it did not start.
std::string spawnBatchProcess(struct doveadm_cmd_context* cctx, const std::string& dir,
                              const batch::BatchMeta& meta);

// The pid of the batch process that holds `dir`'s lock, or 0 when none does.
pid_t batchProcess(const std::string& dir);

}  // namespace migrate::cmd::bulk
