#pragma once
// Reads the quota plugin's numbers without a link-time dependency on lib10_quota_plugin.so: its
// public functions are looked up with dlsym(RTLD_DEFAULT) at run time. A module that referenced
// them directly would fail to load (or load only in doveadm's second pass) when quota is not in
// mail_plugins.

#include "dovecot_adapter/dovecot_api.h"
#include "engine/sink.h"

struct mail_user;

namespace migrate::dovecot {

// STORAGE_BYTES of every quota root of `user`; the root with the least free space wins.
// limited=false when the quota plugin is not loaded, the user has no quota root, or no root
// limits storage. A root that cannot be read (backend error, background calculation running)
// is a LocalStorage error naming the root.
Result<QuotaInfo> readQuota(struct mail_user* user);

// Whether the quota plugin's functions are present in this process.
bool quotaPluginLoaded();

}  // namespace migrate::dovecot
