#include "job_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#include <algorithm>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cli_options.h"
#include "common/child_process.h"
#include "exit_codes.h"

extern char** environ;

namespace migrate::cmd {
namespace {

void closeFd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return exitCodeFor(ErrorKind::Internal);
}

}  // namespace

std::vector<std::string> childEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string var = *e;
    const std::string name = var.substr(0, var.find('='));
    if (name == "PATH" || name == "TZ" || name == "LANG" || name.rfind("LC_", 0) == 0) {
      env.push_back(var);
    }
  }
  if (std::none_of(env.begin(), env.end(), [](const std::string& v) { return v.rfind("PATH=", 0) == 0; })) {
    env.emplace_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

JobRunner::~JobRunner() {
  // Normally empty: the caller waits for every child. On an early exit, do not leave zombies.
  for (Child& c : children_) {
    closeFd(c.outFd);
    closeFd(c.errFd);
    if (!c.exited) {
      kill(c.pid, SIGTERM);
      waitpid(c.pid, nullptr, 0);
    }
  }
}

Status JobRunner::start(size_t id, Spec spec) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    const int e = errno;
    for (int* p : {in, out, err}) {
      closeFd(p[0]);
      closeFd(p[1]);
    }
    wipeSecret(spec.stdinData);
    return Status(ErrorKind::LocalStorage, std::string("cannot create a pipe: ") + std::strerror(e),
                  "too many open files? lower --jobs or raise the limit (ulimit -n)");
  }
  // stdin/stdout/stderr on the pipes; its own process group, so that a Ctrl-C in the terminal
  // reaches only the batch, which forwards SIGTERM to every child once and starts no new one.
  ChildSpec child;
  child.executable = spec.executable;
  child.argv = std::move(spec.argv);
  child.env = std::move(spec.env);
  child.fds = {in[0], out[1], err[1]};
  child.failureMessage = "doveadm: Error: migrate batch: cannot execute doveadm (" + spec.executable + ")";
  child.failureExitCode = EX_OSERR;
  Result<pid_t> started = startChild(child);
  if (!started.isOk()) {
    for (int* p : {in, out, err}) {
      closeFd(p[0]);
      closeFd(p[1]);
    }
    wipeSecret(spec.stdinData);
    return Status(started.status().kind(), "cannot start a child doveadm: " + started.status().message(),
                  "the system is out of processes or memory; lower --jobs");
  }
  const pid_t pid = started.value();
  closeFd(in[0]);
  closeFd(out[1]);
  closeFd(err[1]);
  // The password is small (at most a few KiB, far below the pipe buffer): write it at once and
  // close, so the child reads it to EOF.
  const char* p = spec.stdinData.data();
  size_t left = spec.stdinData.size();
  while (left > 0) {
    const ssize_t n = write(in[1], p, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // the child died early; its exit code and stderr tell why
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  closeFd(in[1]);
  wipeSecret(spec.stdinData);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);

  Child c;
  c.id = id;
  c.pid = pid;
  c.outFd = out[0];
  c.errFd = err[0];
  c.started = std::chrono::steady_clock::now();
  children_.push_back(std::move(c));
  return Status::ok();
}

void JobRunner::line(Child& c, const std::string& text) {
  if (onLine_ && onLine_(c.id, text)) {
    c.lastError = text;
  }
}

void JobRunner::readFrom(Child& c, int& fd, bool isErr) {
  char buf[16384];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    if (n <= 0) {
      if (isErr && !c.errPartial.empty()) {
        line(c, c.errPartial);
        c.errPartial.clear();
      }
      closeFd(fd);
      return;
    }
    if (!isErr) {
      // A row is small; a runaway child must not eat the batch's memory.
      if (c.out.size() < (16u << 20)) {
        c.out.append(buf, static_cast<size_t>(n));
      }
      continue;
    }
    c.errPartial.append(buf, static_cast<size_t>(n));
    size_t nl = 0;
    while ((nl = c.errPartial.find('\n')) != std::string::npos) {
      line(c, c.errPartial.substr(0, nl));
      c.errPartial.erase(0, nl + 1);
    }
    if (c.errPartial.size() > 65536) {
      line(c, c.errPartial);
      c.errPartial.clear();
    }
  }
}

std::vector<JobRunner::Finished> JobRunner::wait(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  std::vector<std::pair<size_t, bool>> owner;  // (child index, is stderr)
  for (size_t i = 0; i < children_.size(); ++i) {
    if (children_[i].outFd >= 0) {
      fds.push_back({children_[i].outFd, POLLIN, 0});
      owner.emplace_back(i, false);
    }
    if (children_[i].errFd >= 0) {
      fds.push_back({children_[i].errFd, POLLIN, 0});
      owner.emplace_back(i, true);
    }
  }
  // A child with both pipes closed only needs reaping: poll briefly.
  const int ms = fds.size() < children_.size() * 2 ? 20 : static_cast<int>(timeout.count());
  if (!fds.empty()) {
    const int n = poll(fds.data(), fds.size(), ms);
    if (n > 0) {
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents != 0) {
          Child& c = children_[owner[k].first];
          readFrom(c, owner[k].second ? c.errFd : c.outFd, owner[k].second);
        }
      }
    }
  } else if (!children_.empty()) {
    usleep(static_cast<useconds_t>(ms) * 1000);
  }

  std::vector<Finished> done;
  for (size_t i = 0; i < children_.size();) {
    Child& c = children_[i];
    if (!c.exited) {
      int status = 0;
      const pid_t r = waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid) {
        c.exited = true;
        c.exitCode = exitCodeOf(status);
      } else if (r < 0 && errno == ECHILD) {
        c.exited = true;  // reaped elsewhere: the exit code is lost
        c.exitCode = exitCodeFor(ErrorKind::Internal);
      }
    }
    // Keep reading until EOF: a grandchild may hold the pipes, but doveadm's own output is
    // complete when it exits, so an exited child's pipes are drained once more and then closed.
    if (c.exited && (c.outFd >= 0 || c.errFd >= 0)) {
      if (c.outFd >= 0) {
        readFrom(c, c.outFd, false);
      }
      if (c.errFd >= 0) {
        readFrom(c, c.errFd, true);
      }
      if (!c.errPartial.empty()) {
        line(c, c.errPartial);
        c.errPartial.clear();
      }
      closeFd(c.outFd);
      closeFd(c.errFd);
    }
    if (c.exited && c.outFd < 0 && c.errFd < 0) {
      Finished f;
      f.id = c.id;
      f.exitCode = c.exitCode;
      f.out = std::move(c.out);
      f.lastError = std::move(c.lastError);
      f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count();
      done.push_back(std::move(f));
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
  return done;
}

void JobRunner::signalAll(int sig) {
  for (const Child& c : children_) {
    if (!c.exited) {
      kill(c.pid, sig);
    }
  }
}

}  // namespace migrate::cmd
