#pragma once
// A run of `migrate batch/check`: one pass over the mailboxes, or with --repeat-until-idle passes
// until one copies nothing new for the quiet time. A pass starts each mailbox's child
// `doveadm -f json migrate -u USER` (job_runner.h) as the scheduler of core/batch lets it (-j,
// per-host cap), prints each mailbox's line as its child ends, and stops on SIGINT/SIGTERM
// (batch_signals.h). At the end: report.json, the table, the summary and the notification.
// Threads: the doveadm main thread.

#include <vector>

#include "cmd_batch.h"

namespace migrate::cmd::bulk {

// Runs every mailbox (up to opts.jobs at once), prints the per-mailbox lines and the summary,
// writes report.json, sends the notification. Returns the exit code.
int run(const Options& opts, std::vector<Mailbox>& mailboxes);

}  // namespace migrate::cmd::bulk
