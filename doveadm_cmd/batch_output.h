#pragma once
// What `migrate batch` and `migrate check` show at the end of a run: the table (doveadm -f), the
// one-line summary and the notification mail.

#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "cmd_batch.h"

namespace migrate::cmd::bulk {

// One row per mailbox: line, user, result, copied, skipped, failed, bytes, seconds, reason.
void printSummaryTable(const std::vector<Mailbox>& boxes);
// migrate check / batch --check: line, user, result, folders, source messages, pending, quota.
void printCheckTable(const std::vector<Mailbox>& boxes);
// batch --verify: line, user, result, source messages, matched, missing, differing, extra, local,
// seconds, summary.
void printVerifyTable(const std::vector<Mailbox>& boxes);
// The line of one finished mailbox (check, verify or run).
std::string mailboxLine(const Options& opts, const batch::JobResult& r);
// "3 mailboxes: 1 failed, 2 ok; 30 messages copied (127.4 KiB) in 0.2 s".
std::string summaryText(const Options& opts, const std::vector<Mailbox>& boxes, const batch::RunInfo& info);
// Mails `summary` and every mailbox's line to --notify (nothing without it); a failure is logged.
void notifyAdmin(const Options& opts, const std::vector<Mailbox>& boxes, const batch::RunInfo& info,
                 const std::string& summary);

}  // namespace migrate::cmd::bulk
