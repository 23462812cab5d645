#include "engine/run_status.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/textfile.h"

namespace migrate {

namespace {

const textfile::RecordFormat kFormat = {
    "dovecot-migrate-status", static_cast<uint32_t>(kRunStatusVersion), "run status",
    "the file is damaged: move it away (it is recreated by the next run)"};

// "" for unknown.
std::string optionalNumber(const std::optional<uint64_t>& value) {
  return value ? std::to_string(*value) : std::string();
}

bool parseOptionalNumber(const std::string& text, std::optional<uint64_t>& value) {
  if (text.empty()) {
    value.reset();
    return true;
  }
  uint64_t n = 0;
  if (!textfile::parseU64(text, n)) {
    return false;
  }
  value = n;
  return true;
}

std::string thisHost() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) < 0) {
    return {};
  }
  return name;
}

// What /proc says of a local process: gone or a zombie (killed, not yet reaped) -> false; a
// process that started well after the run began is another program that got the pid -> false.
bool procLooksLikeRun(int64_t pid, int64_t runStarted) {
  std::ifstream statFile("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(statFile, stat)) {
    return true;  // no /proc (or a race with exit): rely on kill(0) alone
  }
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) {
    return true;
  }
  std::istringstream fields(stat.substr(paren + 2));
  std::string state;
  fields >> state;
  if (state == "Z" || state == "X") {
    return false;
  }
  // Field 22 (starttime, clock ticks since boot); we are at field 3.
  std::string value;
  for (int field = 4; field <= 22 && (fields >> value); field++) {
  }
  uint64_t startTicks = 0;
  std::ifstream procStat("/proc/stat");
  std::string line;
  int64_t bootTime = 0;
  while (std::getline(procStat, line)) {
    if (line.rfind("btime ", 0) == 0) {
      textfile::parseI64(line.substr(6), bootTime);
      break;
    }
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (bootTime <= 0 || ticks <= 0 || runStarted <= 0 || !textfile::parseU64(value, startTicks)) {
    return true;
  }
  const int64_t processStarted = bootTime + static_cast<int64_t>(startTicks / static_cast<uint64_t>(ticks));
  return processStarted <= runStarted + 5;  // the run writes "running" right after it starts
}

}  // namespace

std::string serializeRunStatus(const RunStatus& s) {
  using textfile::escape;
  std::ostringstream o;
  o << textfile::recordHeader(kFormat);
  o << "state\t" << escape(s.state) << '\n';
  o << "trigger\t" << escape(s.trigger) << '\n';
  o << "pid\t" << s.pid << '\n';
  o << "host\t" << escape(s.host) << '\n';
  o << "started\t" << s.started << '\n';
  o << "updated\t" << s.updated << '\n';
  o << "finished\t" << s.finished << '\n';
  o << "source\t" << escape(s.source) << '\n';
  o << "folder\t" << escape(s.folder) << '\n';
  o << "folders_done\t" << s.foldersDone << '\n';
  o << "folders_total\t" << s.foldersTotal << '\n';
  o << "copied\t" << s.copied << '\n';
  o << "skipped\t" << s.skipped << '\n';
  o << "failed\t" << s.failed << '\n';
  o << "bytes\t" << s.bytes << '\n';
  o << "pending\t" << s.pending << '\n';
  o << "error\t" << escape(s.error) << '\n';
  o << "error_kind\t" << escape(s.errorKind) << '\n';
  o << "error_hint\t" << escape(s.errorHint) << '\n';
  o << "consecutive_failures\t" << s.consecutiveFailures << '\n';
  o << "total_messages\t" << optionalNumber(s.totalMessages) << '\n';
  o << "total_bytes\t" << optionalNumber(s.totalBytes) << '\n';
  o << "rate\t" << optionalNumber(s.rate) << '\n';
  if (s.nextRun > 0) {
    o << "next_run\t" << s.nextRun << '\n';
  }
  return o.str();
}

namespace {

// One key of the status file into `s`; false for a bad value. Unknown keys (a newer minor
// version's) are ignored.
bool setStatusField(RunStatus& s, const std::string& key, const std::string& value) {
  bool ok = true;
  if (key == "state") {
    s.state = value;
  } else if (key == "trigger") {
    s.trigger = value;
  } else if (key == "pid") {
    ok = textfile::parseI64(value, s.pid);
  } else if (key == "host") {
    s.host = value;
  } else if (key == "started") {
    ok = textfile::parseI64(value, s.started);
  } else if (key == "updated") {
    ok = textfile::parseI64(value, s.updated);
  } else if (key == "finished") {
    ok = textfile::parseI64(value, s.finished);
  } else if (key == "source") {
    s.source = value;
  } else if (key == "folder") {
    s.folder = value;
  } else if (key == "folders_done") {
    ok = textfile::parseU32(value, s.foldersDone);
  } else if (key == "folders_total") {
    ok = textfile::parseU32(value, s.foldersTotal);
  } else if (key == "copied") {
    ok = textfile::parseU64(value, s.copied);
  } else if (key == "skipped") {
    ok = textfile::parseU64(value, s.skipped);
  } else if (key == "failed") {
    ok = textfile::parseU64(value, s.failed);
  } else if (key == "bytes") {
    ok = textfile::parseU64(value, s.bytes);
  } else if (key == "pending") {
    ok = textfile::parseU64(value, s.pending);
  } else if (key == "error") {
    s.error = value;
  } else if (key == "error_kind") {
    s.errorKind = value;
  } else if (key == "error_hint") {
    s.errorHint = value;
  } else if (key == "consecutive_failures") {
    ok = textfile::parseU32(value, s.consecutiveFailures);
  } else if (key == "total_messages") {
    ok = parseOptionalNumber(value, s.totalMessages);
  } else if (key == "total_bytes") {
    ok = parseOptionalNumber(value, s.totalBytes);
  } else if (key == "rate") {
    ok = parseOptionalNumber(value, s.rate);
  } else if (key == "next_run") {
    ok = textfile::parseI64(value, s.nextRun);
  }  // unknown keys: written by a newer minor version, ignored
  return ok;
}

}  // namespace

Result<RunStatus> parseRunStatus(const std::string& text) {
  RunStatus s;
  MIGRATE_RETURN_IF_ERROR(textfile::parseRecords(
      text, kFormat,
      [&s](const std::string& key, const std::string& value) { return setStatusField(s, key, value); }));
  return s;
}

Result<std::optional<RunStatus>> readRunStatus(const std::string& dir) {
  return readRunStatusFile(dir + "/" + kRunStatusFile);
}

Result<std::optional<RunStatus>> readRunStatusFile(const std::string& path) {
  return textfile::readRecordFile<RunStatus>(path, 1u << 20, parseRunStatus);
}

Status writeRunStatus(const std::string& dir, const RunStatus& status) {
  return textfile::writeFileAtomic(dir + "/" + kRunStatusFile, serializeRunStatus(status), false);
}

bool runStatusAlive(const RunStatus& status) {
  if (status.state != "running" || status.pid <= 0) {
    return false;
  }
  if (!status.host.empty() && status.host != thisHost()) {
    return true;  // another backend's run: we cannot tell, believe the file
  }
  if (::kill(static_cast<pid_t>(status.pid), 0) < 0 && errno != EPERM) {
    return false;
  }
  return procLooksLikeRun(status.pid, status.started);
}

RunStatus beginRunStatus(const std::optional<RunStatus>& previous, const std::string& trigger,
                         const std::string& source) {
  RunStatus s;
  s.state = "running";
  s.trigger = trigger;
  s.pid = ::getpid();
  s.host = thisHost();
  s.started = s.updated = static_cast<int64_t>(std::time(nullptr));
  s.source = source;
  if (previous) {
    s.consecutiveFailures = previous->consecutiveFailures;
  }
  return s;
}

void finishRunStatus(RunStatus& s, const MigrationReport& report) {
  const bool ok = report.status.isOk();
  const bool cancelled = !ok && report.status.kind() == ErrorKind::Cancelled;
  s.state = cancelled ? "stopped" : report.result();
  s.finished = s.updated = static_cast<int64_t>(std::time(nullptr));
  s.foldersTotal = static_cast<uint32_t>(report.folders.size());
  s.foldersDone = ok ? s.foldersTotal : s.foldersDone;
  s.copied = report.copied;
  s.skipped = report.skipped;
  s.failed = report.failed;
  s.bytes = report.bytes;
  s.folder.clear();
  s.error = ok ? std::string() : report.status.describe();
  s.errorKind = ok ? std::string() : errorKindName(report.status.kind());
  s.errorHint = ok ? std::string() : report.status.hint();
  s.rate.reset();  // a finished run's rate is its average (engine/run_progress.h)
  if (ok) {
    s.consecutiveFailures = 0;
    s.pending = 0;
  } else if (!cancelled) {
    s.consecutiveFailures++;
  }
}

}  // namespace migrate
