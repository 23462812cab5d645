#include "batch/jobs.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <utility>

#include "common/json.h"
#include "common/strings.h"
#include "engine/preset.h"
#include "engine/report.h"

namespace migrate::batch {

// --- Scheduler ------------------------------------------------------------------------------

std::string hostKey(const std::string& host) {
  std::string key = host;
  if (key.size() >= 2 && key.front() == '[' && key.back() == ']') {
    key = key.substr(1, key.size() - 2);
  }
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

std::vector<std::string> connectionKeys(const std::vector<std::string>& hosts, const Resolver& resolve) {
  // Distinct hosts in order of first appearance, joined (union-find, the earlier one the root)
  // whenever two of them share an address.
  std::vector<std::string> distinct;
  std::map<std::string, size_t> indexOf;
  std::vector<size_t> parent;
  std::map<std::string, size_t> ownerOf;  // address -> first distinct host that has it
  auto root = [&parent](size_t i) {
    while (parent[i] != i) {
      i = parent[i] = parent[parent[i]];
    }
    return i;
  };
  for (const std::string& host : hosts) {
    const std::string key = hostKey(host);
    if (indexOf.count(key) != 0) {
      continue;
    }
    const size_t i = distinct.size();
    indexOf.emplace(key, i);
    distinct.push_back(key);
    parent.push_back(i);
    if (key.empty()) {
      continue;
    }
    for (const std::string& address : resolve(key)) {
      auto [it, added] = ownerOf.emplace(address, i);
      if (!added) {
        const size_t a = root(it->second);
        const size_t b = root(i);
        parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  std::vector<std::string> keys;
  keys.reserve(hosts.size());
  for (const std::string& host : hosts) {
    keys.push_back(distinct[root(indexOf.at(hostKey(host)))]);
  }
  return keys;
}

std::vector<std::string> resolveAddresses(const std::string& host) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) {
    return out;
  }
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0 &&
        std::find(out.begin(), out.end(), text) == out.end()) {
      out.emplace_back(text);
    }
  }
  freeaddrinfo(res);
  return out;
}

Scheduler::Scheduler(const std::vector<JobKey>& jobs, unsigned maxJobs, unsigned maxPerHost)
    : maxJobs_(maxJobs == 0 ? 1 : maxJobs), maxPerHost_(maxPerHost) {
  for (const JobKey& j : jobs) {
    hosts_.push_back(hostKey(j.host));
    users_.push_back(j.user);
  }
  state_.assign(hosts_.size(), State::Waiting);
}

std::optional<size_t> Scheduler::next() {
  if (stopped_ || running_ >= maxJobs_) {
    return std::nullopt;
  }
  for (size_t i = 0; i < state_.size(); ++i) {
    if (state_[i] != State::Waiting) {
      continue;
    }
    unsigned& onHost = perHost_[hosts_[i]];
    unsigned& ofUser = perUser_[users_[i]];
    if ((maxPerHost_ != 0 && onHost >= maxPerHost_) || ofUser > 0) {
      continue;
    }
    ++onHost;
    ++ofUser;
    ++running_;
    state_[i] = State::Running;
    return i;
  }
  return std::nullopt;
}

void Scheduler::finished(size_t job) {
  if (state_.at(job) != State::Running) {
    return;
  }
  state_[job] = State::Finished;
  --running_;
  ++finished_;
  --perHost_[hosts_[job]];
  --perUser_[users_[job]];
}

bool Scheduler::done() const {
  if (running_ > 0) {
    return false;
  }
  return stopped_ || finished_ == state_.size();
}

// --- child command line ---------------------------------------------------------------------

bool passedThrough(const std::string& longName) {
  static const char* const kNever[] = {
      "user", "all-users", "user-file", "socket-path", "trans-flags", "source-password-stdin",
  };
  return std::none_of(std::begin(kNever), std::end(kNever), [&](const char* n) { return longName == n; });
}

std::vector<std::string> childArgv(const std::string& configPath, const ChildTarget& target,
                                   const std::vector<PassThrough>& passThrough, bool dryRun,
                                   const std::vector<std::string>& overrides) {
  std::vector<std::string> argv = {"doveadm"};
  if (!configPath.empty()) {
    argv.insert(argv.end(), {"-c", configPath});
  }
  for (const std::string& o : overrides) {
    argv.insert(argv.end(), {"-o", o});
  }
  argv.insert(argv.end(), {"-f", "json", "migrate", "-u", target.user});
  std::vector<std::string> own;  // long names this target sets itself
  auto add = [&](const char* name, const std::string& value) {
    argv.push_back(std::string("--") + name);
    argv.push_back(value);
    own.emplace_back(name);
  };
  if (!target.host.empty()) {
    add("source-host", target.host);
  }
  if (target.port) {
    add("source-port", std::to_string(*target.port));
  }
  if (target.tlsMode) {
    add("source-tls", tlsModeName(*target.tlsMode));
  }
  if (!target.remoteUser.empty()) {
    add("source-user", target.remoteUser);
  }
  if (target.passwordStdin) {
    argv.emplace_back("--source-password-stdin");
    // Any other login method given to the batch would conflict with the line's password.
    own.insert(own.end(),
               {"source-password-file", "source-oauth2-token-file", "source-oauth2-token-command"});
  }
  if (dryRun) {
    argv.emplace_back("--dry-run");
    own.emplace_back("dry-run");
  }
  for (const PassThrough& p : passThrough) {
    if (!passedThrough(p.name) || std::find(own.begin(), own.end(), p.name) != own.end()) {
      continue;
    }
    argv.push_back("--" + p.name);
    if (!p.flag) {
      argv.push_back(p.value);
    }
  }
  return argv;
}

// --- child output ---------------------------------------------------------------------------

std::string errorFromStderrLine(const std::string& line) {
  static const std::string kError = "Error: ";
  static const std::string kFatal = "Fatal: ";
  size_t pos = line.find(kError);
  size_t len = kError.size();
  if (pos == std::string::npos) {
    pos = line.find(kFatal);
    len = kFatal.size();
  }
  if (pos == std::string::npos) {
    return "";
  }
  std::string msg = line.substr(pos + len);
  // "migrate(bob): cause (hint)" -> "cause (hint)"
  if (msg.rfind("migrate(", 0) == 0) {
    const size_t close = msg.find("): ");
    if (close != std::string::npos) {
      msg = msg.substr(close + 3);
    }
  } else if (msg.rfind("migrate: ", 0) == 0) {
    msg = msg.substr(9);
  }
  return msg;
}

namespace {

// skip_reasons: an object {"too_large": 3}, or text "too_large=3, date=2" / "too_large:3 date:2".
void readSkipReasons(const json::Value& v, std::map<std::string, uint64_t>& out) {
  if (v.isObject()) {
    for (const auto& [k, n] : v.members()) {
      out[k] = n.asU64();
    }
    return;
  }
  std::string token;
  auto flush = [&] {
    const size_t sep = token.find_first_of("=:");
    if (sep != std::string::npos && sep > 0) {
      uint64_t n = 0;
      bool digits = sep + 1 < token.size();
      for (size_t i = sep + 1; i < token.size(); ++i) {
        if (!std::isdigit(static_cast<unsigned char>(token[i]))) {
          digits = false;
          break;
        }
        n = n * 10 + static_cast<uint64_t>(token[i] - '0');
      }
      if (digits) {
        out[token.substr(0, sep)] = n;
      }
    }
    token.clear();
  };
  for (char c : v.text()) {
    if (c == ',' || c == ' ' || c == ';') {
      flush();
    } else {
      token += c;
    }
  }
  flush();
}

}  // namespace

void readChildOutput(const std::string& stdoutText, int exitCode, const std::string& lastError,
                     JobResult& r) {
  r.exitCode = exitCode;
  r.finished = true;
  const json::Value* row = nullptr;
  Result<json::Value> parsed = json::parse(stdoutText);
  if (parsed.isOk()) {
    const json::Value& v = parsed.value();
    if (v.isArray() && !v.items().empty() && v.items().front().isObject()) {
      row = &v.items().front();
    } else if (v.isObject()) {
      row = &v;
    }
  }
  if (row != nullptr) {
    r.haveRow = true;
    auto num = [row](const char* name) {
      const json::Value* f = row->get(name);
      return f != nullptr ? f->asU64() : 0;
    };
    auto text = [row](const char* name) {
      const json::Value* f = row->get(name);
      return f != nullptr ? f->text() : std::string();
    };
    r.result = text("result");
    r.reason = text("error");
    r.folders = num("folders");
    r.copied = num("copied");
    r.skipped = num("skipped");
    r.failed = num("failed");
    r.flagsUpdated = num("flags_updated");
    r.bytes = num("bytes");
    r.sourceMessages = num("source_messages");
    r.sourceBytes = num("source_bytes");
    r.pending = num("pending");
    r.quotaFree = text("quota_free");
    if (const json::Value* f = row->get("skip_reasons")) {
      readSkipReasons(*f, r.skipReasons);
    }
    if (const json::Value* f = row->get("excluded_folders")) {
      // A count; an array of names is counted as well.
      r.excludedFolders = f->isArray() ? f->items().size() : f->asU64();
    }
    r.reconnects = num("reconnects");
    if (const json::Value* f = row->get("waited")) {
      r.waited = f->asDouble();
    }
  }
  if (r.result.empty()) {
    r.result = exitCode == 0 ? "ok" : "failed";
  }
  if (exitCode != 0 && r.result == "ok") {
    // The row said ok but the process failed afterwards (e.g. at deinit): trust the exit code.
    r.result = "failed";
  }
  if (r.result != "ok" && r.reason.empty()) {
    r.reason = !lastError.empty() ? lastError
               : exitCode > 128   ? "doveadm was killed by signal " + std::to_string(exitCode - 128)
                                  : "doveadm migrate exited with code " + std::to_string(exitCode) +
                                      " without a report (see the log)";
  }
}

namespace {

// quota_free as a number; nullopt for "unlimited", "" or anything else.
std::optional<uint64_t> quotaFreeBytes(const JobResult& r) {
  Result<json::Value> parsed = json::parse(r.quotaFree);
  if (!parsed.isOk() || !parsed.value().isNumber()) {
    return std::nullopt;
  }
  return parsed.value().asU64();
}

}  // namespace

bool exceedsQuota(const JobResult& r) {
  if (r.result != "ok" || r.quotaFree.empty() || r.quotaFree == "unlimited") {
    return false;
  }
  std::optional<uint64_t> freeBytes = quotaFreeBytes(r);
  return freeBytes && r.sourceBytes > *freeBytes;
}

std::string shownResult(const JobResult& r, bool check) {
  if (!r.started) {
    return "not started";
  }
  return check && exceedsQuota(r) ? "failed" : r.result;
}

namespace {

std::string who(const JobResult& r) {
  return r.line != 0 ? "line " + std::to_string(r.line) + " " + r.user : r.user;
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
    w.key("failed").value(r.failed);
    w.key("flags_updated").value(r.flagsUpdated);
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
    if (!r.logPath.empty()) {
      w.key("log").value(r.logPath);
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.str() + "\n";
}

// --- option values --------------------------------------------------------------------------

std::optional<uint64_t> parseDuration(const std::string& text) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (n > UINT32_MAX) {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0 || n == 0) {
    return std::nullopt;
  }
  const std::string unit = text.substr(i);
  uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  return n * scale;
}

Result<RepeatUntilIdle> parseRepeatUntilIdle(const std::string& text) {
  const size_t comma = text.find(',');
  const std::string first = text.substr(0, comma);
  const std::optional<uint64_t> interval = parseDuration(first);
  const char* hint = "write INTERVAL,QUIET as durations, e.g. 15m,60m (units s, m, h, d)";
  if (!interval) {
    return Status(ErrorKind::Config, "--repeat-until-idle: \"" + first + "\" is not a duration", hint);
  }
  RepeatUntilIdle r;
  r.interval = *interval;
  r.quiet = 4 * *interval;
  if (comma != std::string::npos) {
    const std::string second = text.substr(comma + 1);
    const std::optional<uint64_t> quiet = parseDuration(second);
    if (!quiet) {
      return Status(ErrorKind::Config, "--repeat-until-idle: \"" + second + "\" is not a duration", hint);
    }
    if (*quiet < *interval) {
      return Status(
          ErrorKind::Config,
          "--repeat-until-idle: the quiet time " + second + " is shorter than the interval " + first,
          "a pass runs only every INTERVAL, so QUIET must be at least INTERVAL");
    }
    r.quiet = *quiet;
  }
  return r;
}

Result<unsigned> parseJobs(const std::string& text) {
  unsigned n = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      ok = false;
      break;
    }
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (!ok || n == 0 || n > kMaxJobs) {
    return Status(ErrorKind::Config,
                  "--jobs \"" + text + "\" is not a number from 1 to " + std::to_string(kMaxJobs),
                  "give how many mailboxes migrate at once, e.g. --jobs 4");
  }
  return n;
}

unsigned perHostCap(const std::optional<uint32_t>& maxConnections, const std::optional<std::string>& preset,
                    const PresetDefinitions& admin) {
  if (maxConnections) {
    return *maxConnections;
  }
  if (!preset) {
    return 0;
  }
  Result<Preset> p = findPreset(*preset, admin);
  return p.isOk() ? p.value().maxConnections : 0;
}

}  // namespace migrate::batch
