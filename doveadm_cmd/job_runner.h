#pragma once
// Child processes of `doveadm migrate batch/check`: starts each mailbox's `doveadm migrate` with
// its password on stdin, collects its stdout (the JSON row), hands its stderr over line by line,
// and reaps it. Plain POSIX (fork/exec/poll), no Dovecot calls: the caller's loop polls wait().
//
// Secrets: the password is written into the child's stdin pipe and never appears in argv or the
// environment. The child gets a minimal environment (see childEnvironment()): doveadm's own
// environment carries its settings (DOVECONF_ENV ...), which a child doveadm must not inherit.
// Threads: one thread (the doveadm main thread).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::cmd {

class JobRunner {
 public:
  struct Spec {
    std::string executable;         // e.g. "/proc/self/exe"
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // "NAME=value"
    std::string stdinData;          // written to the child's stdin, then closed (wiped after)
  };
  struct Finished {
    size_t id = 0;
    int exitCode = 0;       // 128+N when killed by signal N
    std::string out;        // everything the child wrote to stdout
    std::string lastError;  // the last stderr line the line callback marked as an error
    double seconds = 0;
  };
  // Called for every complete stderr line of a child (without the newline). Returns true when the
  // line is an error line worth keeping as Finished::lastError.
  using LineFn = std::function<bool(size_t id, const std::string& line)>;

  explicit JobRunner(LineFn onStderrLine) : onLine_(std::move(onStderrLine)) {}
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Starts job `id`. An error (fork/pipe failure) is LocalStorage/Internal; nothing runs then.
  Status start(size_t id, Spec spec);
  // Waits up to `timeout` for output or exits; returns the jobs that ended (both pipes closed and
  // reaped). Returns early (possibly empty) when a signal interrupts the wait.
  std::vector<Finished> wait(std::chrono::milliseconds timeout);
  // Sends `sig` to every running child.
  void signalAll(int sig);
  size_t running() const { return children_.size(); }

 private:
  struct Child {
    size_t id = 0;
    pid_t pid = -1;
    int outFd = -1, errFd = -1;
    std::string out, errPartial, lastError;
    std::chrono::steady_clock::time_point started;
    bool exited = false;
    int exitCode = 0;
  };
  void readFrom(Child& c, int& fd, bool isErr);
  void line(Child& c, const std::string& text);

  LineFn onLine_;
  std::vector<Child> children_;
};

// The environment of a child doveadm: PATH, TZ and the locale variables of ours, plus `extra`
// ("MIGRATE_TRIGGER=batch").
std::vector<std::string> childEnvironment(const std::vector<std::string>& extra);

}  // namespace migrate::cmd
