// The background batches (batch_background.h): `doveadm migrate batch status [ID]`, `pause ID`,
// `resume ID` and `log ID [-u USER]` (HTTP migrateBatchStatus, migrateBatchPause,
// migrateBatchResume, migrateBatchLog). Plain doveadm commands: they read the batch directory
// and signal or start the batch process; none waits for a migration. docs/panel-integration.md.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sysexits.h>

#include "batch/background.h"
#include "batch_background.h"
#include "cmd_batch.h"
#include "common/base64.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/tar.h"
#include "common/textfile.h"
#include "doveadm_binary.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "job_runner.h"

namespace migrate::cmd::bulk {
namespace {

constexpr int kPauseWaitMs = 30000;
constexpr size_t kMaxLogBytes = size_t{64} << 20;

const auto kNumber = static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                             DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);

std::optional<std::string> readText(const std::string& path, size_t max = 64u << 20) {
  Result<std::optional<std::string>> text = textfile::readFile(path, max);
  if (!text.isOk()) {
    return std::nullopt;
  }
  return text.value();
}

// One batch as the commands see it.
struct Batch {
  std::string id;
  std::string dir;
  std::optional<batch::BatchMeta> meta;
  std::optional<batch::BatchProgress> progress;
  pid_t process = 0;  // the batch process holding the lock, or 0
  std::string state;  // shown: running, paused, done, failed, interrupted
};

Batch loadBatch(doveadm_cmd_context* cctx, const std::string& id) {
  Batch b;
  b.id = id;
  b.dir = batchDir(cctx, id);
  if (std::optional<std::string> t = readText(b.dir + "/batch.json")) {
    Result<batch::BatchMeta> m = batch::parseMeta(*t);
    if (m.isOk()) {
      b.meta = m.value();
    }
  }
  if (std::optional<std::string> t = readText(b.dir + "/progress.json")) {
    Result<batch::BatchProgress> p = batch::parseProgress(*t);
    if (p.isOk()) {
      b.progress = p.value();
    }
  }
  b.process = batchProcess(b.dir);
  if (b.progress) {
    b.state = batch::shownState(*b.progress, b.process != 0);
  } else {
    // Between the start and the batch process's first write, or a batch process that never ran.
    b.state = b.process != 0 ? "running" : "failed";
  }
  return b;
}

// The batch id parameter, checked; "" (logged) when missing or malformed.
std::string batchIdParam(doveadm_cmd_context* cctx, const char* command, bool required, int& code) {
  const char* id = nullptr;
  code = 0;
  if (!doveadm_cmd_param_str(cctx, "batch-id", &id) || id == nullptr || *id == '\0') {
    if (required) {
      i_error(
          "migrate batch %s: no batch id given (doveadm migrate batch %s <id>; `migrate batch status` lists "
          "them)",
          command, command);
      code = EX_USAGE;
    }
    return "";
  }
  if (!batch::validBatchId(id)) {
    i_error("migrate batch %s: \"%s\" is not a batch id (such as 20261207-051400-3fa9c2)", command, id);
    code = EX_USAGE;
    return "";
  }
  struct stat st {};
  if (stat(batchDir(cctx, id).c_str(), &st) < 0) {
    i_error("migrate batch %s: no batch %s in %s (`migrate batch status` lists them)", command, id,
            batchRoot(cctx).c_str());
    code = EX_NOINPUT;
    return "";
  }
  return id;
}

std::vector<std::string> batchIds(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    return ids;
  }
  while (const dirent* e = readdir(d)) {
    if (batch::validBatchId(e->d_name)) {
      ids.emplace_back(e->d_name);
    }
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void listBatches(doveadm_cmd_context* cctx) {
  doveadm_print_header_simple("batch_id");
  doveadm_print_header_simple("state");
  doveadm_print_header_simple("created");
  for (const char* n :
       {"mailboxes", "waiting", "running", "done", "stopped", "ok", "partial", "failed", "copied", "bytes"}) {
    doveadm_print_header(n, n, kNumber);
  }
  doveadm_print_header("error", "error", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  for (const std::string& id : batchIds(batchRoot(cctx))) {
    const Batch b = loadBatch(cctx, id);
    const batch::ProgressCounts c =
        b.progress ? batch::countProgress(b.progress->mailboxes) : batch::ProgressCounts{};
    const std::string created = isoTime(b.meta ? b.meta->created : 0);
    const uint64_t total = b.progress ? c.total : b.meta ? b.meta->mailboxes : 0;
    const std::string error = b.progress ? b.progress->error : "";
    doveadm_print(id.c_str());
    doveadm_print(b.state.c_str());
    doveadm_print(created.c_str());
    for (uint64_t n :
         {total, c.waiting, c.running, c.done, c.stopped, c.ok, c.partial, c.failed, c.copied, c.bytes}) {
      doveadm_print_num(n);
    }
    doveadm_print(error.c_str());
  }
}

// The run status of the running mailboxes, from `doveadm -f json migrate status -u USER` (the
// status lives in each user's state directory, found through the userdb): their live counts,
// current folder and, where the status has it, percent. A user whose status cannot be read is
// left out (its row shows the batch's own counts).
std::map<std::string, json::Value> liveStatus(doveadm_cmd_context* cctx,
                                              const std::vector<std::string>& users) {
  std::map<std::string, json::Value> out;
  if (users.empty()) {
    return out;
  }
  const DoveadmBinary bin = doveadmBinary(cctx);
  JobRunner children([](size_t, const std::string&) { return false; });
  for (size_t i = 0; i < users.size(); ++i) {
    JobRunner::Spec spec;
    spec.executable = bin.executable;
    spec.argv = {"doveadm"};
    if (!bin.configPath.empty()) {
      spec.argv.insert(spec.argv.end(), {"-c", bin.configPath});
    }
    spec.argv.insert(spec.argv.end(), {"-f", "json", "migrate", "status", "-u", users[i]});
    spec.env = childEnvironment({});
    if (!children.start(i, std::move(spec)).isOk()) {
      break;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (children.running() > 0 && std::chrono::steady_clock::now() < deadline) {
    for (JobRunner::Finished& f : children.wait(std::chrono::milliseconds(100))) {
      Result<json::Value> rows = json::parse(f.out);
      if (f.exitCode == 0 && rows.isOk() && rows.value().isArray() && !rows.value().items().empty()) {
        out.emplace(users[f.id], rows.value().items().front());
      }
    }
  }
  return out;
}

void showBatch(doveadm_cmd_context* cctx, const Batch& b) {
  doveadm_print_header_simple("batch_id");
  doveadm_print_header_simple("batch_state");
  doveadm_print_header("line", "line", kNumber);
  doveadm_print_header_simple("user");
  doveadm_print_header_simple("state");
  doveadm_print_header_simple("result");
  doveadm_print_header("copied", "copied", kNumber);
  doveadm_print_header("bytes", "bytes", kNumber);
  doveadm_print_header("seconds", "seconds", DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY);
  // Running mailboxes: from the user's run status (liveStatus()).
  doveadm_print_header_simple("percent");
  doveadm_print_header_simple("folder");
  doveadm_print_header("reason", "reason", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  if (!b.progress) {
    return;
  }
  std::vector<std::string> running;
  for (const batch::MailboxProgress& m : b.progress->mailboxes) {
    if (m.state == "running" && b.process != 0) {
      running.push_back(m.user);
    }
  }
  const std::map<std::string, json::Value> live = liveStatus(cctx, running);
  for (const batch::MailboxProgress& m : b.progress->mailboxes) {
    // A mailbox the dead batch process was running: its migration saved its state as it went.
    const std::string state = m.state == "running" && b.process == 0 ? "interrupted" : m.state;
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.1f", m.seconds);
    uint64_t copied = m.copied;
    uint64_t bytes = m.bytes;
    std::string percent;
    std::string folder;
    if (const auto it = live.find(m.user); it != live.end() && m.state == "running") {
      const json::Value& row = it->second;
      copied = row.get("copied") != nullptr ? row.get("copied")->asU64() : copied;
      bytes = row.get("bytes") != nullptr ? row.get("bytes")->asU64() : bytes;
      percent = row.get("percent") != nullptr ? row.get("percent")->text() : "";
      folder = row.get("folder") != nullptr ? row.get("folder")->text() : "";
    }
    doveadm_print(b.id.c_str());
    doveadm_print(b.state.c_str());
    doveadm_print_num(m.line);
    doveadm_print(m.user.c_str());
    doveadm_print(state.c_str());
    doveadm_print(m.result.c_str());
    doveadm_print_num(copied);
    doveadm_print_num(bytes);
    doveadm_print(secs);
    doveadm_print(state == "done" && m.result == "ok" ? "100" : percent.c_str());
    doveadm_print(folder.c_str());
    doveadm_print(m.reason.c_str());
  }
}

void printAnswer(const std::string& id, const std::string& result, const std::string& state) {
  doveadm_print_header_simple("batch_id");
  doveadm_print_header_simple("result");
  doveadm_print_header_simple("state");
  doveadm_print(id.c_str());
  doveadm_print(result.c_str());
  doveadm_print(state.c_str());
}

int statusCommand(doveadm_cmd_context* cctx) {
  int code = 0;
  const std::string id = batchIdParam(cctx, "status", false, code);
  if (code != 0) {
    return code;
  }
  if (id.empty()) {
    listBatches(cctx);
  } else {
    showBatch(cctx, loadBatch(cctx, id));
  }
  return 0;
}

int pauseCommand(doveadm_cmd_context* cctx) {
  int code = 0;
  const std::string id = batchIdParam(cctx, "pause", true, code);
  if (code != 0) {
    return code;
  }
  Batch b = loadBatch(cctx, id);
  if (b.process == 0) {
    printAnswer(id, "not_running", b.state);
    return 0;
  }
  // As Ctrl-C: the batch process starts nothing new and passes SIGTERM to its running
  // migrations, which stop after the current message with their state saved.
  const pid_t pid = b.process;
  if (kill(getpgid(pid) == pid ? -pid : pid, SIGTERM) < 0) {
    i_error("migrate batch pause: cannot signal the batch process %ld: %m", static_cast<long>(pid));
    return EX_NOPERM;
  }
  for (int waited = 0; waited < kPauseWaitMs && batchProcess(b.dir) != 0; waited += 100) {
    usleep(100 * 1000);
  }
  b = loadBatch(cctx, id);
  printAnswer(id, b.process == 0 ? "paused" : "pausing", b.process == 0 ? b.state : "pausing");
  return 0;
}

int resumeCommand(doveadm_cmd_context* cctx) {
  int code = 0;
  const std::string id = batchIdParam(cctx, "resume", true, code);
  if (code != 0) {
    return code;
  }
  const Batch b = loadBatch(cctx, id);
  if (b.process != 0) {
    printAnswer(id, "already_running", b.state);
    return 0;
  }
  if (b.state == "done") {
    printAnswer(id, "done", b.state);
    return 0;
  }
  struct stat st {};
  if (!b.meta || stat((b.dir + "/input").c_str(), &st) < 0) {
    i_error("migrate batch resume: batch %s has no %s in %s: it cannot be resumed (start a new batch)",
            id.c_str(), b.meta ? "input" : "batch.json", b.dir.c_str());
    return EX_NOINPUT;
  }
  const std::string error = spawnBatchProcess(cctx, b.dir, *b.meta);
  if (!error.empty()) {
    i_error("migrate batch resume: cannot start batch %s: %s", id.c_str(), error.c_str());
    return EX_OSERR;
  }
  printAnswer(id, "resumed", loadBatch(cctx, id).state);
  return 0;
}

// Regular files of `dir` (not below), for the archive under `prefix`.
void addFiles(const std::string& dir, const std::string& prefix, std::vector<tar::Entry>& entries) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str()); d != nullptr) {
    while (const dirent* e = readdir(d)) {
      names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    // Never the input: it holds the passwords.
    if (n == "input" || n == "lock" || n.find(".tmp") != std::string::npos) {
      continue;
    }
    struct stat st {};
    const std::string path = dir + "/" + n;
    if (lstat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    if (std::optional<std::string> t = readText(path, kMaxLogBytes)) {
      entries.push_back({prefix + n, *t, 0600, static_cast<int64_t>(st.st_mtime)});
    }
  }
}

int logCommand(doveadm_cmd_context* cctx) {
  int code = 0;
  const std::string id = batchIdParam(cctx, "log", true, code);
  if (code != 0) {
    return code;
  }
  const std::string dir = batchDir(cctx, id);
  const char* user = nullptr;
  if (doveadm_cmd_param_str(cctx, "user", &user) && user != nullptr && *user != '\0') {
    std::vector<tar::Entry> logs;
    addFiles(dir + "/report", "", logs);
    doveadm_print_header_simple("batch_id");
    doveadm_print_header_simple("user");
    doveadm_print_header_simple("file");
    doveadm_print_header("log", "log", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
    bool found = false;
    const std::string base = user;
    for (const tar::Entry& e : logs) {
      // USER.log, or USER.lineN.log when the user is on several lines.
      const bool mine =
          e.name == base + ".log" || (e.name.rfind(base + ".line", 0) == 0 && e.name.size() > 4 &&
                                      e.name.compare(e.name.size() - 4, 4, ".log") == 0);
      if (!mine) {
        continue;
      }
      found = true;
      doveadm_print(id.c_str());
      doveadm_print(user);
      doveadm_print(e.name.c_str());
      doveadm_print(e.data.c_str());
    }
    if (!found) {
      i_error("migrate batch log: batch %s has no log of %s (not in the batch, or not started yet)",
              id.c_str(), user);
      return EX_NOINPUT;
    }
    return 0;
  }
  std::vector<tar::Entry> entries;
  addFiles(dir, id + "/", entries);
  addFiles(dir + "/report", id + "/report/", entries);
  const std::string archive = tar::archive(entries);
  const std::string encoded = base64Encode(archive);
  doveadm_print_header_simple("batch_id");
  doveadm_print_header_simple("file");
  doveadm_print_header("bytes", "bytes", kNumber);
  doveadm_print_header("tar_base64", "tar_base64", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  const std::string name = id + ".tar";
  doveadm_print(id.c_str());
  doveadm_print(name.c_str());
  doveadm_print_num(archive.size());
  doveadm_print(encoded.c_str());
  return 0;
}

template <int (*Command)(doveadm_cmd_context*)>
void runCommand(doveadm_cmd_context* cctx) noexcept {
  try {
    doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
    doveadm_exit_code = Command(cctx);
  } catch (const std::exception& e) {
    i_error("migrate batch: internal error: %s", e.what());
    doveadm_exit_code = EX_SOFTWARE;
  } catch (...) {
    i_error("migrate batch: internal error");
    doveadm_exit_code = EX_SOFTWARE;
  }
}

const doveadm_cmd_param* idParams(bool withUser) noexcept {
  std::vector<doveadm_cmd_param> params;
  try {
    if (withUser) {
      params.push_back(dovecot::makeParam('u', "user", CMD_PARAM_STR));
    }
    params.push_back(dovecot::makeParam('\0', "batch-id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL));
  } catch (...) {
    params.clear();
  }
  return dovecot::paramTable(std::move(params));
}

}  // namespace
}  // namespace migrate::cmd::bulk

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_status_ver2 = {
    migrate::cmd::bulk::runCommand<migrate::cmd::bulk::statusCommand>,
    nullptr,
    "migrate batch status",
    "[<batch id>]",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::idParams(false),
};
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_pause_ver2 = {
    migrate::cmd::bulk::runCommand<migrate::cmd::bulk::pauseCommand>,
    nullptr,
    "migrate batch pause",
    "<batch id>",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::idParams(false),
};
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_resume_ver2 = {
    migrate::cmd::bulk::runCommand<migrate::cmd::bulk::resumeCommand>,
    nullptr,
    "migrate batch resume",
    "<batch id>",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::idParams(false),
};
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_log_ver2 = {
    migrate::cmd::bulk::runCommand<migrate::cmd::bulk::logCommand>,
    nullptr,
    "migrate batch log",
    "[-u <user>] <batch id>",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::idParams(true),
};
}
