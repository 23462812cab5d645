#pragma once
// The one place where C++ includes Dovecot's C headers. Dovecot's headers have no extern "C"
// guards, need HAVE_CONFIG_H (set by the dovecot_headers CMake target) and use `typeof`
// (module-context.h), which the adapters get through -std=gnu++17.

// Order matters (lib.h first, then headers whose enums later ones use): keep clang-format away.
// clang-format off
extern "C" {
#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "istream-seekable.h"
#include "istream-sized.h"
#include "ioloop.h"
#include "module-dir.h"
#include "mail-storage.h"
#include "mail-storage-hooks.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mailbox-list.h"
#include "mailbox-list-iter.h"
#include "mail-search-build.h"
#include "mail-search.h"
#include "mail-storage-settings.h"
#include "guid.h"
#include "seq-range-array.h"
/* Private lib-storage structs, for the save context's dest_mail and the index_mail flag that
   keeps a field out of the mail cache (dovecot_sink.cpp). The module is built for one Dovecot
   ABI version, so their layout is the one these headers describe. */
#include "mail-storage-private.h"
#include "index-mail.h"
/* The file descriptor under a save's output stream (dovecot_sink.cpp: flushing what a batch
   wrote): o_stream_get_fd() does not look through filter streams such as zlib's. */
#include "ostream-private.h"
/* Declarations only: the quota plugin's functions are resolved with dlsym() at run time
   (quota_glue.cpp), so including quota.h adds no link-time dependency. */
#include "quota.h"
}
// clang-format on
