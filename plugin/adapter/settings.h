#pragma once
// Per-user settings from dovecot.conf `plugin { migrate_* }` and userdb extra fields (userdb
// fields that are not Dovecot settings become plugin settings, so both are read the same way with
// mail_user_plugin_getenv(), already %-expanded for the user).
//
//   migrate_source_host, migrate_source_port, migrate_source_tls (imaps|starttls|none),
//   migrate_source_user, migrate_source_password, migrate_source_master_user,
//   migrate_ca_file, migrate_ca_dir, migrate_insecure (yes|no),
//   migrate_source_oauth2_token_file, migrate_source_oauth2_token_command (instead of the password)
//   migrate_max_rate (bytes/s: 500K, 2M, 1G or a number), migrate_max_connections (per source host)
//   migrate_rawlog_dir (wire trace directory, writable by the user; passwords redacted),
//   migrate_compress (yes|no, default yes: COMPRESS=DEFLATE when the source offers it)
//   migrate_preset (generic|gmail|office365|exchange|<admin preset>), migrate_include,
//   migrate_exclude (comma-separated folder patterns), migrate_max_size (30M), migrate_since,
//   migrate_before (YYYY-MM-DD or 90d); admin presets: migrate_preset_<name>_<key> with the keys
//   of engine/preset.h (docs/presets-and-filters.md)
//
// Command-line options override these; the doveadm command applies them after this.

#include "engine/options.h"

struct mail_user;

namespace migrate::dovecot {

// Fills the fields of `source` that the user's settings set (unset settings leave fields as they
// are). A malformed value (port "abc", tls "tsl") is a Config error naming the setting.
Status loadSourceSettings(struct mail_user* user, SourceOptions& source);

// migrate_max_rate and migrate_max_connections into `options` (unset: left as they are). These
// limits are process-wide per source host (net/limits.h): when the users of one doveadm run have
// different values, the first user's non-zero value applies to the whole run. Config error naming
// the setting for a malformed value.
Status loadLimitSettings(struct mail_user* user, MigrationOptions& options);

}  // namespace migrate::dovecot
