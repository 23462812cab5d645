#include "batch_output.h"

#include <cstdio>
#include <map>

#include "dovecot_adapter/dovecot_api.h"
#include "engine/report.h"
#include "notify.h"

namespace migrate::cmd::bulk {

namespace {

std::string secondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", s);
  return buf;
}

}  // namespace

void printSummaryTable(const std::vector<Mailbox>& boxes) {
  const auto number = static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                              DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("line", "line", number);
  doveadm_print_header_simple("user");
  doveadm_print_header_simple("result");
  doveadm_print_header("copied", "copied", number);
  doveadm_print_header("skipped", "skipped", number);
  doveadm_print_header("failed", "failed", number);
  // Raw numbers, as `doveadm migrate` prints them (and numbers in -f json).
  doveadm_print_header("bytes", "bytes", number);
  doveadm_print_header("seconds", "seconds", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("reason", "reason", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  for (const Mailbox& b : boxes) {
    const batch::JobResult& r = b.result;
    const std::string result = batch::shownResult(r, false);
    const std::string secs = secondsText(r.seconds);
    doveadm_print_num(r.line);
    doveadm_print(r.user.c_str());
    doveadm_print(result.c_str());
    doveadm_print_num(r.copied);
    doveadm_print_num(r.skipped);
    doveadm_print_num(r.failed);
    doveadm_print_num(r.bytes);
    doveadm_print(secs.c_str());
    doveadm_print(r.reason.c_str());
  }
}

void printCheckTable(const std::vector<Mailbox>& boxes) {
  const auto number = static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                              DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("line", "line", number);
  doveadm_print_header_simple("user");
  doveadm_print_header_simple("result");
  doveadm_print_header("folders", "folders", number);
  doveadm_print_header("source_messages", "source_messages", number);
  doveadm_print_header("pending", "pending", number);
  doveadm_print_header("pending_bytes", "pending_bytes", number);
  // A number, or "unlimited" / "" (not a NUMBER column: the JSON printer wants digits there).
  doveadm_print_header("quota_free", "quota_free", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("reason", "reason", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  // The mailbox's line as `migrate batch --check` prints it: "line N USER: failed: ...".
  doveadm_print_header_simple("message");
  for (const Mailbox& b : boxes) {
    const batch::JobResult& r = b.result;
    const std::string result = batch::shownResult(r, true);
    const std::string message = batch::checkLine(r);
    const std::string reason = r.started && batch::exceedsQuota(r) ? "does not fit the quota" : r.reason;
    doveadm_print_num(r.line);
    doveadm_print(r.user.c_str());
    doveadm_print(result.c_str());
    doveadm_print_num(r.folders);
    doveadm_print_num(r.sourceMessages);
    doveadm_print_num(r.pending);
    doveadm_print_num(r.sourceBytes);
    doveadm_print(r.quotaFree.c_str());
    doveadm_print(reason.c_str());
    doveadm_print(message.c_str());
  }
}

void printVerifyTable(const std::vector<Mailbox>& boxes) {
  const auto number = static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                              DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("line", "line", number);
  doveadm_print_header_simple("user");
  doveadm_print_header_simple("result");
  for (const char* name : {"source_messages", "matched", "missing", "differing", "extra", "local"}) {
    doveadm_print_header(name, name, number);
  }
  doveadm_print_header("seconds", "seconds", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  doveadm_print_header("summary", "summary", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  for (const Mailbox& b : boxes) {
    const batch::JobResult& r = b.result;
    const batch::JobResult::Verify& v = r.verify;
    const std::string result = batch::shownResult(r, false);
    const std::string secs = secondsText(r.seconds);
    const std::string summary = v.have && r.result != "failed" ? v.summary : r.reason;
    doveadm_print_num(r.line);
    doveadm_print(r.user.c_str());
    doveadm_print(result.c_str());
    for (uint64_t n : {v.sourceMessages, v.matched, v.missing, v.differing, v.extra, v.local}) {
      doveadm_print_num(n);
    }
    doveadm_print(secs.c_str());
    doveadm_print(summary.c_str());
  }
}

std::string mailboxLine(const Options& opts, const batch::JobResult& r) {
  if (opts.verify) {
    return batch::verifyLine(r);
  }
  return opts.dryRun ? batch::checkLine(r) : batch::doneLine(r);
}

std::string summaryText(const Options& opts, const std::vector<Mailbox>& boxes, const batch::RunInfo& info) {
  std::map<std::string, size_t> counts;
  uint64_t copied = 0, bytes = 0;
  for (const Mailbox& b : boxes) {
    ++counts[batch::shownResult(b.result, opts.dryRun)];
    copied += b.result.copied;
    bytes += b.result.bytes;
  }
  std::string s = std::to_string(boxes.size()) + (boxes.size() == 1 ? " mailbox:" : " mailboxes:");
  const char* sep = " ";
  for (const auto& [k, n] : counts) {
    s += sep + std::to_string(n) + " " + k;
    sep = ", ";
  }
  if (!opts.dryRun && !opts.verify) {
    s += "; " + std::to_string(copied) + (copied == 1 ? " message" : " messages") + " copied (" +
         formatBytes(bytes) + ")";
  }
  s += " in " + secondsText(info.seconds) + " s";
  if (info.interrupted) {
    s += "; stopped by a signal: run the same command again to continue";
  }
  return s;
}

void notifyAdmin(const Options& opts, const std::vector<Mailbox>& boxes, const batch::RunInfo& info,
                 const std::string& summary) {
  if (opts.notify.empty()) {
    return;
  }
  std::string body = summary + "\n\n";
  for (const Mailbox& b : boxes) {
    body += mailboxLine(opts, b.result) + "\n";
  }
  if (!opts.reportDir.empty()) {
    body += "\nReport: " + opts.reportDir + "/report.json\n";
  }
  body += "Exit code: " + std::to_string(info.exitCode) + "\n";
  const std::string subject = "doveadm migrate " + opts.command +
                              (opts.file.empty() ? std::string() : " " + opts.file) + ": " + summary;
  Status sent = sendNotification(opts.notify, subject, body);
  if (!sent.isOk()) {
    i_error("migrate %s: cannot mail the summary to %s: %s", opts.command.c_str(), opts.notify.c_str(),
            sent.describe().c_str());
  }
}

}  // namespace migrate::cmd::bulk
