#pragma once
// The `doveadm migrate` options: the doveadm parameter table, its usage line, and the parsing of
// the values into CliOptions. Shared by every command that runs migrations ("migrate",
// "migrate check", "migrate batch" passes them through to its per-user runs).
// Include doveadm-mail.h (inside extern "C") before this header.

#include "cli_options.h"
#include "common/status.h"

namespace migrate::cmd {

// Terminated by an entry with a null name. Every named option needs a short letter (see the .cpp).
extern const doveadm_cmd_param kMigrateParams[];
// The usage line doveadm prints for "migrate" (without the command name).
extern const char kMigrateUsage[];

// Whether `c` is the short letter of one of our own options (not of doveadm's common -A/-S/-u/-F).
bool isMigrateOptionLetter(int c) noexcept;

// Reads and checks the command line into `cli`. Runs as root before any user is looked up, so a
// password file may be root-only. Every error is a Config Status naming the option.
Status parseCommandLine(doveadm_mail_cmd_context* ctx, CliOptions& cli);

}  // namespace migrate::cmd
