#include <vector>

#include <unistd.h>
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"

#include <ctime>

#include "dovecot_adapter/state_location.h"
#include "exit_codes.h"
#include "status_common.h"

namespace migrate::cmd {

Result<std::optional<RunStatus>> readUserRunStatus(struct mail_user* user) {
  MIGRATE_ASSIGN_OR_RETURN(std::string dir, dovecot::stateDirectoryPath(user));
  return dovecot::readRunStatusOrLegacy(dir, dovecot::legacyStateDirectory(user));
}

Result<std::optional<VerifyRecord>> readUserVerifyRecord(struct mail_user* user) {
  MIGRATE_ASSIGN_OR_RETURN(std::string dir, dovecot::stateDirectoryPath(user));
  return readVerifyRecord(dir);
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

void mergeCommandExitCode(doveadm_mail_cmd_context* ctx, int code) {
  ctx->exit_code = mergeExitCode(ctx->exit_code, code);
}

const doveadm_cmd_param* userSelectionParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

bool noOwnLetters(int) noexcept {
  return false;
}

}  // namespace migrate::cmd
