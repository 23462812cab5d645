#include "batch_report_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <string>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "common/strings.h"
#include "common/textfile.h"

namespace migrate::cmd::bulk {
namespace {

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

// A log's first line. The command line holds no secret of ours (the password goes to stdin): an
// admin can rerun it by hand. doveadm's own -o settings are copied as given, so the value of one
// that names a password, token or secret (-o plugin/migrate_source_password=...) is hidden here.
std::string logHead(const std::vector<std::string>& argv, unsigned pass) {
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
  return head;
}

}  // namespace

std::string newReportDir(const std::string& file) {
  const std::string base = file + ".report-" + nowStamp();
  std::string dir = base;
  struct stat dirSt {};
  for (int n = 2; stat(dir.c_str(), &dirSt) == 0 && n < 1000; ++n) {
    dir = base + "-" + std::to_string(n);
  }
  return dir;
}

int prepareReportDir(const Options& opts) {
  if (opts.reportDir.empty()) {
    return 0;
  }
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
  return 0;
}

void writeReport(const Options& opts, const batch::RunInfo& info, const std::vector<Mailbox>& boxes) {
  if (opts.reportDir.empty()) {
    return;
  }
  std::vector<batch::JobResult> results;
  results.reserve(boxes.size());
  for (const Mailbox& b : boxes) {
    results.push_back(b.result);
  }
  const std::string path = opts.reportDir + "/report.json";
  Status written = textfile::writeFileAtomic(path, batch::reportJson(info, results), false, 0600);
  if (!written.isOk()) {
    i_error("migrate %s: cannot write the report: %s", opts.command.c_str(), written.describe().c_str());
  }
}

std::string MailboxLogs::pathFor(size_t id) {
  const Mailbox& box = boxes_[id];
  // Two source accounts merged into one mailbox, a user listed twice (check -F, no line
  // numbers: the position in the list), or two users whose names give the same file name
  // ("a/b", "a_b"): one log per line.
  if (names_.empty()) {
    for (const Mailbox& b : boxes_) {
      ++names_[logName(b.result.user)];
    }
  }
  std::string name = logName(box.result.user);
  if (names_[name] > 1) {
    name += ".line" + std::to_string(box.result.line != 0 ? box.result.line : id + 1);
  }
  return opts_.reportDir + "/" + name + ".log";
}

void MailboxLogs::open(size_t id, const std::vector<std::string>& argv, unsigned pass) {
  if (opts_.reportDir.empty()) {
    return;
  }
  Mailbox& box = boxes_[id];
  if (box.result.logPath.empty()) {
    box.result.logPath = pathFor(id);
  }
  // The first pass starts a fresh log; later --repeat-until-idle passes append.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (pass == 1 ? O_TRUNC : O_APPEND);
  const int fd = ::open(box.result.logPath.c_str(), flags, 0600);
  if (fd < 0) {
    i_warning("migrate %s: cannot write %s: %m", opts_.command.c_str(), box.result.logPath.c_str());
    return;
  }
  const std::string head = logHead(argv, pass);
  (void)!::write(fd, head.data(), head.size());
  fds_[id] = fd;
}

void MailboxLogs::write(size_t id, const std::string& line) {
  const auto it = fds_.find(id);
  if (it != fds_.end() && it->second >= 0) {
    const std::string text = line + "\n";
    (void)!::write(it->second, text.data(), text.size());
  }
}

void MailboxLogs::close(size_t id) {
  const auto it = fds_.find(id);
  if (it != fds_.end()) {
    ::close(it->second);
    fds_.erase(it);
  }
}

void MailboxLogs::closeAll() {
  for (const auto& [id, fd] : fds_) {
    ::close(fd);
  }
  fds_.clear();
}

}  // namespace migrate::cmd::bulk
