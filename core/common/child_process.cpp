#include "common/child_process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace migrate {

namespace {

// What the child needs, as plain pointers into the caller's strings (built before fork()).
struct Prepared {
  const ChildSpec* spec = nullptr;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<int> fds;  // -1 replaced by the /dev/null descriptor
};

[[noreturn]] void fail(const ChildSpec& spec) {
  const char* err = std::strerror(errno);
  (void)!::write(STDERR_FILENO, spec.failureMessage.data(), spec.failureMessage.size());
  (void)!::write(STDERR_FILENO, ": ", 2);
  (void)!::write(STDERR_FILENO, err, std::strlen(err));
  (void)!::write(STDERR_FILENO, "\n", 1);
  ::_exit(spec.failureExitCode);
}

// Descriptor i of the child becomes fds[i]: first every source is moved above the targets (so
// that no dup2() overwrites a source still needed), then each is put in place.
bool placeDescriptors(std::vector<int>& fds) {
  const int count = static_cast<int>(fds.size());
  for (int& fd : fds) {
    if (fd < count) {
      fd = ::fcntl(fd, F_DUPFD_CLOEXEC, count);
      if (fd < 0) {
        return false;
      }
    }
  }
  for (int i = 0; i < count; i++) {
    if (::dup2(fds[i], i) != i) {  // dup2() clears close-on-exec on the new descriptor
      return false;
    }
  }
  if (::syscall(SYS_close_range, static_cast<unsigned>(count), ~0U, 0U) != 0) {
    const long max = ::sysconf(_SC_OPEN_MAX);
    for (int fd = count; fd < (max > 0 ? max : 65536); ++fd) {
      (void)::close(fd);
    }
  }
  return true;
}

[[noreturn]] void runChild(Prepared& p) {
  const ChildSpec& spec = *p.spec;
  if (spec.group == ChildSpec::Group::Session) {
    (void)::setsid();
  } else {
    (void)::setpgid(0, 0);
  }
  if (spec.niceness != 0) {
    (void)::setpriority(PRIO_PROCESS, 0, spec.niceness);
  }
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across execve(): give the program the defaults.
  for (int sig : {SIGPIPE, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGALRM, SIGCHLD, SIGUSR1, SIGUSR2}) {
    (void)::signal(sig, SIG_DFL);
  }
  if (!placeDescriptors(p.fds)) {
    fail(spec);
  }
  ::execve(spec.executable.c_str(), p.argv.data(), p.envp.data());
  fail(spec);
}

Status forkFailed(int err) {
  return Status(ErrorKind::LocalStorage, std::string("cannot start a process: fork: ") + std::strerror(err),
                "the system is out of processes or memory");
}

}  // namespace

Result<pid_t> startChild(const ChildSpec& spec) {
  Prepared p;
  p.spec = &spec;
  for (const std::string& a : spec.argv) {
    p.argv.push_back(const_cast<char*>(a.c_str()));
  }
  p.argv.push_back(nullptr);
  for (const std::string& e : spec.env) {
    p.envp.push_back(const_cast<char*>(e.c_str()));
  }
  p.envp.push_back(nullptr);
  p.fds = spec.fds;
  int devNull = -1;
  for (int& fd : p.fds) {
    if (fd < 0) {
      if (devNull < 0) {
        devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devNull < 0) {
          return Status(ErrorKind::LocalStorage,
                        std::string("cannot open /dev/null: ") + std::strerror(errno));
        }
      }
      fd = devNull;
    }
  }

  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!spec.detach) {
      runChild(p);
    }
    // The intermediate child: start the real one and exit, so that init adopts it.
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      runChild(p);
    }
    ::_exit(grandchild < 0 ? 1 : 0);
  }
  const int forkErrno = errno;
  if (devNull >= 0) {
    ::close(devNull);
  }
  if (pid < 0) {
    return forkFailed(forkErrno);
  }
  if (!spec.detach) {
    if (spec.group == ChildSpec::Group::Own) {
      // Also here, so that the group exists when we return (a kill(-pid) right away reaches it),
      // whichever of the two runs first.
      (void)::setpgid(pid, pid);
    }
    return pid;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
    return Status(ErrorKind::LocalStorage, "cannot start a process: the second fork() failed",
                  "the system is out of processes or memory");
  }
  return static_cast<pid_t>(0);
}

}  // namespace migrate
