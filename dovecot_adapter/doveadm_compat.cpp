#include "dovecot_adapter/doveadm_compat.h"

#include <cstring>

#include "dovecot_adapter/settings_common.h"

namespace migrate::dovecot {

doveadm_cmd_param makeParam(char letter, const char* name, doveadm_cmd_param_t type,
                            doveadm_cmd_param_flag_t flags) noexcept {
  doveadm_cmd_param p{};
  p.short_opt = letter;
  p.name = name;
  p.type = type;
  p.flags = flags;
  return p;
}

const doveadm_cmd_param* paramTable(std::vector<doveadm_cmd_param> params) noexcept {
  try {
    params.push_back(makeParam('\0', nullptr, CMD_PARAM_BOOL));
    return (new std::vector<doveadm_cmd_param>(std::move(params)))->data();
  } catch (...) {
    static const doveadm_cmd_param kNone[] = {makeParam('\0', nullptr, CMD_PARAM_BOOL)};
    return kNone;
  }
}

void appendMailCommonParams(std::vector<doveadm_cmd_param>& params) {
  params.push_back(makeParam('A', "all-users", CMD_PARAM_BOOL));
  params.push_back(makeParam('S', "socket-path", CMD_PARAM_STR));
  params.push_back(makeParam('u', "user", CMD_PARAM_STR));
  params.push_back(makeParam('\0', "trans-flags", CMD_PARAM_INT64));
#if DOVECOT_PREREQ(2, 4, 0)
  params.push_back(makeParam('\0', "no-userdb-lookup", CMD_PARAM_BOOL));
#endif
  params.push_back(makeParam('F', "user-file", CMD_PARAM_ISTREAM));
}

struct event* commandSettingsEvent(doveadm_cmd_context* cctx) noexcept {
#if DOVECOT_PREREQ(2, 4, 0)
  return cctx->set_event;
#else
  (void)cctx;
  return nullptr;
#endif
}

#if DOVECOT_PREREQ(2, 4, 0)
bool overrideOptimizedFsync(mail_storage_service_user* serviceUser) noexcept {
  const struct mail_storage_settings* set = nullptr;
  const char* error = nullptr;
  // Unexpanded: before the mail user exists (the doveadm server's prerun) %{user}/%{home} cannot be
  // expanded, and mail_fsync has no variables.
  const auto flags =
      static_cast<settings_get_flags>(SETTINGS_GET_FLAG_NO_EXPAND | SETTINGS_GET_FLAG_NO_CHECK);
  if (settingsGet(mail_storage_service_user_get_event(serviceUser), &mail_storage_setting_parser_info, &set,
                  &error, flags) < 0) {
    i_warning("migrate: cannot batch fsyncs (%s); saving with the configured mail_fsync", error);
    return false;
  }
  const bool optimized = std::strcmp(set->mail_fsync, "optimized") == 0;
  settings_free(set);
  if (!optimized) {
    return false;
  }
  // "*/": inside named filters (namespaces, mailboxes) too.
  settings_override(mail_storage_service_user_get_settings_instance(serviceUser), "*/mail_fsync", "never",
                    SETTINGS_OVERRIDE_TYPE_CODE);
  return true;
}
#else
bool overrideOptimizedFsync(mail_storage_service_user* serviceUser) noexcept {
  setting_parser_context* parser = mail_storage_service_user_get_settings_parser(serviceUser);
  enum setting_type type;
  const void* value = parser != nullptr ? settings_parse_get_value(parser, "mail_fsync", &type) : nullptr;
  // An enum setting's value is its string ("optimized", "always", "never").
  if (value == nullptr || (type != SET_ENUM && type != SET_STR)) {
    return false;
  }
  const char* fsyncMode = *static_cast<const char* const*>(value);
  if (fsyncMode == nullptr || std::strcmp(fsyncMode, "optimized") != 0) {
    return false;
  }
  const char* error = nullptr;
  if (mail_storage_service_user_set_setting(serviceUser, "mail_fsync", "never", &error) < 0) {
    // Not fatal: the run just fsyncs every message as Dovecot normally does.
    i_warning("migrate: cannot batch fsyncs (%s); saving with mail_fsync=optimized", error);
    return false;
  }
  return true;
}
#endif

void addSingleUserColumn(doveadm_mail_cmd_context* ctx) noexcept {
#if DOVECOT_PREREQ(2, 4, 0)
  if (ctx->iterate_single_user && ctx->cctx->username != nullptr && doveadm_print_is_initialized()) {
    doveadm_print_header("username", "Username",
                         static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_STICKY |
                                                                 DOVEADM_PRINT_HEADER_FLAG_HIDE_TITLE));
    doveadm_print_sticky("username", ctx->cctx->username);
  }
#else
  (void)ctx;
#endif
}

auth_user_info doveadmAuthUserInfo() noexcept {
  auth_user_info info{};
#if DOVECOT_PREREQ(2, 4, 0)
  info.protocol = "doveadm";
#else
  info.service = "doveadm";
#endif
  return info;
}

namespace {

std::string describeVia(const smtp_submit_settings* set) {
  if (set->submission_host != nullptr && *set->submission_host != '\0') {
    return std::string("submission_host=") + set->submission_host;
  }
  return std::string("sendmail_path=") + (set->sendmail_path != nullptr ? set->sendmail_path : "");
}

smtp_address* fromAddress(const char* localPart, const smtp_submit_settings* set) {
  const char* hostname = set->hostname != nullptr && *set->hostname != '\0' ? set->hostname : my_hostname;
  return smtp_address_create(pool_datastack_create(), localPart, hostname);
}

}  // namespace

#if DOVECOT_PREREQ(2, 4, 0)
void registerSubmitSettings() noexcept {}

Result<Submission> startSubmission(const char* fromLocalPart) {
  struct event* event = master_service_get_event(master_service);
  const smtp_submit_settings* set = nullptr;
  const char* error = nullptr;
  if (settingsGet(event, &smtp_submit_setting_parser_info, &set, &error) < 0) {
    return Status(ErrorKind::Config, std::string("cannot read the submission settings: ") + error,
                  "check submission_host / sendmail_path in dovecot.conf");
  }
  Submission s;
  s.from = fromAddress(fromLocalPart, set);
  s.via = describeVia(set);
  smtp_submit_input input{};
  input.event_parent = event;
  // The session copies what it needs from the settings (sendmail runs as doveadm's user).
  s.submit = smtp_submit_init_simple(&input, set, s.from);
  settings_free(set);
  return s;
}
#else
void registerSubmitSettings() noexcept {
  doveadm_setting_roots_add(&smtp_submit_setting_parser_info);
}

namespace {

// The smtp_submit settings doveadm read (in `fallback`), or Dovecot's defaults
// (smtp-submit-settings.c) when it did not read them.
const smtp_submit_settings* submitSettings(smtp_submit_settings& fallback) {
  const doveadm_setting_root* root = nullptr;
  array_foreach(&doveadm_setting_roots, root) {
    if (root->info == &smtp_submit_setting_parser_info && root->settings != nullptr) {
      // doveadm keeps its setting roots unexpanded: every string still carries the settings
      // parser's prefix, SETTING_STRVAR_UNEXPANDED ('0') or _EXPANDED ('1'). These settings take
      // no %variables, so dropping the prefix is their value.
      fallback = *static_cast<const smtp_submit_settings*>(root->settings);
      for (const char** field : {&fallback.hostname, &fallback.submission_host, &fallback.sendmail_path,
                                 &fallback.submission_ssl}) {
        if (*field != nullptr && (**field == '0' || **field == '1')) {
          ++*field;
        }
      }
      return &fallback;
    }
  }
  fallback = smtp_submit_settings();
  fallback.hostname = my_hostname;
  fallback.submission_host = "";
  fallback.sendmail_path = "/usr/sbin/sendmail";
  fallback.submission_timeout = 30;
  fallback.submission_ssl = "no";
  return &fallback;
}

}  // namespace

Result<Submission> startSubmission(const char* fromLocalPart) {
  smtp_submit_settings fallback{};
  const smtp_submit_settings* set = submitSettings(fallback);
  Submission s;
  s.from = fromAddress(fromLocalPart, set);
  s.via = describeVia(set);
  ssl_iostream_settings* sslSet = p_new(pool_datastack_create(), ssl_iostream_settings, 1);
  doveadm_get_ssl_settings(sslSet, pool_datastack_create());
  smtp_submit_input input{};
  input.ssl = sslSet;
  input.allow_root = true;  // doveadm runs as root; sendmail may be run as root
  s.submit = smtp_submit_init_simple(&input, set, s.from);
  return s;
}
#endif

}  // namespace migrate::dovecot
