/* Dovecot 2.4's definition of the migrate_* settings (see settings_def.h). Every value is a
   string: the C++ side parses it with the one parser of its kind (core/options/), here in the
   check function so that a bad value stops Dovecot at startup with the same message the run
   would give. */
#include "lib.h"
#include "array.h"
#include "settings_def.h"

#if DOVECOT_PREREQ(2, 4, 0)
#include "settings-parser.h"

#define MIGRATE_SETTING_TYPE_TEXT SET_STR
#define MIGRATE_SETTING_TYPE_SECRET SET_STR_NOVARS
#define MIGRATE_SETTING_TYPE_PATH SET_STR
#define MIGRATE_SETTING_TYPE_HOST SET_STR
#define MIGRATE_SETTING_TYPE_PORT SET_STR
#define MIGRATE_SETTING_TYPE_TLS SET_STR
#define MIGRATE_SETTING_TYPE_YESNO SET_STR
#define MIGRATE_SETTING_TYPE_RATE SET_STR
#define MIGRATE_SETTING_TYPE_CONNECTIONS SET_STR
#define MIGRATE_SETTING_TYPE_PATTERNS SET_STR
#define MIGRATE_SETTING_TYPE_SIZE SET_STR
#define MIGRATE_SETTING_TYPE_DATE SET_STR
#define MIGRATE_SETTING_TYPE_PRESET SET_STR
#define MIGRATE_SETTING_TYPE_PROTOCOLS SET_STR
#define MIGRATE_SETTING_TYPE_COUNT SET_STR
#define MIGRATE_SETTING_TYPE_FOLDER_MAP SET_STR
#define MIGRATE_SETTING_TYPE_SERVICE SET_STR

static const struct setting_define migrate_setting_defines[] = {
#define MIGRATE_SETTING(key, kind, cli, letter, help) \
	SETTING_DEFINE_STRUCT_TYPE(MIGRATE_SETTING_TYPE_##kind, 0, const char *, #key, key, \
				   struct migrate_settings),
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help)
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
	{ .type = SET_FILTER_ARRAY, .key = "migrate_preset_def",
	  .offset = offsetof(struct migrate_settings, migrate_preset_defs),
	  .filter_array_field_name = "migrate_preset_def_name" },
	SETTING_DEFINE_LIST_END
};

static const struct migrate_settings migrate_default_settings = {
#define MIGRATE_SETTING(key, kind, cli, letter, help) .key = "",
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help)
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
	.migrate_preset_defs = ARRAY_INIT,
};

static bool migrate_settings_check(void *set, pool_t pool ATTR_UNUSED, const char **error_r)
{
	const struct setting_define *def;

	for (def = migrate_setting_defines; def->key != NULL; def++) {
		if (def->type != SET_STR && def->type != SET_STR_NOVARS)
			continue;
		const char *value = CONST_PTR_OFFSET(set, def->offset);
		value = *(const char *const *)value;
		if (migrate_check_setting(def->key, value, NULL, error_r) == 0)
			return FALSE;
	}
	return TRUE;
}

const struct setting_parser_info migrate_setting_parser_info = {
	.name = "migrate",
	.defines = migrate_setting_defines,
	.defaults = &migrate_default_settings,
	.struct_size = sizeof(struct migrate_settings),
	.pool_offset1 = 1 + offsetof(struct migrate_settings, pool),
	.check_func = migrate_settings_check,
};

static const struct setting_define migrate_preset_def_setting_defines[] = {
	SETTING_DEFINE_STRUCT_STR("migrate_preset_def_name", migrate_preset_def_name,
				  struct migrate_preset_def_settings),
#define MIGRATE_SETTING(key, kind, cli, letter, help)
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help) \
	SETTING_DEFINE_STRUCT_STR("migrate_preset_def_" #key, migrate_preset_def_##key, \
				  struct migrate_preset_def_settings),
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
	SETTING_DEFINE_LIST_END
};

static const struct migrate_preset_def_settings migrate_preset_def_default_settings = {
	.migrate_preset_def_name = "",
#define MIGRATE_SETTING(key, kind, cli, letter, help)
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help) .migrate_preset_def_##key = "",
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
};

static bool migrate_preset_def_settings_check(void *set, pool_t pool ATTR_UNUSED,
					      const char **error_r)
{
	const struct migrate_preset_def_settings *preset = set;
	const struct setting_define *def;

	for (def = migrate_preset_def_setting_defines; def->key != NULL; def++) {
		const char *value = *(const char *const *)CONST_PTR_OFFSET(set, def->offset);
		if (migrate_check_setting(def->key, value, preset->migrate_preset_def_name,
					  error_r) == 0)
			return FALSE;
	}
	return TRUE;
}

const struct setting_parser_info migrate_preset_def_setting_parser_info = {
	.name = "migrate_preset_def",
	.defines = migrate_preset_def_setting_defines,
	.defaults = &migrate_preset_def_default_settings,
	.struct_size = sizeof(struct migrate_preset_def_settings),
	.pool_offset1 = 1 + offsetof(struct migrate_preset_def_settings, pool),
	.check_func = migrate_preset_def_settings_check,
};

const char *migrate_settings_value(const struct setting_parser_info *info, const void *set,
				   const char *key)
{
	const struct setting_define *def;

	for (def = info->defines; def->key != NULL; def++) {
		if ((def->type == SET_STR || def->type == SET_STR_NOVARS) &&
		    strcmp(def->key, key) == 0)
			return *(const char *const *)CONST_PTR_OFFSET(set, def->offset);
	}
	return NULL;
}
#endif
