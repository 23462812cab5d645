#pragma once
// Migration on a user's first login (issue 5). The mail plugin's mail_namespaces_created hook
// calls onNamespacesCreated(); it decides quickly (a stat, a small file read, an flock) whether
// this user's migration still has to run, and if so starts
//
//   doveadm -c <this process's config> -o stats_writer_socket_path= migrate -u <user> [-W]
//
// as a detached grandchild of the login process (setsid, empty environment but PATH and
// MIGRATE_TRIGGER=login, every inherited descriptor closed, the client socket too), with the
// password the user just logged in with on its stdin (-W) and its output appended to
// dovecot-migrate.login.log in the user's state directory (dovecot_adapter/state_location.h: the INBOX's
// control directory). The login itself goes on at once.
//
// Settings (plugin { } or per user from the userdb):
//   migrate_on_login               yes | no (default no)
//   migrate_on_login_protocols     services that may start it, default "imap pop3"
//   migrate_on_login_max_failures  failed runs in a row after which logins stop retrying
//                                  (default 3; 0 = retry forever)
//   migrate_on_login_doveadm       the doveadm binary (default /usr/bin/doveadm)
// plus the migrate_source_* settings of `doveadm migrate` (dovecot_adapter/migrate_settings.h).
//
// What the hook reads: dovecot-migrate.status there (engine/run_status.h, written by the doveadm
// run; at <home>/.migrate/status while only an earlier version has run). "ok" -> nothing to do; "running" by
// a live process -> nothing to do; consecutive_failures >= max -> log the last error and do nothing. What it
// holds: dovecot-migrate.login.lock there, flock()ed by the hook and inherited by the background doveadm for
// its whole life, so that simultaneous logins start one run (the engine's account lock would
// refuse the second one anyway, but only after it has logged in at the source).
//
// Threads: the login process's main thread only. Never throws (the hook catches everything).

struct mail_namespace;

namespace migrate::login {

// The mail_namespaces_created hook. noexcept: no C++ exception may cross Dovecot's C frames.
void onNamespacesCreated(struct mail_namespace* namespaces) noexcept;

}  // namespace migrate::login
