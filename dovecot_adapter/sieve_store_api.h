#ifndef MIGRATE_SIEVE_STORE_API_H
#define MIGRATE_SIEVE_STORE_API_H
/* The table of functions through which `doveadm migrate` writes Sieve scripts into a user's
   Sieve storage (Pigeonhole). It is filled by the optional module
   lib96_doveadm_migrate_sieve_plugin.so (doveadm_cmd/sieve/, C: Pigeonhole's headers are not
   C++-clean), which links libdovecot-sieve and registers the table from its init function with
   migrate_sieve_register(), exported by the main module. Without dovecot-sieve that module does
   not load (doveadm skips it silently) and `doveadm migrate` reports Sieve as skipped.

   Strings returned through *_r pointers are on Dovecot's data stack: the caller copies them
   before its T_BEGIN frame ends. Main thread only (lib-storage, like every lib-sieve call). */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mail_user;
struct migrate_sieve_storage;

#define MIGRATE_SIEVE_API_VERSION 1

struct migrate_sieve_api {
  unsigned int version; /* MIGRATE_SIEVE_API_VERSION */

  /* The user's personal Sieve storage, writable; NULL with *error_r when the user has none
     (Sieve disabled, no storage configured). */
  struct migrate_sieve_storage* (*open)(struct mail_user* user, const char** error_r);
  void (*close)(struct migrate_sieve_storage** storage);

  /* Calls `cb` for each script (active: 1 for the active one). 0, or -1 with *error_r. */
  int (*list)(struct migrate_sieve_storage* storage, void (*cb)(void* context, const char* name, int active),
              void* context, const char** error_r);
  /* The script's bytes into *data_r (data stack). 1, 0 when there is none, -1 on error. */
  int (*get)(struct migrate_sieve_storage* storage, const char* name, const unsigned char** data_r,
             size_t* size_r, const char** error_r);
  /* Stores the script under `name` (replacing one of that name) without compiling it.
     0, or -1 with *error_r (an invalid name, no space, ...). */
  int (*save)(struct migrate_sieve_storage* storage, const char* name, const unsigned char* data, size_t size,
              const char** error_r);
  /* Compiles the stored script as delivery would (for an activation when `activation`):
     1 it compiles, 0 it does not (*messages_r: the compiler's messages, one a line),
     -1 with *error_r when it could not be checked. */
  int (*check)(struct migrate_sieve_storage* storage, const char* name, int activation,
               const char** messages_r, const char** error_r);
  /* Makes `name` the active script. 0, or -1 with *error_r. */
  int (*activate)(struct migrate_sieve_storage* storage, const char* name, const char** error_r);
  /* 1 when `name` can name a script in this storage. */
  int (*name_is_valid)(const char* name);
};

/* In the main module (lib95_doveadm_migrate_plugin.so); `api` must stay valid while doveadm
   runs (a static table of the Sieve module). */
void migrate_sieve_register(const struct migrate_sieve_api* api);

#ifdef __cplusplus
}
#endif

#endif
