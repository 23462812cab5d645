#include "doveadm_binary.h"

#include <memory>

#include "dovecot_adapter/doveadm_binary.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/migrate_settings.h"

namespace migrate::cmd {

std::string doveadmSetting(doveadm_cmd_context* cctx, const char* key) {
  Result<std::unique_ptr<dovecot::MigrateSettings>> settings =
      dovecot::doveadmSettings(dovecot::commandSettingsEvent(cctx));
  if (!settings.isOk()) {
    return {};
  }
  const char* value = settings.value()->get(key);
  return value != nullptr ? value : "";
}

std::vector<std::string> configOverrides() {
  std::vector<std::string> overrides;
  if (array_is_created(&master_service->config_overrides)) {
    const char* const* o = nullptr;
    array_foreach(&master_service->config_overrides, o) {
      overrides.emplace_back(*o);
    }
  }
  return overrides;
}

DoveadmBinary doveadmBinary(doveadm_cmd_context* cctx) {
  DoveadmBinary b;
  if (cctx->conn_type == DOVEADM_CONNECTION_TYPE_CLI) {
    b.executable = "/proc/self/exe";
    const char* path = master_service_get_config_path(master_service);
    b.configPath = path != nullptr ? path : "";
    return b;
  }
  b.executable = doveadmSetting(cctx, "migrate_on_login_doveadm");
  if (b.executable.empty()) {
    b.executable = dovecot::kDefaultDoveadm;
  }
  b.configPath = dovecot::runningConfigFile();
  return b;
}

}  // namespace migrate::cmd
