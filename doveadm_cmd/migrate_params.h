#pragma once
// The `doveadm migrate` options: the doveadm parameter table, its usage line, and the parsing of
// the values into CliOptions. Shared by every command that runs migrations ("migrate",
// "migrate check", "migrate batch" passes them through to its per-user runs).

#include <vector>

#include "cli_options.h"
#include "common/status.h"
#include "dovecot_adapter/dovecot_api.h"
#include "engine/options.h"

namespace migrate::cmd {

// `doveadm migrate`'s parameters: doveadm's mail-command ones and every option of
// core/options/option_table.def. Terminated by an entry with a null name.
const doveadm_cmd_param* migrateParams() noexcept;
// The option table's parameters alone (for the commands that pass them on to `migrate`).
void appendMigrateOptionParams(std::vector<doveadm_cmd_param>& params);
// The usage line doveadm prints for "migrate" (without the command name).
extern const char kMigrateUsage[];

// Whether `c` is the short letter of one of our own options (not of doveadm's common -A/-S/-u/-F).
bool isMigrateOptionLetter(int c) noexcept;

// Reads and checks the command line into `cli`. Runs as root before any user is looked up, so a
// password file may be root-only. Every error is a Config Status naming the option.
Status parseCommandLine(doveadm_mail_cmd_context* ctx, CliOptions& cli);

// The options of one user's run (migrate, verify): the user's settings (plugin { migrate_* },
// userdb fields) under the command line, cancelled by doveadm's SIGINT/SIGTERM flag, with the
// process-wide rate and connection limits. The error names the user and what to fix.
Result<MigrationOptions> userRunOptions(const CliOptions& cli, struct mail_user* user, bool verbose);

}  // namespace migrate::cmd
