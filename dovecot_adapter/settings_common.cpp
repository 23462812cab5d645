#include "dovecot_adapter/settings_common.h"

#include <cstring>
#include <string>

#include "dovecot_adapter/dovecot_api.h"
#include "options/option_values.h"

namespace migrate::dovecot {

Status MigrateSettings::adminPreset(const std::string& name, PresetDefinitions& out) const {
  PresetDefinitions all;
  Status st = adminPresets(all);
  if (st.isOk() && all.count(name) != 0) {
    out[name] = all[name];
  }
  return st;
}

Status addPresetSetting(const char* key, const char* value, PresetDefinitions& out) {
  static const char kPrefix[] = "migrate_preset_";
  const size_t prefixLen = sizeof(kPrefix) - 1;
  if (std::strncmp(key, kPrefix, prefixLen) != 0 || value == nullptr || *value == '\0') {
    return Status::ok();
  }
  const std::string rest = key + prefixLen;
  const size_t us = rest.find('_');
  if (us == 0 || us == std::string::npos || us + 1 == rest.size()) {
    return Status(ErrorKind::Config, std::string("invalid setting ") + key,
                  "preset settings are named migrate_preset_<name>_<key>, e.g. migrate_preset_oldisp_host");
  }
  out[rest.substr(0, us)][rest.substr(us + 1)] = value;
  return Status::ok();
}

#if DOVECOT_PREREQ(2, 4, 0)
namespace {

Status settingsError(const char* what, const char* error) {
  return Status(ErrorKind::Config, std::string("cannot read the ") + what + " settings: " + error,
                "fix the migrate_* settings in dovecot.conf or the userdb fields");
}

// 2.4: the struct settings_get() returns, freed with settings_free().
class EventSettings final : public MigrateSettings {
 public:
  EventSettings(struct event* event, const struct migrate_settings* set) : event_(event), set_(set) {}
  ~EventSettings() override { settings_free(set_); }
  EventSettings(const EventSettings&) = delete;
  EventSettings& operator=(const EventSettings&) = delete;

  const char* get(const char* key) const override {
    const char* v = migrate_settings_value(&migrate_setting_parser_info, set_, key);
    return v != nullptr && *v != '\0' ? v : nullptr;
  }

  // migrate_preset_def NAME { KEY = VALUE ... }
  Status adminPresets(PresetDefinitions& out) const override {
    if (!array_is_created(&set_->migrate_preset_defs)) {
      return Status::ok();
    }
    const char* name = nullptr;
    array_foreach_elem(&set_->migrate_preset_defs, name) {
      const struct migrate_preset_def_settings* preset = nullptr;
      const char* error = nullptr;
      if (settingsGetFilter(event_, "migrate_preset_def", name, &migrate_preset_def_setting_parser_info,
                            &preset, &error) < 0) {
        return settingsError("migrate_preset_def", error);
      }
      auto& keys = out[name];
      for (const options::Option& o : options::presetKeys()) {
        const std::string key = std::string("migrate_preset_def_") + o.key;
        const char* v = migrate_settings_value(&migrate_preset_def_setting_parser_info, preset, key.c_str());
        if (v != nullptr && *v != '\0') {
          keys[o.key] = v;
        }
      }
      settings_free(preset);
    }
    return Status::ok();
  }

 private:
  struct event* event_;
  const struct migrate_settings* set_;
};

}  // namespace

Result<std::unique_ptr<MigrateSettings>> settingsForEvent(struct event* event) {
  const struct migrate_settings* set = nullptr;
  const char* error = nullptr;
  if (settingsGet(event, &migrate_setting_parser_info, &set, &error) < 0) {
    return settingsError("migrate", error);
  }
  return std::unique_ptr<MigrateSettings>(std::make_unique<EventSettings>(event, set));
}
#endif

}  // namespace migrate::dovecot
