// The blank lines keep clang-format from sorting: lib.h must come first, and doveadm-mail.h
// before the other doveadm headers.
extern "C" {
#include "lib.h"

#include "doveadm-mail.h"
#include "mail-user.h"
}
#include <unistd.h>

#include <ctime>

#include "adapter/state_location.h"
#include "exit_codes.h"
#include "status_common.h"

namespace migrate::cmd {

Result<std::optional<RunStatus>> readUserRunStatus(struct mail_user* user) {
  Result<std::string> dir = dovecot::stateDirectoryPath(user);
  if (!dir.isOk()) {
    return dir.status();
  }
  return dovecot::readRunStatusOrLegacy(dir.value(), dovecot::legacyStateDirectory(user));
}

std::string displayState(const std::optional<RunStatus>& status) {
  if (!status) {
    return "never";
  }
  if (status->state == "running" && !runStatusAlive(*status)) {
    return "interrupted";
  }
  return status->state;
}

std::string localHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) < 0) {
    return {};
  }
  return name;
}

std::string isoTime(int64_t unixTime) {
  if (unixTime <= 0) {
    return {};
  }
  const auto t = static_cast<std::time_t>(unixTime);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) {
    return {};
  }
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void mergeCommandExitCode(doveadm_mail_cmd_context* ctx, int code) {
  ctx->exit_code = mergeExitCode(ctx->exit_code, code);
}

// DOVEADM_CMD_MAIL_COMMON spelled out: its literal 0 flags do not convert to the enum in C++.
#define MIGRATE_USER_PARAM(opt, name, type) \
  { opt, name, type, false, {}, CMD_PARAM_FLAG_NONE }

const doveadm_cmd_param kUserSelectionParams[] = {
    MIGRATE_USER_PARAM('A', "all-users", CMD_PARAM_BOOL),
    MIGRATE_USER_PARAM('S', "socket-path", CMD_PARAM_STR),
    MIGRATE_USER_PARAM('u', "user", CMD_PARAM_STR),
    MIGRATE_USER_PARAM('\0', "trans-flags", CMD_PARAM_INT64),
    MIGRATE_USER_PARAM('F', "user-file", CMD_PARAM_ISTREAM),
    MIGRATE_USER_PARAM('\0', nullptr, CMD_PARAM_BOOL),
};

}  // namespace migrate::cmd
