/* libmigrate_settings.so: the module Dovecot 2.4's config process loads from
   <moduledir>/settings/ to learn the migrate_* settings (config-parser.c looks up
   <module name>_set_infos and checks <module name>_version). The definition itself is
   settings_def.c, shared with the mail plugin and the doveadm module. */
#include "lib.h"
#include "settings_def.h"

#define MIGRATE_EXPORT __attribute__((visibility("default")))

MIGRATE_EXPORT extern const char *migrate_settings_version;
MIGRATE_EXPORT extern const struct setting_parser_info *migrate_settings_set_infos[];

const char *migrate_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *migrate_settings_set_infos[] = {
	&migrate_setting_parser_info,
	&migrate_preset_def_setting_parser_info,
	NULL
};
