#include "engine/oauth2_token.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/child_process.h"
#include "common/strings.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace migrate {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxMessageChars = 200;

Status configError(std::string message, std::string hint = {}) {
  return Status(ErrorKind::Config, std::move(message), std::move(hint));
}

// Trims the whitespace around the token; refuses what cannot be a single bearer token. The
// content is never quoted: a command printing JSON may print a refresh token or a client secret.
Result<std::string> checkToken(std::string raw, const std::string& what, const std::string& hint) {
  const char* const ws = " \t\r\n\v\f";
  size_t b = raw.find_first_not_of(ws);
  if (b == std::string::npos) {
    wipeSecret(raw);
    return configError(what + " gave no access token", hint);
  }
  size_t e = raw.find_last_not_of(ws);
  std::string token = raw.substr(b, e - b + 1);
  wipeSecret(raw);
  for (char c : token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
      wipeSecret(token);
      return configError(
          what + " gave more than one access token (spaces, several lines or control characters)", hint);
    }
  }
  return token;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

// The inherited environment with `extra` ("NAME=value") replacing entries of the same name.
std::vector<std::string> childEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; e++) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const std::string& x : extra) {
      if (x.compare(0, name.size() + 1, name + "=") == 0) {
        replaced = true;
      }
    }
    if (!replaced) {
      out.push_back(std::move(entry));
    }
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

void killGroup(pid_t pid) {
  // The command runs in its own process group: this also ends what the shell started.
  if (::kill(-pid, SIGKILL) < 0) {
    (void)::kill(pid, SIGKILL);
  }
}

}  // namespace

OAuth2Token::OAuth2Token(std::string file, std::string command, std::vector<std::string> env, int timeoutMs)
    : file_(std::move(file)), command_(std::move(command)), env_(std::move(env)), timeoutMs_(timeoutMs) {}

OAuth2Token::~OAuth2Token() {
  wipeSecret(cached_);
}

std::string OAuth2Token::describe() const {
  return fromCommand() ? "the OAuth2 token command '" + printableText(command_, kMaxMessageChars) + "'"
                       : "the OAuth2 token file " + printableText(file_, kMaxMessageChars);
}

Result<std::string> OAuth2Token::token(bool refresh) {
  if (!cached_.empty() && !refresh) {
    return cached_;
  }
  MIGRATE_ASSIGN_OR_RETURN(std::string t, fromCommand() ? runCommand() : readFile());
  wipeSecret(cached_);
  cached_ = std::move(t);
  return cached_;
}

Result<std::string> OAuth2Token::readFile() {
  const std::string what = describe();
  fileReadableByOthers_ = false;
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  Fd fd(::open(file_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT) {
      return configError(what + " does not exist",
                         "write the access token into it (chmod 600, owned by the mail user), or use "
                         "--source-oauth2-token-command");
    }
    return configError("cannot open " + what + ": " + std::strerror(err),
                       "the migration runs as the mail user, who must be able to read the file");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) {
    int err = errno;
    return configError("cannot read " + what + ": fstat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    return configError(what + " is not a regular file", "give a file that holds the access token");
  }
  fileReadableByOthers_ = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      wipeSecret(data);
      return configError("cannot read " + what + ": " + std::strerror(err));
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxTokenBytes) {
      wipeSecret(data);
      std::memset(buf, 0, sizeof(buf));
      return configError(what + " is larger than 64 KiB", "it must hold only the access token");
    }
  }
  std::memset(buf, 0, sizeof(buf));
  return checkToken(std::move(data), what, "the file must hold only the access token");
}

namespace {

// What a token command printed, read until it closed both outputs or the deadline passed.
struct CommandOutput {
  std::string out;  // the token (and only it, if the command is right)
  std::string err;  // the start of stderr, for messages
  bool timedOut = false;
  bool tooMuch = false;  // stdout passed kMaxTokenBytes
};

int msLeft(Clock::time_point deadline) {
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
}

CommandOutput readOutput(int outFd, int errFd, Clock::time_point deadline) {
  CommandOutput o;
  bool outOpen = true;
  bool errOpen = true;
  char buf[4096];
  while ((outOpen || errOpen) && !o.tooMuch) {
    int left = msLeft(deadline);
    if (left <= 0) {
      o.timedOut = true;
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    if (outOpen) {
      fds[n++] = {outFd, POLLIN, 0};
    }
    if (errOpen) {
      fds[n++] = {errFd, POLLIN, 0};
    }
    int r = ::poll(fds, n, left);
    if (r < 0 && errno != EINTR) {
      break;  // cannot happen with valid descriptors; the exit status still decides
    }
    for (nfds_t i = 0; r > 0 && i < n; i++) {
      if (fds[i].revents == 0) {
        continue;
      }
      bool isOut = fds[i].fd == outFd;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
        continue;
      }
      if (got <= 0) {
        (isOut ? outOpen : errOpen) = false;
      } else if (isOut) {
        o.out.append(buf, static_cast<size_t>(got));
        o.tooMuch = o.out.size() > OAuth2Token::kMaxTokenBytes;
      } else if (o.err.size() < 4096) {
        o.err.append(buf, static_cast<size_t>(got));
      }
    }
  }
  std::memset(buf, 0, sizeof(buf));
  return o;
}

// Waits for the command, killing its process group at once after a timeout or too much output,
// or at the deadline (then o.timedOut). `known` false: a SIGCHLD handler of the host process
// reaped it first (then its output decides).
struct ExitStatus {
  int status = 0;
  bool known = true;
};

ExitStatus reap(pid_t pid, CommandOutput& o, Clock::time_point deadline) {
  ExitStatus e;
  const bool killed = o.timedOut || o.tooMuch;
  if (killed) {
    killGroup(pid);
  }
  while (true) {
    pid_t w = ::waitpid(pid, &e.status, killed ? 0 : WNOHANG);
    if (w == pid) {
      return e;
    }
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w < 0) {
      e.known = false;  // ECHILD
      return e;
    }
    if (msLeft(deadline) <= 0) {
      o.timedOut = true;
      killGroup(pid);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

// Starts `command` (`what` names it in messages) with its stdout and stderr on pipes, whose
// read ends go into `outRead` and `errRead`.
Result<pid_t> startCommand(const std::string& command, const std::vector<std::string>& env,
                           const std::string& what, Fd& outRead, Fd& errRead) {
  int outPipe[2];
  int errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) < 0) {
    return configError("cannot run " + what + ": pipe: " + std::strerror(errno));
  }
  outRead.reset(outPipe[0]);
  Fd outWrite(outPipe[1]);
  if (::pipe2(errPipe, O_CLOEXEC) < 0) {
    return configError("cannot run " + what + ": pipe: " + std::strerror(errno));
  }
  errRead.reset(errPipe[0]);
  Fd errWrite(errPipe[1]);
  // Its own process group, so a timeout kills what the shell started too; default signal
  // handling and no blocked signals, whatever doveadm set up for itself.
  ChildSpec child;
  child.executable = "/bin/sh";
  child.argv = {"/bin/sh", "-c", command};
  child.env = childEnvironment(env);
  child.fds = {-1, outWrite.get(), errWrite.get()};
  child.failureMessage = "cannot run " + what;
  Result<pid_t> started = startChild(child);
  if (!started.isOk()) {
    return configError("cannot run " + what + ": " + started.status().message());
  }
  return started;
}

}  // namespace

Result<std::string> OAuth2Token::runCommand() {
  const std::string what = describe();
  const std::string hint =
      "run it by hand as the mail user: it must print only the access token (e.g. `gcloud auth "
      "print-access-token`, or a JSON reply piped through `jq -r .access_token`) and exit 0";
  Fd outRead;
  Fd errRead;
  MIGRATE_ASSIGN_OR_RETURN(const pid_t pid, startCommand(command_, env_, what, outRead, errRead));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs_);
  CommandOutput o = readOutput(outRead.get(), errRead.get(), deadline);
  const ExitStatus exit = reap(pid, o, deadline);
  std::string errLine = o.err.substr(0, o.err.find('\n'));
  if (!cached_.empty()) {
    // A helper that echoes its input or cache must not leak the old token into a message.
    for (size_t p = errLine.find(cached_); p != std::string::npos; p = errLine.find(cached_)) {
      errLine.replace(p, cached_.size(), "<token>");
    }
  }
  errLine = printableText(errLine, kMaxMessageChars);
  const int status = exit.status;
  if (o.timedOut || o.tooMuch || (exit.known && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0))) {
    wipeSecret(o.out);
  }
  if (o.timedOut) {
    return Status(ErrorKind::Timeout,
                  what + " did not finish within " + std::to_string(timeoutMs_ / 1000) + " s",
                  "it must print the token and exit; " + hint);
  }
  if (o.tooMuch) {
    return configError(what + " printed more than 64 KiB", hint);
  }
  if (exit.known && WIFSIGNALED(status)) {
    return configError(what + " was killed by signal " + std::to_string(WTERMSIG(status)) +
                           (errLine.empty() ? std::string() : ": " + errLine),
                       hint);
  }
  if (exit.known && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return configError(what + " failed (exit status " + std::to_string(WEXITSTATUS(status)) +
                           "): " + (errLine.empty() ? std::string("nothing on stderr") : errLine),
                       hint);
  }
  return checkToken(std::move(o.out), what, hint);
}

}  // namespace migrate
