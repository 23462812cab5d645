#ifndef MIGRATE_SETTINGS_DEF_H
#define MIGRATE_SETTINGS_DEF_H
/* Dovecot 2.4: the migrate_* settings as Dovecot's settings framework sees them, generated from
   core/options/option_table.def. C, because Dovecot's setting macros do not compile as C++
   (settings_def.c); C++ reads values by key with migrate_settings_value(). Compiled into the
   settings module, the mail plugin and the doveadm module alike: 2.4 requires the same
   definition in each. Included through dovecot_api.h (inside its extern "C"). */

#if DOVECOT_PREREQ(2, 4, 0)
#include "settings-parser.h"

struct migrate_settings {
  pool_t pool;
#define MIGRATE_SETTING(key, kind, cli, letter, help) const char* key;
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help)
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
  /* The names of the migrate_preset_def NAME { } blocks. */
  ARRAY_TYPE(const_string) migrate_preset_defs;
};

/* One admin preset: migrate_preset_def NAME { host = ... folder_map = ... }. */
struct migrate_preset_def_settings {
  pool_t pool;
  const char* migrate_preset_def_name;
#define MIGRATE_SETTING(key, kind, cli, letter, help)
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help) const char* migrate_preset_def_##key;
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
};

extern const struct setting_parser_info migrate_setting_parser_info;
extern const struct setting_parser_info migrate_preset_def_setting_parser_info;

/* The string setting `key` of a struct of `info`, or NULL when `info` has no such key. */
const char* migrate_settings_value(const struct setting_parser_info* info, const void* set, const char* key);

/* Checks one value (C++: dovecot_adapter/settings_check.cpp); `preset` is the NAME of the
   migrate_preset_def block the key is in, or NULL. Returns 0 and sets *error_r to a message
   naming the setting when the value is bad, 1 when it is fine. */
int migrate_check_setting(const char* key, const char* value, const char* preset, const char** error_r);
#endif

#endif
