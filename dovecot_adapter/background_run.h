#pragma once
// A migration run started in the background: by the first-login hook (plugin/mail_plugin) and by
// `doveadm migrate start|resume` (doveadm_cmd/job_start.*). The run is the `doveadm` binary (never
// /proc/self/exe: inside the doveadm server that is doveadm-server), detached into a session of
// its own, stdin a pipe holding exactly the password, stdout/stderr the user's background log,
// descriptor 3 the run lock, which it holds until it exits.

#include <string>
#include <vector>

#include "common/status.h"

struct mail_user;

namespace migrate::dovecot {

// In the user's state directory: the lock a background run holds while it starts and runs (one
// per user at a time), and its log (rotated at 1 MiB, one old copy "<log>.1").
inline constexpr const char* kBackgroundLockFile = "dovecot-migrate.login.lock";
inline constexpr const char* kBackgroundLogFile = "dovecot-migrate.login.log";

// `<doveadm> [-c <dovecot.conf>] -o stats_writer_socket_path=`: the doveadm binary of the
// setting migrate_on_login_doveadm (default /usr/bin/doveadm), the config file this server runs
// with. The command words follow.
std::vector<std::string> doveadmCommandPrefix(struct mail_user* user);

// Opens <dir>/<kBackgroundLogFile> for appending (0600), rotating it first when it is too large.
// -1 with errno on failure.
int openBackgroundLog(const std::string& dir);

// Opens and locks <dir>/<kBackgroundLockFile> without waiting: the descriptor, or -1 when another
// start holds it (errno EWOULDBLOCK) or it cannot be opened (errno says why).
int lockBackgroundRun(const std::string& dir);

struct BackgroundRun {
  std::vector<std::string> args;  // doveadmCommandPrefix() + the command ("migrate", "-u", ...)
  std::vector<std::string> env;   // besides PATH; DOVECOT_PRESERVE_ENVS is built from the names
  int logFd = -1;
  int lockFd = -1;
  int niceness = 10;
};

// Starts it detached. `password` (may be empty: then the caller gives no -W) is written to the
// pipe and wiped, whatever happens. The error names the failed step.
Status startBackgroundRun(const BackgroundRun& run, std::string& password);

// Closes a descriptor at the end of the scope.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard();
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace migrate::dovecot
