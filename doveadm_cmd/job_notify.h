#pragma once
// The result mail of a background job (`migrate start --notify ADDRESS`, engine/run_job.h): sent
// by the run itself when it ends ok, partial or failed (not when it was paused or stopped: the
// job goes on). A mail that cannot be sent is a warning; it never changes the run's result.

#include <string>

#include "engine/run_status.h"

namespace migrate::cmd {

void notifyJobEnd(const std::string& stateDir, const std::string& user, const RunStatus& status);

}  // namespace migrate::cmd
