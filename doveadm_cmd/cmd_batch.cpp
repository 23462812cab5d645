// `doveadm migrate batch [--check] [--format F] [-j N] [-r DIR] [--notify ADDR]
// [--repeat-until-idle INTERVAL[,QUIET]] [migrate options] FILE`, and the runner it shares with
// `doveadm migrate check` (cmd_check.cpp). See cmd_batch.h and docs/batch.md.
//
// A plain doveadm command (no mail_user): doveadm calls cmdBatch() once with the parsed
// parameters. Every mailbox runs as a child `doveadm -f json migrate -u USER ...` (job_runner.h),
// with the line's password on the child's stdin.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "batch/batch.h"
#include "batch/jobs.h"
#include "batch_output.h"
#include "cli_options.h"
#include "cmd_batch.h"
#include "common/strings.h"
#include "common/textfile.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/migrate_settings.h"
#include "dovecot_adapter/userdb_users.h"
#include "engine/report.h"
#include "exit_codes.h"
#include "job_runner.h"
#include "migrate_params.h"
#include "notify.h"

namespace migrate::cmd::bulk {
namespace {

volatile sig_atomic_t gSignal = 0;

void onSignal(const siginfo_t* si, void*) {
  gSignal = si->si_signo;
}

// The options no bulk command accepts: the user selection is the file's or check's own, and
// the login of batch lines is the line's password.
bool excludedFromBatch(const char* name) {
  static const char* const kNames[] = {"all-users",
                                       "socket-path",
                                       "user",
                                       "trans-flags",
                                       "user-file",
                                       "source-password-file",
                                       "source-password-stdin",
                                       "source-oauth2-token-file",
                                       "source-oauth2-token-command"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [name](const char* n) { return std::strcmp(n, name) == 0; });
}

bool excludedFromCheck(const char* name) {
  return std::strcmp(name, "socket-path") == 0 || std::strcmp(name, "trans-flags") == 0 ||
         std::strcmp(name, "user") == 0 || std::strcmp(name, "all-users") == 0 ||
         std::strcmp(name, "user-file") == 0;
}

// Options whose value is a path: children run in our working directory, but report.json and
// the logs should name them unambiguously.
bool isPathOption(const std::string& name) {
  return name == "ca-file" || name == "ca-dir" || name == "rawlog" || name == "source-password-file" ||
         name == "source-oauth2-token-file";
}

std::string absolutePath(const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return path;
  }
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) {
    return path;
  }
  return std::string(cwd) + "/" + path;
}

void setExit(int code) {
  doveadm_exit_code = code;
}

// The admin preset `name` as dovecot.conf defines it (with the batch's own -o overrides), for
// its per-host cap. Per-user userdb fields may change a preset for one child; the batch, which
// holds the cap across children, reads the global one. Unreadable settings: no admin preset (each
// child then reports the settings error for its mailbox).
PresetDefinitions adminPreset(doveadm_cmd_context* cctx, const std::string& name) {
  PresetDefinitions defs;
  Result<std::unique_ptr<dovecot::MigrateSettings>> settings =
      dovecot::doveadmSettings(dovecot::commandSettingsEvent(cctx));
  if (settings.isOk()) {
    (void)settings.value()->adminPreset(name, defs);
  }
  return defs;
}

std::string nowStamp() {
  const time_t t = time(nullptr);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

Status makeDirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) {
      continue;
    }
    if (mkdir(cur.c_str(), 0700) < 0 && errno != EEXIST) {
      return textfile::sysError("cannot create the report directory", cur);
    }
  }
  return Status::ok();
}

// "bob@example.org" -> "bob@example.org"; '/' and a leading '.' cannot be file names.
std::string logName(const std::string& user) {
  std::string s = user;
  for (char& c : s) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20) {
      c = '_';
    }
  }
  if (s.empty() || s[0] == '.') {
    s = "_" + s;
  }
  return s;
}

// A child's exit code as one of ours: signals are not sysexits codes.
int childCode(int code) {
  if (code > 128) {
    const int sig = code - 128;
    return sig == SIGTERM || sig == SIGINT ? EX_TEMPFAIL : EX_SOFTWARE;
  }
  return code;
}

struct PassResult {
  uint64_t copied = 0, bytes = 0;
  int exitCode = 0;
  bool interrupted = false;
};

// Where the per-mailbox lines go: stdout, or stderr when -f chose a formatter for stdout.
FILE* lineStream(const Options& opts) {
  return opts.formatterChosen ? stderr : stdout;
}

class Runner {
 public:
  Runner(const Options& opts, std::vector<Mailbox>& boxes) : opts_(opts), boxes_(boxes) {}

  PassResult runPass(unsigned pass);

 private:
  bool onStderr(size_t id, const std::string& line);
  void openLog(size_t id, const std::vector<std::string>& argv, unsigned pass);

  const Options& opts_;
  std::vector<Mailbox>& boxes_;
  std::map<size_t, int> logs_;
  std::map<std::string, size_t> logNames_;  // log file name -> mailboxes that map to it
};

bool Runner::onStderr(size_t id, const std::string& line) {
  const auto it = logs_.find(id);
  if (it != logs_.end() && it->second >= 0) {
    const std::string text = line + "\n";
    (void)!write(it->second, text.data(), text.size());
  }
  // check: the mailbox's line carries the reason; the child's log lines only with -v.
  if (!opts_.dryRun || opts_.verbose) {
    std::fprintf(stderr, "%s: %s\n", boxes_[id].result.user.c_str(), line.c_str());
  }
  return !batch::errorFromStderrLine(line).empty();
}

void Runner::openLog(size_t id, const std::vector<std::string>& argv, unsigned pass) {
  if (opts_.reportDir.empty()) {
    return;
  }
  Mailbox& box = boxes_[id];
  if (box.result.logPath.empty()) {
    // Two source accounts merged into one mailbox, a user listed twice (check -F, no line
    // numbers: the position in the list), or two users whose names give the same file name
    // ("a/b", "a_b"): one log per line.
    if (logNames_.empty()) {
      for (const Mailbox& b : boxes_) {
        ++logNames_[logName(b.result.user)];
      }
    }
    std::string name = logName(box.result.user);
    if (logNames_[name] > 1) {
      name += ".line" + std::to_string(box.result.line != 0 ? box.result.line : id + 1);
    }
    box.result.logPath = opts_.reportDir + "/" + name + ".log";
  }
  // The first pass starts a fresh log; later --repeat-until-idle passes append.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (pass == 1 ? O_TRUNC : O_APPEND);
  const int fd = open(box.result.logPath.c_str(), flags, 0600);
  if (fd < 0) {
    i_warning("migrate %s: cannot write %s: %m", opts_.command.c_str(), box.result.logPath.c_str());
    return;
  }
  // The command line holds no secret of ours (the password goes to stdin): an admin can rerun it
  // by hand. doveadm's own -o settings are copied as given, so the value of one that names a
  // password, token or secret (-o plugin/migrate_source_password=...) is hidden here.
  std::string head = "# " + isoTime(time(nullptr)) + " pass " + std::to_string(pass) + ":";
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string key = argv[i].substr(0, argv[i].find('='));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool secret = i > 0 && argv[i - 1] == "-o" && key.size() < argv[i].size() &&
                        (key.find("password") != std::string::npos ||
                         key.find("token") != std::string::npos || key.find("secret") != std::string::npos);
    head += " " + (secret ? argv[i].substr(0, key.size()) + "=<hidden>" : argv[i]);
  }
  head += "\n";
  (void)!write(fd, head.data(), head.size());
  logs_[id] = fd;
}

PassResult Runner::runPass(unsigned pass) {
  // Hosts are resolved once per pass, on this thread, before any child starts (a name that does
  // not resolve keeps its own key; its child reports the DNS error).
  std::vector<std::string> hosts;
  for (const Mailbox& b : boxes_) {
    hosts.push_back(b.target.host.empty() ? opts_.defaultHost : b.target.host);
  }
  const std::vector<std::string> hostKeys =
      opts_.maxPerHost == 0 ? hosts : batch::connectionKeys(hosts, batch::resolveAddresses);
  std::vector<batch::JobKey> keys;
  for (size_t i = 0; i < boxes_.size(); ++i) {
    keys.push_back({hostKeys[i], boxes_[i].target.user});
  }
  batch::Scheduler sched(keys, opts_.jobs, opts_.maxPerHost);
  JobRunner runner([this](size_t id, const std::string& line) { return onStderr(id, line); });
  const std::string configPath = master_service_get_config_path(master_service);
  // The batch's own `doveadm -o setting=value` apply to every child as well.
  std::vector<std::string> overrides;
  if (array_is_created(&master_service->config_overrides)) {
    const char* const* o = nullptr;
    array_foreach(&master_service->config_overrides, o) {
      overrides.emplace_back(*o);
    }
  }
  // doveadm cleans its environment when it re-executes itself through doveconf, except for the
  // variables named in DOVECOT_PRESERVE_ENVS: the run status reads MIGRATE_TRIGGER.
  const std::vector<std::string> env =
      childEnvironment({"MIGRATE_TRIGGER=batch", "DOVECOT_PRESERVE_ENVS=MIGRATE_TRIGGER"});
  for (Mailbox& b : boxes_) {
    if (b.preFailed) {
      continue;
    }
    batch::JobResult fresh;
    fresh.line = b.result.line;
    fresh.user = b.result.user;
    fresh.source = b.result.source;
    fresh.remoteUser = b.result.remoteUser;
    fresh.logPath = b.result.logPath;
    b.result = std::move(fresh);
  }

  PassResult pr;
  bool stopping = false;
  while (!sched.done()) {
    if (gSignal != 0 && !stopping) {
      stopping = true;
      sched.stop();
      std::fprintf(stderr,
                   "migrate %s: stopping (signal %d): %zu running migrations save their state and stop; "
                   "no new one starts; run the same command again to continue\n",
                   opts_.command.c_str(), static_cast<int>(gSignal), runner.running());
      runner.signalAll(SIGTERM);
    }
    while (std::optional<size_t> id = sched.next()) {
      Mailbox& box = boxes_[*id];
      if (box.preFailed) {
        sched.finished(*id);
        continue;
      }
      JobRunner::Spec spec;
      spec.executable = "/proc/self/exe";
      spec.argv = batch::childArgv(configPath, box.target, opts_.passThrough, opts_.dryRun, overrides);
      spec.env = env;
      if (box.target.passwordStdin) {
        spec.stdinData = box.password;
      }
      openLog(*id, spec.argv, pass);
      box.result.started = true;
      Status started = runner.start(*id, std::move(spec));
      if (!started.isOk()) {
        box.result.finished = true;
        box.result.result = "failed";
        box.result.reason = started.describe();
        box.result.exitCode = exitCodeFor(started);
        sched.finished(*id);
      }
    }
    for (JobRunner::Finished& f : runner.wait(std::chrono::milliseconds(200))) {
      Mailbox& box = boxes_[f.id];
      batch::readChildOutput(f.out, f.exitCode, batch::errorFromStderrLine(f.lastError), box.result);
      box.result.seconds = f.seconds;
      sched.finished(f.id);
      const auto log = logs_.find(f.id);
      if (log != logs_.end()) {
        close(log->second);
        logs_.erase(log);
      }
      const std::string text = opts_.dryRun ? batch::checkLine(box.result) : batch::doneLine(box.result);
      std::fprintf(lineStream(opts_), "%s\n", text.c_str());
      std::fflush(lineStream(opts_));
    }
  }
  for (const auto& [id, fd] : logs_) {
    close(fd);
  }
  logs_.clear();

  for (const Mailbox& b : boxes_) {
    const batch::JobResult& r = b.result;
    if (!r.started) {
      continue;
    }
    pr.copied += r.copied;
    pr.bytes += r.bytes;
    pr.exitCode = mergeExitCode(pr.exitCode, childCode(r.exitCode));
    if (opts_.dryRun && batch::exceedsQuota(r)) {
      pr.exitCode = mergeExitCode(pr.exitCode, exitCodeFor(ErrorKind::Quota));
    }
  }
  pr.interrupted = stopping;
  if (stopping) {
    pr.exitCode = mergeExitCode(pr.exitCode, EX_TEMPFAIL);
  }
  return pr;
}

bool sleepInterruptible(uint64_t seconds) {
  for (uint64_t ms = 0; ms < seconds * 1000; ms += 200) {
    if (gSignal != 0) {
      return false;
    }
    usleep(200 * 1000);
  }
  return gSignal == 0;
}

}  // namespace

// --- shared parts ---------------------------------------------------------------------------

const doveadm_cmd_param* buildParams(std::initializer_list<doveadm_cmd_param> own,
                                     bool withUserSelection) noexcept {
  std::vector<doveadm_cmd_param> params;
  try {
    std::vector<doveadm_cmd_param> migrate;
    appendMigrateOptionParams(migrate);
    for (const doveadm_cmd_param& p : migrate) {
      const bool excluded = withUserSelection ? excludedFromCheck(p.name) : excludedFromBatch(p.name);
      if (!excluded) {
        params.push_back(p);
      }
    }
    params.insert(params.end(), own.begin(), own.end());
  } catch (...) {
    params.clear();
  }
  return dovecot::paramTable(std::move(params));
}

int readCommonOptions(doveadm_cmd_context* cctx, Options& opts, std::string& password) {
  if (cctx->conn_type != DOVEADM_CONNECTION_TYPE_CLI) {
    i_error(
        "migrate %s works only on the doveadm command line (it runs a doveadm process per mailbox); "
        "run it on the server, e.g. from cron",
        opts.command.c_str());
    return EX_USAGE;
  }
  // The migrate options, checked once with the parser of `doveadm migrate` (it reads them by
  // name through ctx->cctx only).
  doveadm_mail_cmd_context fake{};
  fake.cctx = cctx;
  CliOptions cli;
  Status status = parseCommandLine(&fake, cli);
  if (!status.isOk()) {
    i_error("migrate %s: %s", opts.command.c_str(), status.describe().c_str());
    return EX_USAGE;
  }
  if (cli.password) {
    password = *cli.password;
    wipeSecret(*cli.password);
  }
  opts.dryRun = opts.dryRun || cli.dryRun;
  opts.verbose = cli.verbose || doveadm_verbose;
  opts.maxPerHost = batch::perHostCap(cli.maxConnections, cli.preset,
                                      cli.preset ? adminPreset(cctx, *cli.preset) : PresetDefinitions{});
  opts.defaultHost = cli.host.value_or("");

  for (int i = 0; i < cctx->argc; ++i) {
    const doveadm_cmd_param& p = cctx->argv[i];
    if (p.name == nullptr || !p.value_set || !batch::passedThrough(p.name)) {
      continue;
    }
    bool migrateOption = false;
    for (const doveadm_cmd_param* m = migrateParams(); m->name != nullptr; ++m) {
      migrateOption = migrateOption || std::strcmp(m->name, p.name) == 0;
    }
    if (!migrateOption) {
      continue;
    }
    batch::PassThrough pt;
    pt.name = p.name;
    if (p.type == CMD_PARAM_BOOL) {
      if (!p.value.v_bool) {
        continue;
      }
      pt.flag = true;
    } else if (p.type == CMD_PARAM_STR && p.value.v_string != nullptr) {
      pt.value = isPathOption(pt.name) ? absolutePath(p.value.v_string) : p.value.v_string;
    } else {
      continue;
    }
    if (pt.name == "dry-run") {
      continue;  // the runner adds it for check
    }
    opts.passThrough.push_back(pt);
  }
  opts.reportOptions = opts.passThrough;

  const char* value = nullptr;
  if (doveadm_cmd_param_str(cctx, "jobs", &value) && value != nullptr) {
    Result<unsigned> jobs = batch::parseJobs(value);
    if (!jobs.isOk()) {
      i_error("migrate %s: %s", opts.command.c_str(), jobs.status().describe().c_str());
      return EX_USAGE;
    }
    opts.jobs = jobs.value();
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "report-dir", &value) && value != nullptr) {
    if (*value == '\0') {
      i_error("migrate %s: --report-dir is empty", opts.command.c_str());
      return EX_USAGE;
    }
    opts.reportDir = absolutePath(value);
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "notify", &value) && value != nullptr) {
    if (std::strchr(value, '@') == nullptr) {
      i_error(
          "migrate %s: --notify \"%s\" is not a mail address (give the admin's address, e.g. "
          "--notify postmaster@example.org)",
          opts.command.c_str(), value);
      return EX_USAGE;
    }
    opts.notify = value;
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "repeat-until-idle", &value) && value != nullptr) {
    Result<batch::RepeatUntilIdle> r = batch::parseRepeatUntilIdle(value);
    if (!r.isOk()) {
      i_error("migrate %s: %s", opts.command.c_str(), r.status().describe().c_str());
      return EX_USAGE;
    }
    opts.repeat = true;
    opts.repeatUntilIdle = r.value();
  }
  opts.reportOptions.push_back({"jobs", std::to_string(opts.jobs), false});
  if (!opts.notify.empty()) {
    opts.reportOptions.push_back({"notify", opts.notify, false});
  }
  if (opts.repeat) {
    opts.reportOptions.push_back({"repeat-until-idle", value, false});
  }
  return 0;
}

int run(const Options& opts, std::vector<Mailbox>& boxes) {
  if (!opts.reportDir.empty()) {
    Status made = makeDirs(opts.reportDir);
    if (!made.isOk()) {
      i_error("migrate %s: %s", opts.command.c_str(), made.describe().c_str());
      return EX_CANTCREAT;
    }
    // The logs and report.json are written as root: in a directory another user owns or anyone
    // may write to (pre-created, e.g. under /tmp), a planted symlink <user>.log would make the
    // batch overwrite any file.
    struct stat dirSt {};
    if (stat(opts.reportDir.c_str(), &dirSt) == 0 &&
        ((dirSt.st_uid != geteuid() && dirSt.st_uid != 0) || (dirSt.st_mode & S_IWOTH) != 0)) {
      i_error(
          "migrate %s: the report directory %s belongs to uid %u or can be written by anyone (mode "
          "%04o): not writing logs into it (give -r a new path, or one only root can write to)",
          opts.command.c_str(), opts.reportDir.c_str(), static_cast<unsigned>(dirSt.st_uid),
          static_cast<unsigned>(dirSt.st_mode & 07777));
      return EX_CANTCREAT;
    }
  }
  gSignal = 0;
  lib_signals_set_handler(SIGINT, static_cast<libsig_flags>(0), onSignal, nullptr);
  lib_signals_set_handler(SIGTERM, static_cast<libsig_flags>(0), onSignal, nullptr);

  batch::RunInfo info;
  info.command = opts.command;
  info.file = opts.file;
  info.format = opts.format;
  info.dryRun = opts.dryRun;
  info.jobs = opts.jobs;
  info.options = opts.reportOptions;
  info.started = time(nullptr);
  const auto t0 = std::chrono::steady_clock::now();

  Runner runner(opts, boxes);
  PassResult last;
  int64_t lastActivity = info.started;
  for (unsigned pass = 1;; ++pass) {
    const int64_t passStart = time(nullptr);
    if (opts.repeat) {
      std::fprintf(lineStream(opts), "pass %u (%s)\n", pass, isoTime(passStart).c_str());
      std::fflush(lineStream(opts));
    }
    last = runner.runPass(pass);
    if (!opts.repeat || last.interrupted) {
      break;
    }
    const int64_t now = time(nullptr);
    if (last.copied > 0) {
      lastActivity = now;
    }
    std::fprintf(lineStream(opts), "pass %u: %llu messages copied (%s)\n", pass,
                 static_cast<unsigned long long>(last.copied), formatBytes(last.bytes).c_str());
    info.passes.push_back({passStart, last.copied, last.bytes, last.exitCode});
    if (static_cast<uint64_t>(now - lastActivity) >= opts.repeatUntilIdle.quiet) {
      std::fprintf(lineStream(opts), "idle: nothing new copied for %llu s; done\n",
                   static_cast<unsigned long long>(now - lastActivity));
      std::fflush(lineStream(opts));
      info.passes.pop_back();  // the last pass is the report's own
      break;
    }
    std::fflush(lineStream(opts));
    if (!sleepInterruptible(opts.repeatUntilIdle.interval)) {
      // Stopped between passes: the last pass's results stand.
      info.passes.pop_back();
      last.interrupted = true;
      last.exitCode = mergeExitCode(last.exitCode, EX_TEMPFAIL);
      break;
    }
  }
  lib_signals_unset_handler(SIGINT, onSignal, nullptr);
  lib_signals_unset_handler(SIGTERM, onSignal, nullptr);

  info.finished = time(nullptr);
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  info.interrupted = last.interrupted;
  info.exitCode = last.exitCode;

  std::vector<batch::JobResult> results;
  results.reserve(boxes.size());
  for (const Mailbox& b : boxes) {
    results.push_back(b.result);
  }
  if (!opts.reportDir.empty()) {
    const std::string path = opts.reportDir + "/report.json";
    Status written = textfile::writeFileAtomic(path, batch::reportJson(info, results), false, 0600);
    if (!written.isOk()) {
      i_error("migrate %s: cannot write the report: %s", opts.command.c_str(), written.describe().c_str());
    }
  }
  const std::string summary = summaryText(opts, boxes, info);
  if (opts.dryRun) {
    if (opts.formatterChosen) {
      printCheckTable(boxes);
    }
  } else {
    printSummaryTable(boxes);
  }
  std::fprintf(stderr, "migrate %s: %s%s\n", opts.command.c_str(), summary.c_str(),
               opts.reportDir.empty() ? "" : ("; report: " + opts.reportDir + "/report.json").c_str());
  notifyAdmin(opts, boxes, info, summary);
  return info.exitCode;
}

// --- migrate batch --------------------------------------------------------------------------

namespace {

int batchCommand(doveadm_cmd_context* cctx) {
  Options opts;
  opts.command = "batch";
  // doveadm initializes the formatter before the command only for -f.
  opts.formatterChosen = doveadm_print_is_initialized();
  // The summary table; -f json/tab (already set by doveadm) takes precedence.
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  bool check = false;
  opts.dryRun = doveadm_cmd_param_bool(cctx, "check", &check) && check;
  std::string unused;
  if (int code = readCommonOptions(cctx, opts, unused); code != 0) {
    return code;
  }
  wipeSecret(unused);
  if (opts.dryRun) {
    opts.command = "batch --check";
  }

  const char* file = nullptr;
  if (!doveadm_cmd_param_str(cctx, "batch-file", &file) || file == nullptr || *file == '\0') {
    i_error("migrate batch: no batch file given (doveadm migrate batch [options] FILE)");
    return EX_USAGE;
  }
  opts.file = absolutePath(file);
  std::optional<batch::Format> forced;
  const char* formatName = nullptr;
  if (doveadm_cmd_param_str(cctx, "format", &formatName) && formatName != nullptr) {
    Result<batch::Format> f = batch::parseFormatName(formatName);
    if (!f.isOk()) {
      i_error("migrate batch: --format: %s", f.status().describe().c_str());
      return EX_USAGE;
    }
    forced = f.value();
    opts.reportOptions.push_back({"format", formatName, false});
  }

  struct stat st {};
  if (stat(opts.file.c_str(), &st) < 0) {
    i_error("migrate batch: cannot read %s: %s", opts.file.c_str(), std::strerror(errno));
    return EX_NOINPUT;
  }
  if (!S_ISREG(st.st_mode)) {
    i_error("migrate batch: cannot read %s: not a regular file", opts.file.c_str());
    return EX_NOINPUT;
  }
  if ((st.st_mode & 077) != 0) {
    i_warning("migrate batch: %s holds passwords but can be read by %s (mode %04o): chmod 600 %s",
              opts.file.c_str(), (st.st_mode & 007) != 0 ? "everyone" : "its group",
              static_cast<unsigned>(st.st_mode & 07777), opts.file.c_str());
  }
  Result<std::optional<std::string>> content = textfile::readFile(opts.file, 256u << 20);
  if (!content.isOk() || !content.value()) {
    i_error("migrate batch: cannot read %s: %s", opts.file.c_str(),
            content.isOk() ? "it disappeared" : content.status().describe().c_str());
    return EX_NOINPUT;
  }
  batch::ParseResult parsed = batch::parse(*content.value(), forced);
  wipeSecret(*content.value());
  opts.format = batch::formatName(parsed.format);
  size_t fatal = 0;
  for (const batch::Problem& p : parsed.problems) {
    std::fprintf(stderr, "%s%s\n", p.fatal ? "" : "warning: ", p.message.c_str());
    fatal += p.fatal ? 1 : 0;
  }
  if (!parsed.ok()) {
    if (fatal == 0) {
      i_error("migrate batch: %s has no mailbox lines (format %s); nothing to do", opts.file.c_str(),
              opts.format.c_str());
    } else {
      i_error("migrate batch: %s: %zu error%s; nothing was run (fix the lines above and run again)",
              opts.file.c_str(), fatal, fatal == 1 ? "" : "s");
    }
    return EX_DATAERR;
  }

  // Every target user must exist before anything runs.
  std::vector<std::string> users;
  for (const batch::Entry& e : parsed.entries) {
    users.push_back(e.localUser);
  }
  std::vector<size_t> missing;
  Status looked = dovecot::findMissingUsers(users, missing);
  if (!looked.isOk()) {
    batch::wipePasswords(parsed.entries);
    i_error("migrate batch: %s", looked.describe().c_str());
    return EX_TEMPFAIL;
  }
  if (!missing.empty()) {
    for (size_t i : missing) {
      std::fprintf(stderr, "line %u: user %s not found in userdb\n", parsed.entries[i].line,
                   parsed.entries[i].localUser.c_str());
    }
    batch::wipePasswords(parsed.entries);
    i_error(
        "migrate batch: %zu target user%s not found in the userdb; nothing was run (create the users "
        "first, or fix target_user)",
        missing.size(), missing.size() == 1 ? "" : "s");
    return EX_NOUSER;
  }
  bool ignoredTargetPassword = false;
  std::vector<Mailbox> boxes;
  for (batch::Entry& e : parsed.entries) {
    Mailbox b;
    b.result.line = e.line;
    b.result.user = e.localUser;
    const std::string host = e.host.empty() ? opts.defaultHost : e.host;
    b.result.source = host.empty() ? "" : e.port ? host + ":" + std::to_string(*e.port) : host;
    b.result.remoteUser = e.remoteUser;
    b.target.user = e.localUser;
    b.target.host = e.host;
    b.target.port = e.port;
    b.target.tlsMode = e.tlsMode;
    b.target.remoteUser = e.remoteUser;
    b.target.passwordStdin = true;
    b.password = e.password;
    ignoredTargetPassword = ignoredTargetPassword || e.targetPasswordIgnored;
    boxes.push_back(std::move(b));
  }
  batch::wipePasswords(parsed.entries);
  (void)ignoredTargetPassword;  // the parser already reported it as a warning

  if (opts.reportDir.empty()) {
    // A new directory per run (two runs within one second get -2, -3, ...).
    const std::string base = opts.file + ".report-" + nowStamp();
    opts.reportDir = base;
    struct stat dirSt {};
    for (int n = 2; stat(opts.reportDir.c_str(), &dirSt) == 0 && n < 1000; ++n) {
      opts.reportDir = base + "-" + std::to_string(n);
    }
  }
  const int code = run(opts, boxes);
  for (Mailbox& b : boxes) {
    wipeSecret(b.password);
  }
  return code;
}

void cmdBatch(doveadm_cmd_context* cctx) noexcept {
  try {
    setExit(batchCommand(cctx));
  } catch (const std::exception& e) {
    i_error("migrate batch: internal error: %s", e.what());
    setExit(EX_SOFTWARE);
  } catch (...) {
    i_error("migrate batch: internal error");
    setExit(EX_SOFTWARE);
  }
}

const doveadm_cmd_param* batchParams() noexcept {
  static const doveadm_cmd_param* table = buildParams(
      {
          dovecot::makeParam('\0', "check", CMD_PARAM_BOOL),
          dovecot::makeParam('\0', "format", CMD_PARAM_STR),
          dovecot::makeParam('j', "jobs", CMD_PARAM_STR),
          dovecot::makeParam('r', "report-dir", CMD_PARAM_STR),
          dovecot::makeParam('\0', "notify", CMD_PARAM_STR),
          dovecot::makeParam('\0', "repeat-until-idle", CMD_PARAM_STR),
          dovecot::makeParam('\0', "batch-file", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL),
      },
      false);
  return table;
}

}  // namespace
}  // namespace migrate::cmd::bulk

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_batch_ver2 = {
    migrate::cmd::bulk::cmdBatch,
    nullptr,
    "migrate batch",
    "[--check] [--format pairs|csv|semicolon] [-j <jobs>] [-r <report dir>] [--notify <address>] "
    "[--repeat-until-idle <interval>[,<quiet>]] [-H <source host>] [-P <port>] [-T imaps|starttls|none] "
    "[migrate options] <batch file>",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::batchParams(),
};
}
