#pragma once
// The one place where C++ includes Dovecot's C headers: the adapter layer, the doveadm commands,
// the mail plugin and the lib-storage tests include this header and no Dovecot header of their
// own. Dovecot's headers have no extern "C" guards, need HAVE_CONFIG_H (set by the
// dovecot_headers CMake target) and use `typeof` (module-context.h), which the users of this
// header get through -std=gnu++17. Version differences (2.3 / 2.4) are not handled here but in
// the adapter's functions (dovecot_adapter/storage_compat.h), so that no caller tests a version.

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
#include "hostpid.h"
#include "lib-signals.h"
#include "ostream.h"
#include "wildcard-match.h"
#include "message-date.h"
#include "iostream-ssl.h"
#include "settings-parser.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "master-service-private.h"
#include "mail-storage-service.h"
#include "auth-master.h"
#include "smtp-address.h"
#include "smtp-submit-settings.h"
#include "smtp-submit.h"
/* doveadm's own headers (the doveadm module's commands). */
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "doveadm-settings.h"
#include "doveadm-util.h"
/* Private lib-storage structs, for the save context's dest_mail and the index_mail flag that
   keeps a field out of the mail cache (dovecot_sink.cpp). The module is built for one Dovecot
   ABI version, so their layout is the one these headers describe. */
#include "mail-storage-private.h"
#include "index-mail.h"
/* sdbox announces saved POP3 UIDLs in the index header only in some cases (dovecot_sink.cpp). */
#include "index-pop3-uidl.h"
/* The file descriptor under a save's output stream (dovecot_sink.cpp: flushing what a batch
   wrote): o_stream_get_fd() does not look through filter streams such as zlib's. */
#include "ostream-private.h"
/* Declarations only: the quota plugin's functions are resolved with dlsym() at run time
   (quota_glue.cpp), so including quota.h adds no link-time dependency. */
#include "quota.h"
#if DOVECOT_PREREQ(2, 4, 0)
#include "settings.h"
#endif
/* The migrate_* settings as Dovecot 2.4 declares them (empty on 2.3). */
#include "dovecot_adapter/settings_def.h"
#ifdef MIGRATE_DOVECOT_TEST_HARNESS
/* lib-storage's test harness (tests/dovecot only). */
#include "istream-crlf.h"
#include "mail-index-alloc-cache.h"
#include "test-mail-storage-common.h"
#endif
}
// clang-format on
