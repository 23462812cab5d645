#pragma once
// The migrate_* settings: from dovecot.conf and userdb extra fields, for one user (the mail
// plugin, `doveadm migrate`) or for doveadm itself (`migrate batch`). The keys are those of
// core/options/option_table.def.
//
//   Dovecot 2.3: `plugin { migrate_* }`; userdb fields that are not Dovecot settings become plugin
//   settings, so both are read with mail_user_plugin_getenv(), %-expanded for the user. Admin
//   presets: migrate_preset_<name>_<key>.
//   Dovecot 2.4: top-level `migrate_*` settings, declared to Dovecot by settings_def.c (and the
//   settings module), read with settings_get() for the user's event; userdb fields override them
//   per user. Admin presets: `migrate_preset_def <name> { <key> = ... }`.
//
// Command-line options override these; the doveadm command applies them after this.

#include "engine/options.h"

#include <memory>

struct mail_user;
struct event;

namespace migrate::dovecot {

// A reader of the migrate_* settings as one user (or doveadm) sees them.
class MigrateSettings {
 public:
  // The user's settings (dovecot.conf and userdb fields). A Config error when Dovecot 2.4
  // refuses them (it names the setting).
  static Result<std::unique_ptr<MigrateSettings>> forUser(struct mail_user* user);
  virtual ~MigrateSettings() = default;
  // The value, or nullptr when the setting is unset or empty.
  virtual const char* get(const char* key) const = 0;
  // Every admin preset defined (name -> key -> value).
  virtual Status adminPresets(PresetDefinitions& out) const = 0;
  // The admin preset `name` only (nothing when there is none of that name).
  virtual Status adminPreset(const std::string& name, PresetDefinitions& out) const;
};

// The global settings doveadm was started with (dovecot_adapter/doveadm_settings.cpp: only the
// doveadm module links it). `setEvent` is the command's settings event (2.4; unused on 2.3).
Result<std::unique_ptr<MigrateSettings>> doveadmSettings(struct event* setEvent);

// Tells the Dovecot-free code how this Dovecot writes the settings (plugin { } on 2.3, top-level
// on 2.4), for its messages. Each module calls it when it loads.
void declareConfigSyntax();

// Fills the fields of `source` that the user's settings set (unset settings leave fields as they
// are). A malformed value (port "abc", tls "tsl") is a Config error naming the setting.
Status loadSourceSettings(struct mail_user* user, SourceOptions& source);

// migrate_max_rate and migrate_max_connections into `options` (unset: left as they are). These
// limits are process-wide per source host (net/limits.h): when the users of one doveadm run have
// different values, the first user's non-zero value applies to the whole run. Config error naming
// the setting for a malformed value.
Status loadLimitSettings(struct mail_user* user, MigrationOptions& options);

// Both of the above from one read of the user's settings (`doveadm migrate`, per user): the source
// fields first; on an error in them the limits are not read.
Status loadUserSettings(struct mail_user* user, SourceOptions& source, MigrationOptions& limits);

}  // namespace migrate::dovecot
