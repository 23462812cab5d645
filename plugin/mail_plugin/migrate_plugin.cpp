// The migrate mail plugin: lib95_migrate_plugin.so, enabled with
// `mail_plugins = $mail_plugins migrate`. Dovecot's module loader looks up
// migrate_plugin_{init,deinit,version} with dlsym, so they are extern "C" and exported.
//
// For now it registers nothing; the first-login hook (mail_namespaces_created) comes later.

#include "adapter/dovecot_cxx.h"

#define MIGRATE_EXPORT __attribute__((visibility("default")))

extern "C" {

// Not `const char* const`: that would have internal linkage in C++, the symbol would vanish and
// Dovecot would silently skip the ABI version check.
MIGRATE_EXPORT const char* migrate_plugin_version = DOVECOT_ABI_VERSION;

MIGRATE_EXPORT void migrate_plugin_init(struct module* module) noexcept;
MIGRATE_EXPORT void migrate_plugin_deinit(void) noexcept;

void migrate_plugin_init(struct module*) noexcept {}

void migrate_plugin_deinit(void) noexcept {}

}  // extern "C"
