#include "batch/batch_values.h"

#include <cctype>

namespace migrate::batch {

// --- option values --------------------------------------------------------------------------

std::optional<uint64_t> parseDuration(const std::string& text) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (n > UINT32_MAX) {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0 || n == 0) {
    return std::nullopt;
  }
  const std::string unit = text.substr(i);
  uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  return n * scale;
}

Result<RepeatUntilIdle> parseRepeatUntilIdle(const std::string& text) {
  const size_t comma = text.find(',');
  const std::string first = text.substr(0, comma);
  const std::optional<uint64_t> interval = parseDuration(first);
  const char* hint = "write INTERVAL,QUIET as durations, e.g. 15m,60m (units s, m, h, d)";
  if (!interval) {
    return Status(ErrorKind::Config, "--repeat-until-idle: \"" + first + "\" is not a duration", hint);
  }
  RepeatUntilIdle r;
  r.interval = *interval;
  r.quiet = 4 * *interval;
  if (comma != std::string::npos) {
    const std::string second = text.substr(comma + 1);
    const std::optional<uint64_t> quiet = parseDuration(second);
    if (!quiet) {
      return Status(ErrorKind::Config, "--repeat-until-idle: \"" + second + "\" is not a duration", hint);
    }
    if (*quiet < *interval) {
      return Status(
          ErrorKind::Config,
          "--repeat-until-idle: the quiet time " + second + " is shorter than the interval " + first,
          "a pass runs only every INTERVAL, so QUIET must be at least INTERVAL");
    }
    r.quiet = *quiet;
  }
  return r;
}

Result<unsigned> parseJobs(const std::string& text) {
  unsigned n = 0;
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      ok = false;
      break;
    }
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (!ok || n == 0 || n > kMaxJobs) {
    return Status(ErrorKind::Config,
                  "--jobs \"" + text + "\" is not a number from 1 to " + std::to_string(kMaxJobs),
                  "give how many mailboxes migrate at once, e.g. --jobs 4");
  }
  return n;
}

}  // namespace migrate::batch
