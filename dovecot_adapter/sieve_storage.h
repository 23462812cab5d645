#pragma once
// The user's Sieve storage here (engine/sieve_store.h) over the table that the optional Sieve
// module registers (dovecot_adapter/sieve_store_api.h). Main thread only.

#include <memory>

#include "dovecot_adapter/sieve_store_api.h"
#include "engine/sieve_store.h"

struct mail_user;

namespace migrate::dovecot {

// Called by the main module's migrate_sieve_register(); a table of another version is refused
// (with a warning in the log) and Sieve stays unavailable.
void setSieveApi(const migrate_sieve_api* api);

// NotFound with the reason when there is no Sieve module (Pigeonhole not installed).
Status sieveAvailable();
// NotFound with the reason when there is no Sieve module or the user has no Sieve storage. The
// storage does not own `user`.
Result<std::unique_ptr<SieveStorage>> openSieveStorage(struct mail_user* user);

}  // namespace migrate::dovecot
