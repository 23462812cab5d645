#pragma once
// Stopping a user's running migration on this host (SIGTERM to the pid in its status, then
// waiting until it has written its final status): `migrate stop` and `migrate pause`.

#include <cstdint>
#include <optional>
#include <string>

#include "engine/run_status.h"

struct mail_user;

namespace migrate::cmd {

struct StopOutcome {
  std::string result;  // stopped | not_running | stopping | other_host | failed
  int64_t pid = 0;
  std::optional<RunStatus> status;  // the status after the stop (or as found)
  std::string message;
  int exitCode = 0;
};

// Waits up to `waitSeconds` for the run to end.
StopOutcome stopUser(struct mail_user* user, unsigned waitSeconds);

}  // namespace migrate::cmd
