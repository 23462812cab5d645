#include "engine/report.h"

#include <cinttypes>
#include <cstdio>

namespace migrate {

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

const char* MigrationReport::result() const {
  if (status.isOk()) {
    return "ok";
  }
  return partial ? "partial" : "failed";
}

}  // namespace migrate
