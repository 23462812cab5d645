// startChild(): the one way the project starts a child process (common/child_process.h).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/child_process.h"

namespace migrate {
namespace {

// Reads `fd` to EOF.
std::string readAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

struct Pipe {
  int r = -1;
  int w = -1;
  explicit Pipe(int flags = O_CLOEXEC) {
    int p[2];
    EXPECT_EQ(::pipe2(p, flags), 0);
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    closeWrite();
    if (r >= 0) {
      ::close(r);
    }
  }
  void closeWrite() {
    if (w >= 0) {
      ::close(w);
      w = -1;
    }
  }
};

int waitExit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ChildSpec shell(const std::string& script) {
  ChildSpec spec;
  spec.executable = "/bin/sh";
  spec.argv = {"sh", "-c", script};
  return spec;
}

TEST(ChildProcess, GetsItsEnvironmentDescriptorsAndNothingElse) {
  Pipe out;
  Pipe unrelated(0);  // open in the parent, inheritable: must still not reach the child
  // `[ -e /proc/$$/fd/N ]` is a shell builtin: it opens nothing itself.
  std::string script = "echo \"$GREETING\"; for n in 0 1 2";
  for (int fd : {out.r, out.w, unrelated.r, unrelated.w}) {
    script += " " + std::to_string(fd);
  }
  script += "; do [ -e /proc/$$/fd/$n ] && echo \"open $n\"; done; true";
  ChildSpec spec = shell(script);
  spec.env = {"GREETING=hello", "PATH=/usr/bin:/bin"};
  spec.fds = {-1, out.w, out.w};
  Result<pid_t> pid = startChild(spec);
  ASSERT_TRUE(pid.isOk()) << pid.status().describe();
  out.closeWrite();
  const std::string text = readAll(out.r);
  EXPECT_EQ(waitExit(pid.value()), 0);
  EXPECT_EQ(text, "hello\nopen 0\nopen 1\nopen 2\n") << text;
}

TEST(ChildProcess, MovesDescriptorsIntoPlaceEvenWhenTheyOverlap) {
  Pipe a;
  Pipe b;
  // Descriptor 3 of the child is the write end of `b`, 1 and 2 that of `a`.
  ChildSpec spec = shell("echo to-a; echo to-b >&3");
  spec.fds = {-1, a.w, a.w, b.w};
  Result<pid_t> pid = startChild(spec);
  ASSERT_TRUE(pid.isOk());
  a.closeWrite();
  b.closeWrite();
  EXPECT_EQ(readAll(a.r), "to-a\n");
  EXPECT_EQ(readAll(b.r), "to-b\n");
  EXPECT_EQ(waitExit(pid.value()), 0);
}

TEST(ChildProcess, RunsInItsOwnProcessGroup) {
  Pipe in;
  ChildSpec spec = shell("read line");  // waits until the pipe closes
  spec.fds = {in.r, -1, -1};
  Result<pid_t> pid = startChild(spec);
  ASSERT_TRUE(pid.isOk());
  EXPECT_EQ(::getpgid(pid.value()), pid.value());
  in.closeWrite();
  EXPECT_EQ(waitExit(pid.value()), 1);  // `read` at EOF
}

TEST(ChildProcess, ADetachedChildHasItsOwnSessionAndIsNotOurs) {
  Pipe out;
  // The session id is field 6 of /proc/PID/stat; a session leader's equals its pid.
  ChildSpec spec = shell("set -- $(cat /proc/$$/stat); echo \"$$ $6\"");
  spec.fds = {-1, out.w, out.w};
  spec.group = ChildSpec::Group::Session;
  spec.detach = true;
  Result<pid_t> pid = startChild(spec);
  ASSERT_TRUE(pid.isOk()) << pid.status().describe();
  EXPECT_EQ(pid.value(), 0);
  out.closeWrite();
  const std::string text = readAll(out.r);
  const size_t space = text.find(' ');
  ASSERT_NE(space, std::string::npos) << text;
  EXPECT_EQ(text.substr(0, space) + "\n", text.substr(space + 1)) << text;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // nothing of ours to reap
  EXPECT_EQ(errno, ECHILD);
}

TEST(ChildProcess, AFailedExecSaysWhyOnDescriptorTwoAndExitsWithTheGivenCode) {
  Pipe err;
  ChildSpec spec;
  spec.executable = "/nonexistent/program";
  spec.argv = {"program"};
  spec.fds = {-1, -1, err.w};
  spec.failureMessage = "test: cannot execute /nonexistent/program";
  spec.failureExitCode = 71;
  Result<pid_t> pid = startChild(spec);
  ASSERT_TRUE(pid.isOk());
  err.closeWrite();
  EXPECT_EQ(readAll(err.r), "test: cannot execute /nonexistent/program: No such file or directory\n");
  EXPECT_EQ(waitExit(pid.value()), 71);
}

}  // namespace
}  // namespace migrate
