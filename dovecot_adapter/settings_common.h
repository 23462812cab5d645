#pragma once
// What the user's and doveadm's settings readers share (dovecot_adapter/settings.cpp,
// doveadm_settings.cpp): the 2.3 preset key scheme and the 2.4 settings_get() reader.

#include <memory>

#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/migrate_settings.h"

struct event;

namespace migrate::dovecot {

// 2.3: one `migrate_preset_<name>_<key> = value` setting into `out` (other keys and empty values
// are ignored). Config error for a preset setting without a name or key.
Status addPresetSetting(const char* key, const char* value, PresetDefinitions& out);

// 2.4: the migrate settings as `event` sees them (settings_get()). Not used on 2.3.
Result<std::unique_ptr<MigrateSettings>> settingsForEvent(struct event* event);

#if DOVECOT_PREREQ(2, 4, 0)
// settings_get() and settings_get_filter() for C++: Dovecot's macros of the same names pass
// `(void *)set_r`, which C++ does not convert. The parenthesized names call the functions.
template <typename T>
int settingsGet(struct event* event, const struct setting_parser_info* info, const T** set,
                const char** error, settings_get_flags flags = static_cast<settings_get_flags>(0)) {
  return (settings_get)(event, info, flags, __FILE__, __LINE__, reinterpret_cast<const void**>(set), error);
}
template <typename T>
int settingsGetFilter(struct event* event, const char* key, const char* value,
                      const struct setting_parser_info* info, const T** set, const char** error) {
  return (settings_get_filter)(event, key, value, info, static_cast<settings_get_flags>(0), __FILE__,
                               __LINE__, reinterpret_cast<const void**>(set), error);
}
#endif

}  // namespace migrate::dovecot
