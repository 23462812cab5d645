#pragma once
// The one way this project starts a child process: the OAuth2 token command, migrate batch's
// child doveadm runs and the first-login background run differ only in the ChildSpec. Everything
// is prepared before fork(); the child calls only async-signal-safe functions: its own process
// group or session, default signal handling, its descriptors, then execve(). Every descriptor
// other than the ones given is closed in the child.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

struct ChildSpec {
  std::string executable;         // the program to run (a path: no PATH lookup)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // the whole environment, "KEY=value"
  // The child's descriptors 0, 1, 2, ...: fds[i] becomes descriptor i; -1 is /dev/null.
  std::vector<int> fds = {-1, -1, -1};
  // Its own process group (a signal to the group reaches what it starts too), or a session of
  // its own (no controlling terminal; for a detached run).
  enum class Group { Own, Session } group = Group::Own;
  // Forked twice, so that init reaps it and the caller has no child to wait for (startChild()
  // then returns 0, not a pid).
  bool detach = false;
  int niceness = 0;  // setpriority() in the child, when not 0
  // When the child cannot set up its descriptors or execve() fails: "<failureMessage>: <errno
  // text>" on its descriptor 2, then exit with failureExitCode.
  std::string failureMessage = "cannot execute the child process";
  int failureExitCode = 127;
};

// Starts the child; its pid (0 when detached). A LocalStorage error naming the failed call when
// no process could be started (fork(), or opening /dev/null).
Result<pid_t> startChild(const ChildSpec& spec);

}  // namespace migrate
