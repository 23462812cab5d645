#include "batch/batch_report.h"

#include <cstdio>
#include <ctime>

#include "common/json.h"
#include "common/strings.h"
#include "engine/report.h"

namespace migrate::batch {

namespace {

// A parsed JSON value written again (a child's per-folder details into report.json).
void writeValue(json::Writer& w, const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::Null:
      w.null();
      break;
    case json::Value::Type::Bool:
      w.value(v.asBool());
      break;
    case json::Value::Type::Number:
      w.value(v.asU64());
      break;
    case json::Value::Type::String:
      w.value(v.text());
      break;
    case json::Value::Type::Array:
      w.beginArray();
      for (const json::Value& item : v.items()) {
        writeValue(w, item);
      }
      w.endArray();
      break;
    case json::Value::Type::Object:
      w.beginObject();
      for (const auto& [k, member] : v.members()) {
        w.key(k);
        writeValue(w, member);
      }
      w.endObject();
      break;
  }
}

// A mailbox's verify in report.json: the counts, the summary and the per-folder details.
void writeVerify(json::Writer& w, const JobResult::Verify& v) {
  w.key("verify").beginObject();
  w.key("source_messages").value(v.sourceMessages);
  w.key("matched").value(v.matched);
  w.key("missing").value(v.missing);
  w.key("differing").value(v.differing);
  w.key("extra").value(v.extra);
  w.key("local").value(v.local);
  w.key("filtered").value(v.filtered);
  w.key("summary").value(v.summary);
  Result<json::Value> folders = json::parse(v.details);
  if (folders.isOk() && folders.value().isArray()) {
    w.key("folders");
    writeValue(w, folders.value());
  }
  w.endObject();
}

std::string who(const JobResult& r) {
  if (r.line == 0) {
    return r.user;
  }
  // A line the parser refused has no user.
  return "line " + std::to_string(r.line) + (r.user.empty() ? "" : " " + r.user);
}

std::string plural(uint64_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", s);
  return buf;
}

}  // namespace

std::string checkLine(const JobResult& r) {
  std::string line = who(r) + ": ";
  if (!r.started) {
    return line + "not started";
  }
  if (r.result != "ok") {
    return line + r.result + ": " + r.reason;
  }
  line += "ok, " + plural(r.sourceMessages, "message") + " in " + plural(r.folders, "folder") + ", " +
          std::to_string(r.pending) + " to copy (" + formatBytes(r.sourceBytes) + ")";
  if (r.quotaFree.empty() || r.quotaFree == "unlimited") {
    line += ", no quota limit";
  } else if (exceedsQuota(r)) {
    line = who(r) + ": failed: does not fit the quota: needs " + formatBytes(r.sourceBytes) + ", " +
           formatBytes(quotaFreeBytes(r).value_or(0)) + " free (raise the user's quota before the migration)";
  } else {
    line += ", fits the quota (" + formatBytes(quotaFreeBytes(r).value_or(0)) + " free)";
  }
  return line;
}

std::string doneLine(const JobResult& r) {
  std::string line = who(r) + ": ";
  if (!r.started) {
    return line + "not started";
  }
  line += r.result;
  if (r.haveRow) {
    line += ", " + std::to_string(r.copied) + " copied, " + std::to_string(r.skipped) + " already there, " +
            std::to_string(r.failed) + " failed, " + formatBytes(r.bytes) + " in " + seconds(r.seconds);
  }
  if (!r.reason.empty()) {
    line += ": " + r.reason;
  }
  return line;
}

std::string verifyLine(const JobResult& r) {
  std::string line = who(r) + ": ";
  if (!r.started) {
    return line + "not started";
  }
  line += r.result;
  if (r.verify.have && r.result != "failed") {
    return line + ": " + r.verify.summary + " (" + seconds(r.seconds) + ")";
  }
  return line + (r.reason.empty() ? std::string() : ": " + r.reason);
}

// --- report.json ----------------------------------------------------------------------------

std::string reportJson(const RunInfo& info, const std::vector<JobResult>& results) {
  json::Writer w(2);
  w.beginObject();
  w.key("command").value(info.command);
  if (!info.file.empty()) {
    w.key("file").value(info.file);
  }
  if (!info.format.empty()) {
    w.key("format").value(info.format);
  }
  w.key("dry_run").value(info.dryRun);
  if (info.verify) {
    w.key("verify").value(true);
  }
  w.key("started").value(isoTime(info.started));
  w.key("finished").value(isoTime(info.finished));
  w.key("seconds").value(info.seconds);
  w.key("interrupted").value(info.interrupted);
  w.key("exit_code").value(info.exitCode);
  w.key("jobs").value(info.jobs);
  w.key("options").beginObject();
  for (const PassThrough& p : info.options) {
    w.key(p.name);
    if (p.flag) {
      w.value(true);
    } else {
      w.value(p.value);
    }
  }
  w.endObject();

  uint64_t copied = 0, skipped = 0, failedMessages = 0, bytes = 0;
  std::map<std::string, uint64_t> counts = {{"ok", 0}, {"partial", 0}, {"failed", 0}, {"not started", 0}};
  if (info.verify) {
    counts = {{"complete", 0}, {"incomplete", 0}, {"failed", 0}, {"not started", 0}};
  }
  for (const JobResult& r : results) {
    ++counts[shownResult(r, false)];
    copied += r.copied;
    skipped += r.skipped;
    failedMessages += r.failed;
    bytes += r.bytes;
  }
  w.key("totals").beginObject();
  w.key("mailboxes").value(static_cast<uint64_t>(results.size()));
  for (const auto& [k, n] : counts) {
    w.key(k == "not started" ? "not_started" : k).value(n);
  }
  w.key("copied").value(copied);
  w.key("skipped").value(skipped);
  w.key("failed_messages").value(failedMessages);
  w.key("bytes").value(bytes);
  w.endObject();

  if (!info.passes.empty()) {
    w.key("earlier_passes").beginArray();
    for (const RunInfo::Pass& p : info.passes) {
      w.beginObject();
      w.key("started").value(isoTime(p.started));
      w.key("copied").value(p.copied);
      w.key("bytes").value(p.bytes);
      w.key("exit_code").value(p.exitCode);
      w.endObject();
    }
    w.endArray();
  }

  w.key("mailboxes").beginArray();
  for (const JobResult& r : results) {
    w.beginObject();
    if (r.line != 0) {
      w.key("line").value(r.line);
    }
    w.key("user").value(r.user);
    w.key("source").value(r.source);
    if (!r.remoteUser.empty()) {
      w.key("source_user").value(r.remoteUser);
    }
    w.key("result").value(shownResult(r, false));
    w.key("reason").value(r.started ? r.reason : "the batch was stopped before this mailbox started");
    w.key("exit_code").value(r.exitCode);
    w.key("folders").value(r.folders);
    w.key("copied").value(r.copied);
    w.key("skipped").value(r.skipped);
    w.key("skip_reasons").beginObject();
    for (const auto& [k, n] : r.skipReasons) {
      w.key(k).value(n);
    }
    w.endObject();
    w.key("excluded_folders").value(r.excludedFolders);
    w.key("pop3_uidls").value(r.pop3Uidls);
    w.key("sieve").value(r.sieve);
    w.key("failed").value(r.failed);
    w.key("flags_updated").value(r.flagsUpdated);
    w.key("expunged").value(r.expunged);
    w.key("moved").value(r.moved);
    w.key("changed_here").value(r.changedHere);
    w.key("bytes").value(r.bytes);
    w.key("seconds").value(r.seconds);
    w.key("reconnects").value(r.reconnects);
    w.key("waited_seconds").value(r.waited);
    if (info.dryRun) {
      w.key("source_messages").value(r.sourceMessages);
      w.key("source_bytes").value(r.sourceBytes);
      w.key("pending").value(r.pending);
      w.key("quota_free").value(r.quotaFree);
    }
    if (info.verify && r.verify.have) {
      writeVerify(w, r.verify);
    }
    if (!r.logPath.empty()) {
      w.key("log").value(r.logPath);
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.str() + "\n";
}

}  // namespace migrate::batch
