// Dovecot 2.4's check of the migrate_* settings (settings_def.c's check functions call this): the
// value is read by the one parser of its kind, so Dovecot refuses a bad value at startup with the
// message the run itself would give.
#include <string>

#include "dovecot_adapter/dovecot_api.h"
#include "options/option_values.h"

namespace {

const migrate::options::Option* optionFor(const std::string& key) {
  if (const migrate::options::Option* o = migrate::options::findSetting(key)) {
    return o;
  }
  static const std::string kPresetPrefix = "migrate_preset_def_";
  if (key.compare(0, kPresetPrefix.size(), kPresetPrefix) == 0) {
    for (const migrate::options::Option& o : migrate::options::presetKeys()) {
      if (key.compare(kPresetPrefix.size(), std::string::npos, o.key) == 0) {
        return &o;
      }
    }
  }
  return nullptr;
}

}  // namespace

// `preset`: the NAME of the migrate_preset_def block `key` is in (nullptr at the top level); the
// message then names the key as the admin wrote it, "migrate_preset_def NAME { tls }".
extern "C" int migrate_check_setting(const char* key, const char* value, const char* preset,
                                     const char** error_r) {
  try {
    const migrate::options::Option* o = optionFor(key);
    if (o == nullptr || value == nullptr) {
      return 1;
    }
    const std::string name = preset == nullptr
                                 ? std::string(key)
                                 : "migrate_preset_def " + std::string(preset) + " { " + o->key + " }";
    const migrate::Status st = migrate::options::checkValue(o->kind, name, value);
    if (st.isOk()) {
      return 1;
    }
    const std::string text = st.hint().empty() ? st.message() : st.message() + ": " + st.hint();
    *error_r = t_strdup(text.c_str());
    return 0;
  } catch (...) {
    *error_r = t_strdup_printf("%s: cannot check the value (out of memory?)", key);
    return 0;
  }
}
