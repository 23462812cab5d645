#include "engine/run_schedule.h"

#include <sys/stat.h>

namespace migrate {

bool schedulePending(const std::string& dir) {
  struct stat st {};
  return ::stat((dir + "/" + kRunScheduleFile).c_str(), &st) == 0;
}

}  // namespace migrate
