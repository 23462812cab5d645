#include "batch/child_run.h"

#include <algorithm>
#include <utility>

#include "common/json.h"
#include "common/strings.h"

namespace migrate::batch {

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
  argv.insert(argv.end(), {"-f", "json", "migrate"});
  if (target.verify) {
    argv.emplace_back("verify");
  }
  argv.insert(argv.end(), {"-u", target.user});
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

// The columns of a `migrate verify` row (doveadm_cmd/cmd_verify.cpp).
void readVerifyRow(const json::Value& row, JobResult::Verify& v) {
  auto num = [&row](const char* name) {
    const json::Value* f = row.get(name);
    return f != nullptr ? f->asU64() : 0;
  };
  v.have = true;
  v.sourceMessages = num("source_messages");
  v.matched = num("matched");
  v.missing = num("missing");
  v.differing = num("differing");
  v.extra = num("extra");
  v.local = num("local");
  v.filtered = num("filtered");
  if (const json::Value* f = row.get("summary")) {
    v.summary = f->text();
  }
  if (const json::Value* f = row.get("details")) {
    v.details = f->text();
  }
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
    r.expunged = num("expunged");
    r.moved = num("moved");
    r.changedHere = num("changed_here");
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
    r.pop3Uidls = text("pop3_uidls");
    r.reconnects = num("reconnects");
    r.sieve = text("sieve");
    if (row->get("matched") != nullptr) {
      readVerifyRow(*row, r.verify);
    }
    if (const json::Value* f = row->get("waited")) {
      r.waited = f->asDouble();
    }
  }
  if (r.result.empty()) {
    r.result = exitCode == 0 ? "ok" : "failed";
  }
  if (exitCode != 0 && (r.result == "ok" || r.result == "complete")) {
    // The row said ok but the process failed afterwards (e.g. at deinit): trust the exit code.
    r.result = "failed";
  }
  if (r.verify.have && r.result == "incomplete" && r.reason.empty()) {
    r.reason = r.verify.summary;
  }
  if (r.result != "ok" && r.result != "complete" && r.reason.empty()) {
    r.reason = !lastError.empty() ? lastError
               : exitCode > 128   ? "doveadm was killed by signal " + std::to_string(exitCode - 128)
                                  : "doveadm migrate exited with code " + std::to_string(exitCode) +
                                      " without a report (see the log)";
  }
}

// quota_free as a number; nullopt for "unlimited", "" or anything else.
std::optional<uint64_t> quotaFreeBytes(const JobResult& r) {
  Result<json::Value> parsed = json::parse(r.quotaFree);
  if (!parsed.isOk() || !parsed.value().isNumber()) {
    return std::nullopt;
  }
  return parsed.value().asU64();
}

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

}  // namespace migrate::batch
