#include "engine/report.h"

#include <cinttypes>
#include <cstdio>
#include <utility>

namespace migrate {

std::string pop3Summary(const Pop3Report& pop3) {
  if (pop3.state != "read") {
    return pop3.state;
  }
  std::string out = "kept=" + std::to_string(pop3.kept);
  for (const auto& [name, n] :
       {std::pair{"added", static_cast<size_t>(pop3.added)}, std::pair{"unmatched", pop3.unmatched.size()},
        std::pair{"pop3_only", pop3.pop3Only.size()}, std::pair{"unusable", pop3.unusable.size()}}) {
    if (n > 0) {
      out += std::string(" ") + name + "=" + std::to_string(n);
    }
  }
  return out;
}

std::string formatBytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " bytes", bytes);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  }
  return buf;
}

std::string SieveReport::summary() const {
  if (result.empty() || result == "skipped" || result == "failed") {
    return result.empty() ? std::string() : result + ": " + reason;
  }
  std::map<std::string, uint32_t> counts;
  size_t unmapped = 0;
  for (const SieveScriptReport& s : scripts) {
    counts[s.result]++;
    unmapped += s.unmapped.size();
  }
  std::string out;
  for (const auto& [what, n] : counts) {
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  }
  if (unmapped > 0) {
    out += ", " + std::to_string(unmapped) + " folder names unmapped";
  }
  return out.empty() ? "no scripts" : out;
}

const char* MigrationReport::result() const {
  if (status.isOk()) {
    return "ok";
  }
  return partial ? "partial" : "failed";
}

}  // namespace migrate
