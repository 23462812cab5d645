#pragma once
// The one place where migrate's ErrorKind becomes a doveadm exit code (sysexits.h values, the same
// family doveadm itself uses). Dovecot-free, so it can be unit-tested without a running Dovecot.
//
//   result / ErrorKind                         exit  sysexits name   why
//   ok                                            0
//   CLI usage (bad/conflicting options,          64  EX_USAGE        found in init(), before any user
//     unreadable password file)
//   Config (per-user settings/userdb fields      78  EX_CONFIG       fix dovecot.conf / userdb
//     malformed or missing: no host/password)
//   SourceIsSelf                                 78  EX_CONFIG       source points at this server
//   Auth                                         77  EX_NOPERM       wrong remote password/user
//   Quota                                        73  EX_CANTCREAT    what doveadm gives MAIL_ERROR_NOQUOTA
//   Tls                                          69  EX_UNAVAILABLE  handshake/certificate: retrying does
//                                                                    not help; fix --ca-file or the server
//   Protocol                                     76  EX_PROTOCOL     the source server misbehaved
//   Dns, Connect, Timeout, Closed, Throttled,    75  EX_TEMPFAIL     retrying later can help; a rerun
//     LocalStorage, Cancelled                                        continues where it stopped
//   NotFound                                     67  EX_NOUSER       (doveadm uses 68 for a missing
//                                                                    mailbox; 67 chosen by the project)
//   Internal                                     70  EX_SOFTWARE     a bug in this tool
//
// A partial copy (some messages copied, then a failure) gets the failure's code.
// Several users (-A, -F, wildcards): codes merge like doveadm_mail_failed_error() does:
// EX_TEMPFAIL overrides everything (some user should simply be retried), otherwise the first
// failure's code is kept.

#include "common/status.h"

namespace migrate::cmd {

// Exit code of a command-line usage error detected before any user is processed.
int usageExitCode();

int exitCodeFor(ErrorKind kind);
// 0 for ok.
int exitCodeFor(const Status& status);

// `migrate verify` (and `batch --verify`) when it finished and found mail missing or different:
// 65 (EX_DATAERR), which no migration run returns, so a script can tell "not complete" from
// "could not check" (which has the failure's own code above).
int incompleteExitCode();

// Merges one user's code into the command's current code (see the rule above).
int mergeExitCode(int current, int next);

}  // namespace migrate::cmd
