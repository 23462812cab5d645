#pragma once
// The values of batch's own options: --jobs and --repeat-until-idle.
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace migrate::batch {

// "90" / "90s", "15m", "2h", "1d" -> seconds; nullopt for anything else (0, no number, overflow).
std::optional<uint64_t> parseDuration(const std::string& text);

// --repeat-until-idle INTERVAL[,QUIET]: re-run the batch every INTERVAL until no pass has copied
// a message for QUIET (default 4 x INTERVAL; at least INTERVAL). Config error naming the option.
struct RepeatUntilIdle {
  uint64_t interval = 0;  // seconds
  uint64_t quiet = 0;     // seconds
};
Result<RepeatUntilIdle> parseRepeatUntilIdle(const std::string& text);

// --jobs: 1..kMaxJobs. Config error naming the option.
inline constexpr unsigned kDefaultJobs = 4;
inline constexpr unsigned kMaxJobs = 256;
Result<unsigned> parseJobs(const std::string& text);

}  // namespace migrate::batch
