// A migration run started in the background (see background_run.h).

#include "background_run.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/child_process.h"
#include "common/strings.h"
#include "doveadm_binary.h"
#include "dovecot_api.h"
#include "migrate_settings.h"

namespace migrate::dovecot {
namespace {

constexpr off_t kLogMaxBytes = off_t{1024} * 1024;
constexpr const char* kChildPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string doveadmBinary(mail_user* user) {
  Result<std::unique_ptr<MigrateSettings>> settings = MigrateSettings::forUser(user);
  if (settings.isOk()) {
    const char* v = settings.value()->get("migrate_on_login_doveadm");
    if (v != nullptr && *v != '\0') {
      return v;
    }
  }
  return kDefaultDoveadm;
}

// A pipe holding exactly the password (and a newline) and EOF; its read end, or an error text.
int passwordPipe(std::string& password, std::string& error) {
  int fds[2];
  // Non-blocking: a password larger than the pipe buffer (64 KiB, or 4 KiB for a uid over its
  // pipe-page limit) must fail the hand-over, never hang the caller.
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
    error = std::string("pipe() failed: ") + std::strerror(errno);
    return -1;
  }
  // The child reads its stdin blocking.
  (void)::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
  if (!password.empty()) {
    // Two pieces rather than `password += '\n'`, which could reallocate and leave an unwiped copy.
    char newline = '\n';
    struct iovec iov[2] = {{password.data(), password.size()}, {&newline, 1}};
    ssize_t n = ::writev(fds[1], iov, 2);
    if (n != static_cast<ssize_t>(password.size() + 1)) {
      ::close(fds[0]);
      ::close(fds[1]);
      error = "cannot hand the password to the background run (pipe write failed)";
      return -1;
    }
  }
  ::close(fds[1]);  // the child must see EOF after the password
  return fds[0];
}

}  // namespace

FdGuard::~FdGuard() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::vector<std::string> doveadmCommandPrefix(mail_user* user) {
  std::vector<std::string> args{doveadmBinary(user)};
  const std::string config = runningConfigFile();
  if (!config.empty()) {
    args.emplace_back("-c");
    args.emplace_back(config);
  }
  // The mail uid usually may not write to stats-writer (0600 dovecot); doveadm would log a
  // warning for every run. The run's numbers are in its status file instead.
  args.emplace_back("-o");
  args.emplace_back("stats_writer_socket_path=");
  return args;
}

int openBackgroundLog(const std::string& dir) {
  const std::string path = dir + "/" + kBackgroundLogFile;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kLogMaxBytes) {
    (void)::rename(path.c_str(), (path + ".1").c_str());
  }
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
}

int lockBackgroundRun(const std::string& dir) {
  const std::string path = dir + "/" + kBackgroundLockFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

Status startBackgroundRun(const BackgroundRun& run, std::string& password) {
  std::string error;
  const int stdinFd = passwordPipe(password, error);
  wipeSecret(password);
  if (stdinFd < 0) {
    return Status(ErrorKind::LocalStorage, error);
  }
  ChildSpec child;
  child.executable = run.args.front();
  child.argv = run.args;
  child.env = run.env;
  child.env.emplace_back(std::string("PATH=") + kChildPath);
  // doveadm re-executes itself through doveconf, which keeps only the environment variables
  // named here (checked with strace on 2.3.19: MIGRATE_TRIGGER is dropped without it).
  std::string preserve;
  for (const std::string& e : run.env) {
    if (e.rfind("MIGRATE_", 0) == 0) {
      preserve += (preserve.empty() ? "" : " ") + e.substr(0, e.find('='));
    }
  }
  if (!preserve.empty()) {
    child.env.emplace_back("DOVECOT_PRESERVE_ENVS=" + preserve);
  }
  child.fds = {stdinFd, run.logFd, run.logFd, run.lockFd};
  child.group = ChildSpec::Group::Session;
  child.detach = true;  // reparented to init: the caller has no child to reap later
  child.niceness = run.niceness;
  child.failureMessage = "migrate: background run: cannot execute " + child.executable;
  Result<pid_t> started = startChild(child);
  ::close(stdinFd);
  return started.isOk() ? Status::ok() : started.status();
}

}  // namespace migrate::dovecot
