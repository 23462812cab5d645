// The global migrate_* settings doveadm was started with (`migrate batch`: presets for the whole
// batch). Its own object file: it calls doveadm's functions, which only the doveadm module has.
#include <cstring>

#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/settings_common.h"
#include "options/option_values.h"

namespace migrate::dovecot {

#if !DOVECOT_PREREQ(2, 4, 0)
namespace {

// 2.3: doveadm's plugin { } settings. doveadm has no list of them, so presets are looked up by
// the names the caller asks for.
class DoveadmPluginSettings final : public MigrateSettings {
 public:
  const char* get(const char* key) const override {
    const char* v = doveadm_plugin_getenv(key);
    return v != nullptr && *v != '\0' ? v : nullptr;
  }
  Status adminPresets(PresetDefinitions& out) const override {
    const char* name = get("migrate_preset");
    return name != nullptr ? adminPreset(name, out) : Status::ok();
  }
  Status adminPreset(const std::string& name, PresetDefinitions& out) const override {
    for (const options::Option& o : options::presetKeys()) {
      const std::string key = "migrate_preset_" + name + "_" + o.key;
      MIGRATE_RETURN_IF_ERROR(addPresetSetting(key.c_str(), get(key.c_str()), out));
    }
    return Status::ok();
  }
};

}  // namespace

Result<std::unique_ptr<MigrateSettings>> doveadmSettings(struct event*) {
  return std::unique_ptr<MigrateSettings>(std::make_unique<DoveadmPluginSettings>());
}
#else
Result<std::unique_ptr<MigrateSettings>> doveadmSettings(struct event* setEvent) {
  return settingsForEvent(setEvent);
}
#endif

}  // namespace migrate::dovecot
