// Module glue: doveadm loads lib95_doveadm_migrate_plugin.so from its fixed module directory and
// looks up doveadm_migrate_plugin_{init,deinit,version} with dlsym (so: extern "C", exported).

#include "cmd_batch.h"
#include "cmd_migrate.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/migrate_settings.h"
#include "dovecot_adapter/sieve_storage.h"
#include "notify.h"

#define MIGRATE_EXPORT __attribute__((visibility("default")))

namespace {

// Registration order matters for multi-word commands. doveadm 2.3.19 resolves a command line
// (doveadm_cmd_find_with_args_ver2) by walking the registered commands in registration order and
// taking the FIRST whose words are a prefix of the arguments; it does not prefer the longest match.
// Verified with a test module registering "X" and "X status" (both orders):
//   "X" registered first:        `doveadm X status -u bob` runs "X", which fails with
//                                "Extraneous arguments found: status" (exit 64);
//   "X status" registered first: `doveadm X status -u bob` runs "X status" and
//                                `doveadm X -u bob` runs "X" (the "status" word does not match "-u").
// So subcommands ("migrate batch", "migrate check", "migrate status", "migrate stop",
// "migrate verify", "migrate start", ...) must come
// BEFORE "migrate" in this table. Over the HTTP API the order does not matter: names are matched
// exactly there ("migrate", "migrateStatus"). A positional argument of "migrate" that equals a
// subcommand word would be taken for the subcommand, so "migrate" has no positional arguments.
// One command per line (the order is the point), so clang-format stays away.
// clang-format off
struct doveadm_cmd_ver2* const kCommands[] = {
    // subcommands first, and "migrate batch X" before "migrate batch"
    &doveadm_cmd_migrate_batch_status_ver2,
    &doveadm_cmd_migrate_batch_pause_ver2,
    &doveadm_cmd_migrate_batch_resume_ver2,
    &doveadm_cmd_migrate_batch_log_ver2,
    &doveadm_cmd_migrate_batch_ver2,
    &doveadm_cmd_migrate_check_ver2,
    &doveadm_cmd_migrate_status_ver2,
    &doveadm_cmd_migrate_stop_ver2,
    &doveadm_cmd_migrate_verify_ver2,
    &doveadm_cmd_migrate_start_ver2,
    &doveadm_cmd_migrate_pause_ver2,
    &doveadm_cmd_migrate_resume_ver2,
    &doveadm_cmd_migrate_log_ver2,
    &doveadm_cmd_migrate_ver2,
};
// clang-format on

}  // namespace

extern "C" {

// Not `const char* const`: that would have internal linkage in C++, the symbol would vanish and
// doveadm would silently skip the ABI version check.
MIGRATE_EXPORT const char* doveadm_migrate_plugin_version = DOVECOT_ABI_VERSION;

MIGRATE_EXPORT void doveadm_migrate_plugin_init(struct module*) noexcept;
MIGRATE_EXPORT void doveadm_migrate_plugin_deinit(void) noexcept;

void doveadm_migrate_plugin_init(struct module*) noexcept {
  migrate::dovecot::declareConfigSyntax();
  for (struct doveadm_cmd_ver2* cmd : kCommands) {
    doveadm_cmd_register_ver2(cmd);
  }
  // submission_host / sendmail_path for notifications (notify.h)
  migrate::cmd::notifyRegisterSettings();
}

// The optional Sieve module (lib96_doveadm_migrate_sieve_plugin.so, loaded after this one) hands
// over its table here (dovecot_adapter/sieve_store_api.h).
MIGRATE_EXPORT void migrate_sieve_register(const struct migrate_sieve_api* api) {
  migrate::dovecot::setSieveApi(api);
}

void doveadm_migrate_plugin_deinit(void) noexcept {
  // doveadm 2.3 has no way to unregister a ver2 command; the module stays loaded until exit.
}

}  // extern "C"
