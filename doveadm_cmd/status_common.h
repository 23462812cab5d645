#pragma once
// Helpers shared by `doveadm migrate status` and `doveadm migrate stop`: finding a user's run
// status without creating anything, and the mail-command plumbing both use.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "dovecot_adapter/dovecot_api.h"
#include "engine/run_status.h"
#include "engine/verify_result.h"

namespace migrate::cmd {

// The user's run status from the state directory (dovecot_adapter/state_location.h), or from its
// old place <home>/.migrate while no run of this version has moved it; nothing is created or
// moved. nullopt when never migrated.
Result<std::optional<RunStatus>> readUserRunStatus(struct mail_user* user);

// The user's last verify result (dovecot-migrate.verify in the state directory); nullopt when no
// verify ran. Nothing is created.
Result<std::optional<VerifyRecord>> readUserVerifyRecord(struct mail_user* user);

// The state an admin sees: never / running / ok / partial / failed / stopped, and "interrupted"
// for a "running" status whose process no longer exists on this host (killed -9, crash, reboot).
std::string displayState(const std::optional<RunStatus>& status);

// gethostname(), as the run status records it.
std::string localHostName();

// Sets the command's exit code the way doveadm merges them (see exit_codes.h).
void mergeCommandExitCode(doveadm_mail_cmd_context* ctx, int code);

// The parameters of a mail command that takes only doveadm's user selection (-u/-A/-F/-S),
// terminated by an entry with a null name.
const doveadm_cmd_param* userSelectionParams() noexcept;
// For commands without letters of their own.
bool noOwnLetters(int letter) noexcept;

}  // namespace migrate::cmd
