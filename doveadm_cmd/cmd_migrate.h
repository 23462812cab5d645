#pragma once
// `doveadm migrate`: pulls each selected user's mail from a remote IMAP server into local storage.
//
// The command table entry is registered by doveadm_migrate_plugin.cpp; see there for why
// subcommands ("migrate status", ...) must be registered before it.

#include "dovecot_adapter/dovecot_api.h"

extern "C" {
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_ver2;
// `doveadm migrate status` (cmd_status.cpp) and `doveadm migrate stop` (cmd_stop.cpp).
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_status_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_stop_ver2;
// `doveadm migrate verify` (cmd_verify.cpp).
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_verify_ver2;
// `doveadm migrate start` (cmd_start.cpp), `pause` and `resume` (cmd_pause.cpp), `log` (cmd_log.cpp).
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_start_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_pause_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_resume_ver2;
extern struct doveadm_cmd_ver2 doveadm_cmd_migrate_log_ver2;
}
