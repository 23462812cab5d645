#include "dovecot_adapter/migrate_settings.h"
#include "dovecot_adapter/dovecot_api.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string>

#include "dovecot_adapter/settings_common.h"
#include "options/filter_values.h"
#include "options/option_values.h"
#include "options/service_choice.h"

namespace migrate::dovecot {

namespace {

#if !DOVECOT_PREREQ(2, 4, 0)
// 2.3: plugin settings, %-expanded for the user.
class UserPluginSettings final : public MigrateSettings {
 public:
  explicit UserPluginSettings(struct mail_user* user) : user_(user) {}
  const char* get(const char* key) const override {
    const char* v = mail_user_plugin_getenv(user_, key);
    return v != nullptr && *v != '\0' ? v : nullptr;
  }
  // migrate_preset_<name>_<key> = value, from dovecot.conf and userdb fields alike (both are
  // plugin_envs: key, value, key, value ...). <name> has no '_' (see parseFilterArgs()).
  Status adminPresets(PresetDefinitions& out) const override {
    if (user_->set == nullptr || !array_is_created(&user_->set->plugin_envs)) {
      return Status::ok();
    }
    unsigned int count = 0;
    const char* const* envs = array_get(&user_->set->plugin_envs, &count);
    for (unsigned int i = 0; i + 1 < count; i += 2) {
      MIGRATE_RETURN_IF_ERROR(addPresetSetting(envs[i], get(envs[i]), out));
    }
    return Status::ok();
  }

 private:
  struct mail_user* user_;
};
#endif

}  // namespace

#if !DOVECOT_PREREQ(2, 4, 0)
Result<std::unique_ptr<MigrateSettings>> MigrateSettings::forUser(struct mail_user* user) {
  return std::unique_ptr<MigrateSettings>(std::make_unique<UserPluginSettings>(user));
}
#else
Result<std::unique_ptr<MigrateSettings>> MigrateSettings::forUser(struct mail_user* user) {
  return settingsForEvent(user->event);
}
#endif

namespace {

Status badValue(const char* name, const std::string& value, const std::string& expected) {
  return Status(ErrorKind::Config, std::string("invalid ") + name + " '" + value + "'",
                "use " + expected + " in " + name + " (dovecot.conf) or the userdb field");
}

Status sourceFrom(const MigrateSettings& set, SourceOptions& source) {
  if (const char* v = set.get("migrate_source_host")) {
    source.host = v;
  }
  if (const char* v = set.get("migrate_source_port")) {
    const std::optional<uint16_t> port = options::parsePort(v);
    if (!port) {
      return badValue("migrate_source_port", v, "a port number from 1 to 65535");
    }
    source.port = *port;
  }
  if (const char* v = set.get("migrate_source_tls")) {
    Result<TlsMode> mode = parseTlsMode(v);
    if (!mode.isOk()) {
      return badValue("migrate_source_tls", v, "imaps, starttls or none");
    }
    source.tlsMode = mode.value();
    source.tlsModeSet = true;
  }
  if (const char* v = set.get("migrate_source_user")) {
    source.user = v;
  }
  if (const char* v = set.get("migrate_source_password")) {
    source.password = v;
  }
  if (const char* v = set.get("migrate_source_master_user")) {
    source.masterUser = v;
  }
  if (const char* v = set.get("migrate_source_oauth2_token_file")) {
    source.oauth2TokenFile = v;
  }
  if (const char* v = set.get("migrate_source_oauth2_token_command")) {
    source.oauth2TokenCommand = v;
  }
  if (const char* v = set.get("migrate_ca_file")) {
    source.tls.caFile = v;
  }
  if (const char* v = set.get("migrate_ca_dir")) {
    source.tls.caDir = v;
  }
  if (const char* v = set.get("migrate_insecure")) {
    const std::optional<bool> insecure = options::parseYesNo(v);
    if (!insecure) {
      return badValue("migrate_insecure", v, "yes or no");
    }
    source.tls.verify = !*insecure;
  }
  if (const char* v = set.get("migrate_rawlog_dir")) {
    source.rawlogDir = v;
  }
  if (const char* v = set.get("migrate_compress")) {
    const std::optional<bool> compress = options::parseYesNo(v);
    if (!compress) {
      return badValue("migrate_compress", v, "yes or no");
    }
    source.compress = *compress;
  }
  for (const auto& [name, field] :
       {std::pair{"migrate_source_pop3", &source.pop3}, std::pair{"migrate_source_sieve", &source.sieve}}) {
    if (const char* v = set.get(name)) {
      MIGRATE_ASSIGN_OR_RETURN(ServiceChoice choice, parseServiceChoice(v, name));
      *field = choice;
    }
  }
  if (const char* v = set.get("migrate_sync_deletions")) {
    const std::optional<bool> sync = options::parseYesNo(v);
    if (!sync) {
      return badValue("migrate_sync_deletions", v, "yes or no");
    }
    source.syncDeletions = *sync;
  }
  MIGRATE_RETURN_IF_ERROR(set.adminPresets(source.adminPresets));
  if (const char* v = set.get("migrate_preset")) {
    // Checked with the command line applied (--preset may replace it): applyPreset().
    source.presetName = v;
  }
  for (const auto& [name, field] : {std::pair{"migrate_include", &source.filter.include},
                                    std::pair{"migrate_exclude", &source.filter.exclude}}) {
    if (const char* v = set.get(name)) {
      MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> patterns, parseFolderPatterns(v, name));
      *field = patterns;
    }
  }
  if (const char* v = set.get("migrate_max_size")) {
    MIGRATE_ASSIGN_OR_RETURN(uint64_t size, parseMessageSize(v, "migrate_max_size"));
    source.filter.maxSize = size;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (const char* v = set.get("migrate_since")) {
    MIGRATE_ASSIGN_OR_RETURN(int64_t t, parseFilterDate(v, "migrate_since", now));
    source.filter.since = t;
    source.filter.sinceText = v;
  }
  if (const char* v = set.get("migrate_before")) {
    MIGRATE_ASSIGN_OR_RETURN(int64_t t, parseFilterDate(v, "migrate_before", now));
    source.filter.before = t;
    source.filter.beforeText = v;
  }
  return Status::ok();
}

Status limitsFrom(const MigrateSettings& set, MigrationOptions& options) {
  if (const char* v = set.get("migrate_max_rate")) {
    Result<uint64_t> rate = options::parseByteRate(v);
    if (!rate.isOk()) {
      return badValue("migrate_max_rate", v, "bytes per second, e.g. 500K, 2M or 1G (0: unlimited)");
    }
    options.maxBytesPerSecond = rate.value();
  }
  if (const char* v = set.get("migrate_max_connections")) {
    Result<uint32_t> count = options::parseConnectionCount(v);
    if (!count.isOk()) {
      return badValue("migrate_max_connections", v, "a number from 1 to 10000 (0: unlimited)");
    }
    options.maxConnectionsPerHost = count.value();
  }
  return Status::ok();
}

}  // namespace

void declareConfigSyntax() {
#if DOVECOT_PREREQ(2, 4, 0)
  options::setConfigSyntax(options::ConfigSyntax::TopLevel);
#else
  options::setConfigSyntax(options::ConfigSyntax::Plugin);
#endif
}

Status loadSourceSettings(struct mail_user* user, SourceOptions& source) {
  Result<std::unique_ptr<MigrateSettings>> settings = MigrateSettings::forUser(user);
  return settings.isOk() ? sourceFrom(*settings.value(), source) : settings.status();
}

Status loadLimitSettings(struct mail_user* user, MigrationOptions& options) {
  Result<std::unique_ptr<MigrateSettings>> settings = MigrateSettings::forUser(user);
  return settings.isOk() ? limitsFrom(*settings.value(), options) : settings.status();
}

Status loadUserSettings(struct mail_user* user, SourceOptions& source, MigrationOptions& limits) {
  MIGRATE_ASSIGN_OR_RETURN(std::unique_ptr<MigrateSettings> settings, MigrateSettings::forUser(user));
  MIGRATE_RETURN_IF_ERROR(sourceFrom(*settings, source));
  return limitsFrom(*settings, limits);
}

}  // namespace migrate::dovecot
