// The migrate mail plugin: lib95_migrate_plugin.so, enabled with
// `mail_plugins = $mail_plugins migrate` (best only in protocol imap { } and protocol pop3 { }).
// Dovecot's module loader looks up migrate_plugin_{init,deinit,version} with dlsym, so they are
// extern "C" and exported.
//
// It registers one storage hook, mail_namespaces_created (all namespaces exist, the home and the
// per-user plugin settings are usable): the migration on first login (first_login.h), switched
// on per user with `migrate_on_login = yes`.

#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/migrate_settings.h"
#include "first_login.h"

#define MIGRATE_EXPORT __attribute__((visibility("default")))

namespace {

// Positional: mail_user_created, mail_namespace_storage_added, mail_namespaces_created, ...
// (2.3.19 struct order); the rest stay null.
const struct mail_storage_hooks migrateHooks = {
    nullptr, nullptr, migrate::login::onNamespacesCreated, nullptr, nullptr, nullptr, nullptr,
    nullptr, nullptr,
};

}  // namespace

extern "C" {

// Not `const char* const`: that would have internal linkage in C++, the symbol would vanish and
// Dovecot would silently skip the ABI version check.
MIGRATE_EXPORT const char* migrate_plugin_version = DOVECOT_ABI_VERSION;

MIGRATE_EXPORT void migrate_plugin_init(struct module* module) noexcept;
MIGRATE_EXPORT void migrate_plugin_deinit(void) noexcept;

void migrate_plugin_init(struct module* module) noexcept {
  migrate::dovecot::declareConfigSyntax();
  mail_storage_hooks_add(module, &migrateHooks);
}

void migrate_plugin_deinit(void) noexcept {
  mail_storage_hooks_remove(&migrateHooks);
}

}  // extern "C"
