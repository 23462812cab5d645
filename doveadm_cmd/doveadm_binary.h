#pragma once
// Which doveadm the module's child processes execute (the mailboxes of `migrate batch/check`,
// the detached background batch): on the command line the running doveadm itself
// (/proc/self/exe, with its -c); inside doveadm-server (HTTP API, doveadm -S), where
// /proc/self/exe is doveadm-server, the doveadm binary of the setting migrate_on_login_doveadm
// (default /usr/bin/doveadm) with the configuration the server runs with.

#include <string>
#include <vector>

#include "dovecot_adapter/dovecot_api.h"

namespace migrate::cmd {

struct DoveadmBinary {
  std::string executable;
  std::string configPath;  // for -c; empty: doveadm's default
};

DoveadmBinary doveadmBinary(struct doveadm_cmd_context* cctx);

// doveadm's own `-o setting=value` (none inside doveadm-server), for the children to read the same
// configuration.
std::vector<std::string> configOverrides();

// A migrate_* setting as doveadm sees it (dovecot.conf, no user), or "" when unset or unreadable.
std::string doveadmSetting(struct doveadm_cmd_context* cctx, const char* key);

}  // namespace migrate::cmd
