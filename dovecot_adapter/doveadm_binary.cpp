#include "dovecot_adapter/doveadm_binary.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/storage_compat.h"

namespace migrate::dovecot {

std::string runningConfigFile() {
  const char* path = master_service_get_config_path(master_service);
  struct stat st {};
  if (path != nullptr && *path != '\0' && ::stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
    return path;
  }
  const std::string baseDir = serviceBaseDir();
  if (baseDir.empty()) {
    return {};
  }
  const std::string link = baseDir + "/dovecot.conf";
  char real[PATH_MAX];
  if (::realpath(link.c_str(), real) == nullptr) {
    return {};
  }
  return real;
}

}  // namespace migrate::dovecot
