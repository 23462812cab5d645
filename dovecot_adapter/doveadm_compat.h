#pragma once
// What differs between doveadm 2.3 and 2.4 for the doveadm module's commands, behind one set of
// functions, so that no command tests a version (the doveadm module alone links this: it calls
// doveadm's own functions).

#include <string>
#include <vector>

#include "common/status.h"

#include "dovecot_adapter/dovecot_api.h"

namespace migrate::dovecot {

// A doveadm parameter entry. 2.4 added a `key` field after `name`, so entries are filled by
// field name.
doveadm_cmd_param makeParam(char letter, const char* name, doveadm_cmd_param_t type,
                            doveadm_cmd_param_flag_t flags = CMD_PARAM_FLAG_NONE) noexcept;

// `params` as the NULL-name-terminated table doveadm keeps for the life of the process.
const doveadm_cmd_param* paramTable(std::vector<doveadm_cmd_param> params) noexcept;

// The parameters every mail command takes (-A, -S, -u, -F, --trans-flags and, on 2.4,
// --no-userdb-lookup), in doveadm's order.
void appendMailCommonParams(std::vector<doveadm_cmd_param>& params);

// The event to read settings with (2.4: cctx->set_event; 2.3 reads doveadm's plugin settings).
struct event* commandSettingsEvent(doveadm_cmd_context* cctx) noexcept;

// Installs a mail command's init (run once before the first user; it reads the parameters from
// ctx->cctx) and, on 2.3, the short letters it accepts and the username column that doveadm 2.4
// adds by itself.
// 2.4: the username column for a single user (-u name), which doveadm 2.4 adds only for -A, -F
// and wildcards and 2.3 added always: a report row has the same columns on both.
void addSingleUserColumn(doveadm_mail_cmd_context* ctx) noexcept;

template <void (*Init)(doveadm_mail_cmd_context*) noexcept, bool (*OwnLetter)(int) noexcept>
void setMailCommandInit(doveadm_mail_cmd_context* ctx) noexcept {
#if DOVECOT_PREREQ(2, 4, 0)
  ctx->v.init = [](doveadm_mail_cmd_context* c) noexcept {
    addSingleUserColumn(c);
    Init(c);
  };
#else
  ctx->v.parse_arg = [](doveadm_mail_cmd_context*, int c) noexcept { return OwnLetter(c); };
  ctx->v.init = [](doveadm_mail_cmd_context* c, const char* const*) noexcept { Init(c); };
  ctx->add_username_header = true;
#endif
}

// Makes the user's storage skip its per-message fsync (mail_fsync = never) when the configured
// mode is the default "optimized"; the command then flushes each committed batch itself. Called
// from the mail command's prerun, before the user's storage exists. True when overridden.
bool overrideOptimizedFsync(mail_storage_service_user* serviceUser) noexcept;

// The user lookups of `migrate batch` / `check` through the auth master socket, as doveadm
// itself makes them (service/protocol "doveadm").
auth_user_info doveadmAuthUserInfo() noexcept;

// 2.3: adds Dovecot's smtp_submit settings to the settings doveadm reads (called from the module's
// init, before doveadm reads its configuration). 2.4 reads them when they are needed.
void registerSubmitSettings() noexcept;

// A message submission with Dovecot's smtp_submit settings (submission_host or sendmail_path,
// hostname) as doveadm reads them, from <fromLocalPart>@<hostname>.
struct Submission {
  smtp_submit* submit = nullptr;
  smtp_address* from = nullptr;  // on the data stack
  std::string via;               // "submission_host=..." or "sendmail_path=...", for messages
};
Result<Submission> startSubmission(const char* fromLocalPart);

}  // namespace migrate::dovecot
