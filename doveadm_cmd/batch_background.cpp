#include "batch_background.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <sysexits.h>

#include "batch_file.h"
#include "batch_passes.h"
#include "cli_options.h"
#include "common/child_process.h"
#include "common/textfile.h"
#include "doveadm_binary.h"
#include "job_runner.h"

namespace migrate::cmd::bulk {
namespace {

constexpr const char* kInput = "input";
constexpr const char* kMeta = "batch.json";
constexpr const char* kProgress = "progress.json";
constexpr const char* kLock = "lock";
constexpr const char* kRunnerLog = "runner.log";
constexpr const char* kReport = "report";
// How long the command waits for the batch process to take its lock before it answers.
constexpr int kStartWaitMs = 20000;

Status makeDirs(const std::string& path) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string cur = path.substr(0, pos);
    if (!cur.empty() && mkdir(cur.c_str(), 0700) < 0 && errno != EEXIST) {
      return textfile::sysError("cannot create the batch directory", cur);
    }
  }
  return Status::ok();
}

uint32_t randomBits() {
  uint32_t r = 0;
  if (getrandom(&r, sizeof(r), 0) != static_cast<ssize_t>(sizeof(r))) {
    r = static_cast<uint32_t>(getpid()) ^ static_cast<uint32_t>(time(nullptr));
  }
  return r;
}

// The command line of the batch process after doveadm's own options: the batch's options as
// report.json lists them (never a password), then its input.
std::vector<std::string> runnerArgs(const Options& opts, const std::string& id, const std::string& input) {
  std::vector<std::string> args = {"migrate", "batch", "--batch-id", id};
  for (const batch::PassThrough& p : opts.reportOptions) {
    args.push_back("--" + p.name);
    if (!p.flag) {
      args.push_back(p.value);
    }
  }
  args.push_back(input);
  return args;
}

// Keeps progress.json of the running batch process.
class ProgressFile {
 public:
  ProgressFile(std::string dir, const std::string& id,
               const std::map<uint32_t, batch::MailboxProgress>& earlier)
      : path_(std::move(dir) + "/" + kProgress), earlier_(earlier) {
    p_.id = id;
    p_.pid = getpid();
    p_.started = time(nullptr);
  }

  // `stopping`: a pause is under way, so a mailbox that ends now with "try again" was stopped.
  void update(const std::vector<Mailbox>& boxes, bool stopping) {
    if (p_.mailboxes.size() != boxes.size()) {
      p_.mailboxes.assign(boxes.size(), batch::MailboxProgress());
      for (size_t i = 0; i < boxes.size(); ++i) {
        const auto it = earlier_.find(boxes[i].result.line);
        if (boxes[i].preFailed && it != earlier_.end()) {
          p_.mailboxes[i] = it->second;
        }
      }
    }
    for (size_t i = 0; i < boxes.size(); ++i) {
      batch::MailboxProgress& m = p_.mailboxes[i];
      const batch::JobResult& r = boxes[i].result;
      if (m.state == "done" && !r.started && !boxes[i].preFailed) {
        m = batch::MailboxProgress();  // --repeat-until-idle: the next pass starts it again
      }
      if (m.state == "done" || m.state == "stopped") {
        continue;
      }
      m.line = r.line;
      m.user = r.user;
      if (!r.started) {
        m.state = "waiting";
        continue;
      }
      if (!r.finished) {
        m.state = "running";
        continue;
      }
      const bool tryAgain = r.exitCode == EX_TEMPFAIL || r.exitCode > 128;
      m.state = stopping && tryAgain ? "stopped" : "done";
      m.result = r.result.empty() ? "failed" : r.result;
      m.reason = r.reason;
      m.exitCode = r.exitCode;
      m.copied = r.copied;
      m.bytes = r.bytes;
      m.seconds = r.seconds;
    }
    write();
  }

  void fail(const std::string& error) {
    p_.state = "failed";
    p_.error = error;
    p_.finished = time(nullptr);
    write();
  }

  // The run is over: done when every mailbox is, else paused (a resume continues it).
  std::string finish(const std::vector<Mailbox>& boxes) {
    update(boxes, true);
    bool allDone = true;
    for (const batch::MailboxProgress& m : p_.mailboxes) {
      allDone = allDone && m.state == "done";
    }
    p_.state = allDone ? "done" : "paused";
    p_.finished = time(nullptr);
    write();
    return p_.state;
  }

 private:
  void write() {
    p_.updated = time(nullptr);
    Status s = textfile::writeFileAtomic(path_, batch::progressJson(p_), false, 0600);
    if (!s.isOk()) {
      i_error("migrate batch: cannot write %s: %s", path_.c_str(), s.describe().c_str());
    }
  }

  std::string path_;
  const std::map<uint32_t, batch::MailboxProgress>& earlier_;
  batch::BatchProgress p_;
};

// The mailboxes an earlier run of this batch finished (progress.json), by line.
std::map<uint32_t, batch::MailboxProgress> finishedEarlier(const std::string& dir) {
  std::map<uint32_t, batch::MailboxProgress> done;
  Result<std::optional<std::string>> text = textfile::readFile(dir + "/" + kProgress, 64u << 20);
  if (!text.isOk() || !text.value()) {
    return done;
  }
  Result<batch::BatchProgress> p = batch::parseProgress(*text.value());
  if (!p.isOk()) {
    i_warning("migrate batch: %s/%s: %s: every mailbox runs again", dir.c_str(), kProgress,
              p.status().describe().c_str());
    return done;
  }
  for (const batch::MailboxProgress& m : p.value().mailboxes) {
    if (!batch::needsRun(m)) {
      done.emplace(m.line, m);
    }
  }
  return done;
}

// Holds the batch's lock (an fcntl write lock, so that others can ask who holds it) for the
// life of the process.
int takeLock(const std::string& dir) {
  const std::string path = dir + "/" + kLock;
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    i_error("migrate batch: open(%s) failed: %m", path.c_str());
    return -1;
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) < 0) {
    const pid_t holder = batchProcess(dir);
    close(fd);
    i_error("migrate batch: the batch in %s is already running (pid %ld)", dir.c_str(),
            static_cast<long>(holder));
    return -1;
  }
  return fd;
}

std::string lastLine(const std::string& path) {
  Result<std::optional<std::string>> text = textfile::readFile(path, 1u << 20);
  if (!text.isOk() || !text.value()) {
    return "";
  }
  std::string s = *text.value();
  while (!s.empty() && s.back() == '\n') {
    s.pop_back();
  }
  return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
}

void printStarted(const std::string& id, const std::vector<Mailbox>& boxes) {
  doveadm_print_header_simple("batch_id");
  doveadm_print_header_simple("state");
  doveadm_print_header("line", "line",
                       static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                               DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY));
  doveadm_print_header_simple("user");
  for (const Mailbox& b : boxes) {
    doveadm_print(id.c_str());
    doveadm_print("running");
    doveadm_print_num(b.result.line);
    doveadm_print(b.result.user.c_str());
  }
}

}  // namespace

std::string batchRoot(doveadm_cmd_context* cctx) {
  std::string root = doveadmSetting(cctx, "migrate_batch_dir");
  while (root.size() > 1 && root.back() == '/') {
    root.pop_back();
  }
  return root.empty() ? kDefaultBatchRoot : root;
}

std::string batchDir(doveadm_cmd_context* cctx, const std::string& id) {
  return batchRoot(cctx) + "/" + id;
}

pid_t batchProcess(const std::string& dir) {
  const std::string path = dir + "/" + kLock;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return 0;
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  // F_GETLK takes nothing: a status never keeps a starting batch from its lock.
  const int r = fcntl(fd, F_GETLK, &fl);
  close(fd);
  return r == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
}

std::string spawnBatchProcess(doveadm_cmd_context* cctx, const std::string& dir,
                              const batch::BatchMeta& meta) {
  const DoveadmBinary bin = doveadmBinary(cctx);
  ChildSpec child;
  child.executable = bin.executable;
  child.argv = {"doveadm"};
  if (!bin.configPath.empty()) {
    child.argv.insert(child.argv.end(), {"-c", bin.configPath});
  }
  for (const std::string& o : configOverrides()) {
    child.argv.insert(child.argv.end(), {"-o", o});
  }
  child.argv.insert(child.argv.end(), meta.argv.begin(), meta.argv.end());
  child.env = childEnvironment({});
  const std::string logPath = dir + "/" + kRunnerLog;
  const int logFd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
  if (logFd < 0) {
    return "cannot open " + logPath + ": " + std::strerror(errno);
  }
  child.fds = {-1, logFd, logFd};
  child.group = ChildSpec::Group::Session;
  child.detach = true;
  child.failureMessage = "doveadm: Error: migrate batch: cannot execute " + bin.executable +
                         " (set migrate_on_login_doveadm to the doveadm binary)";
  const int64_t t0 = time(nullptr);
  Result<pid_t> started = startChild(child);
  close(logFd);
  if (!started.isOk()) {
    return started.status().describe();
  }
  for (int waited = 0; waited < kStartWaitMs; waited += 50) {
    if (batchProcess(dir) != 0) {
      return "";
    }
    // A batch that was over before we looked (or that failed) wrote its progress.
    Result<std::optional<std::string>> text = textfile::readFile(dir + "/" + kProgress, 64u << 20);
    if (text.isOk() && text.value()) {
      Result<batch::BatchProgress> p = batch::parseProgress(*text.value());
      if (p.isOk() && p.value().started >= t0) {
        return p.value().state == "failed" ? "the batch process failed: " + p.value().error : "";
      }
    }
    usleep(50 * 1000);
  }
  return "the batch process did not start within " + std::to_string(kStartWaitMs / 1000) + " s; " + logPath +
         " ends with: " + lastLine(logPath);
}

int startBackground(doveadm_cmd_context* cctx, Options& opts, const std::optional<batch::Format>& forced,
                    std::string& text) {
  std::string parsed = text;
  BatchInput input;
  const int code = parseBatchText(opts, forced, parsed, false, input);
  for (Mailbox& b : input.boxes) {
    wipeSecret(b.password);
  }
  if (!opts.overServer && code == 0) {
    printInputProblems(opts, input, code);  // the warnings
  }
  if (code != 0) {
    wipeSecret(text);
    if (code == EX_TEMPFAIL) {
      return code;
    }
    printRefusedRows(input);
    if (!opts.overServer) {
      i_error("migrate batch: the input has %zu bad line%s; nothing was started (fix them and try again)",
              input.refused.size() + (input.fileProblem.empty() ? 0 : 1),
              input.refused.size() == 1 ? "" : "s");
    }
    // Over the HTTP API an exit code would drop the rows: the `invalid` rows are the answer.
    return opts.overServer ? 0 : code;
  }
  const std::string root = batchRoot(cctx);
  Status made = makeDirs(root);
  struct stat st {};
  if (made.isOk() && (stat(root.c_str(), &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0)) {
    made = Status(ErrorKind::LocalStorage,
                  "the batch directory " + root + " must belong to uid " + std::to_string(geteuid()) +
                      " and be writable by it alone (it holds passwords)",
                  "chown/chmod 700 it, or set migrate_batch_dir to another directory");
  }
  std::string id;
  std::string dir;
  for (int attempt = 0; made.isOk() && attempt < 10; ++attempt) {
    id = batch::newBatchId(time(nullptr), randomBits());
    dir = root + "/" + id;
    if (mkdir(dir.c_str(), 0700) == 0) {
      break;
    }
    if (errno != EEXIST) {
      made = textfile::sysError("cannot create the batch directory", dir);
    }
    dir.clear();
  }
  if (made.isOk() && dir.empty()) {
    made = Status(ErrorKind::LocalStorage, "cannot find a free batch id in " + root);
  }
  if (made.isOk()) {
    // fsynced: the batch process reads it, and a paused batch must find it after a reboot.
    made = textfile::writeFileAtomic(dir + "/" + kInput, text, true, 0600);
  }
  wipeSecret(text);
  batch::BatchMeta meta;
  meta.id = id;
  meta.created = time(nullptr);
  meta.format = opts.format;
  meta.mailboxes = input.boxes.size();
  for (const batch::PassThrough& p : opts.reportOptions) {
    meta.options.emplace_back(p.name, p.flag ? "yes" : p.value);
  }
  meta.argv = runnerArgs(opts, id, dir + "/" + kInput);
  if (made.isOk()) {
    made = textfile::writeFileAtomic(dir + "/" + kMeta, batch::metaJson(meta), true, 0600);
  }
  if (!made.isOk()) {
    i_error("migrate batch: %s", made.describe().c_str());
    return EX_CANTCREAT;
  }
  const std::string error = spawnBatchProcess(cctx, dir, meta);
  if (!error.empty()) {
    i_error("migrate batch: cannot start the background batch %s: %s", id.c_str(), error.c_str());
    return EX_OSERR;
  }
  i_info("migrate batch: started batch %s in the background (%zu mailbox%s, directory %s)", id.c_str(),
         input.boxes.size(), input.boxes.size() == 1 ? "" : "es", dir.c_str());
  printStarted(id, input.boxes);
  return 0;
}

int runBackground(doveadm_cmd_context* cctx, Options& opts, const std::optional<batch::Format>& forced,
                  const std::string& id) {
  if (!batch::validBatchId(id)) {
    i_error("migrate batch: \"%s\" is not a batch id (such as 20261207-051400-3fa9c2)", id.c_str());
    return EX_USAGE;
  }
  const std::string dir = batchDir(cctx, id);
  const int lock = takeLock(dir);
  if (lock < 0) {
    return EX_TEMPFAIL;
  }
  const std::map<uint32_t, batch::MailboxProgress> earlier = finishedEarlier(dir);
  ProgressFile progress(dir, id, earlier);
  opts.file = dir + "/" + kInput;
  opts.reportDir = dir + "/" + kReport;
  std::vector<Mailbox> boxes;
  if (int code = readBatchFile(opts, forced, boxes); code != 0) {
    progress.fail("the input " + opts.file + " cannot be read or is no longer valid (exit " +
                  std::to_string(code) + "; see runner.log)");
    close(lock);
    return code;
  }
  // Mailboxes an earlier (paused) run finished keep their result and do not run again.
  for (Mailbox& b : boxes) {
    const auto it = earlier.find(b.result.line);
    if (it == earlier.end()) {
      continue;
    }
    const batch::MailboxProgress& m = it->second;
    b.preFailed = true;
    wipeSecret(b.password);
    b.result.started = true;
    b.result.finished = true;
    b.result.result = m.result;
    b.result.reason = m.reason;
    b.result.exitCode = m.exitCode;
    b.result.copied = m.copied;
    b.result.bytes = m.bytes;
    b.result.seconds = m.seconds;
    b.result.haveRow = true;
  }
  progress.update(boxes, false);
  opts.onProgress = [&progress](const std::vector<Mailbox>& all, bool stopping) {
    progress.update(all, stopping);
  };
  const int code = run(opts, boxes);
  for (Mailbox& b : boxes) {
    wipeSecret(b.password);
  }
  const std::string state = progress.finish(boxes);
  if (state == "done") {
    // The passwords are not needed any more.
    if (unlink(opts.file.c_str()) < 0 && errno != ENOENT) {
      i_error("migrate batch: cannot remove %s (it holds passwords): %m", opts.file.c_str());
    }
  }
  std::fprintf(stderr, "migrate batch %s: %s\n", id.c_str(), state.c_str());
  close(lock);
  return code;
}

}  // namespace migrate::cmd::bulk
