// The `doveadm migrate` parameter table and command-line parsing (see migrate_params.h).

#include <unistd.h>

#include <ctime>
#include <optional>
#include <string>
#include <utility>

#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/migrate_settings.h"
#include "migrate_params.h"
#include "options/option_values.h"
#include "options/service_choice.h"

namespace migrate::cmd {
namespace {

bool paramStr(doveadm_mail_cmd_context* ctx, const char* name, std::optional<std::string>& out) {
  const char* value = nullptr;
  if (!doveadm_cmd_param_str(ctx->cctx, name, &value) || value == nullptr) {
    return false;
  }
  out = value;
  return true;
}

bool paramBool(doveadm_mail_cmd_context* ctx, const char* name) {
  bool value = false;
  return doveadm_cmd_param_bool(ctx->cctx, name, &value) && value;
}

}  // namespace

Status parseCommandLine(doveadm_mail_cmd_context* ctx, CliOptions& cli) {
  const std::pair<const char*, std::optional<std::string>*> strings[] = {
      {"source-host", &cli.host},
      {"source-user", &cli.user},
      {"source-master-user", &cli.masterUser},
      {"ca-file", &cli.caFile},
      {"ca-dir", &cli.caDir},
      {"source-oauth2-token-file", &cli.oauth2TokenFile},
      {"source-oauth2-token-command", &cli.oauth2TokenCommand},
      {"rawlog", &cli.rawlogDir},
  };
  for (const auto& [name, field] : strings) {
    if (paramStr(ctx, name, *field) && field->value().empty()) {
      return Status(ErrorKind::Config, std::string("--") + name + " is empty");
    }
  }
  // run() works in the user's home directory (doveadm chdirs there): make these paths absolute now.
  for (const auto& [name, field] : {std::pair{"--ca-file", &cli.caFile}, std::pair{"--ca-dir", &cli.caDir},
                                    std::pair{"--source-oauth2-token-file", &cli.oauth2TokenFile},
                                    std::pair{"--rawlog", &cli.rawlogDir}}) {
    if (*field) {
      MIGRATE_ASSIGN_OR_RETURN(std::string path, commandLinePath(**field, name));
      *field = std::move(path);
    }
  }
  std::optional<std::string> value;
  if (paramStr(ctx, "source-port", value)) {
    Result<uint16_t> port = parsePort(*value, "--source-port");
    if (!port.isOk()) {
      return port.status();
    }
    cli.port = port.value();
  }
  value.reset();
  if (paramStr(ctx, "source-tls", value)) {
    Result<TlsMode> mode =
        value->empty()
            ? Result<TlsMode>(Status(ErrorKind::Config, "empty TLS mode", "use imaps, starttls or none"))
            : parseTlsMode(*value);
    if (!mode.isOk()) {
      return mode.status().withPrefix("--source-tls");
    }
    cli.tlsMode = mode.value();
  }
  cli.insecure = paramBool(ctx, "insecure");
  cli.dryRun = paramBool(ctx, "dry-run");
  cli.noQuotaCheck = paramBool(ctx, "no-quota-check");
  cli.verbose = paramBool(ctx, "verbose");
  cli.noCompress = paramBool(ctx, "no-compress");
  for (const auto& [name, field] :
       {std::pair{"source-pop3", &cli.pop3}, std::pair{"source-sieve", &cli.sieve}}) {
    value.reset();
    if (paramStr(ctx, name, value)) {
      MIGRATE_ASSIGN_OR_RETURN(ServiceChoice choice, parseServiceChoice(*value, std::string("--") + name));
      *field = choice;
    }
  }
  cli.syncDeletions = paramBool(ctx, "sync-deletions");
  value.reset();
  if (paramStr(ctx, "max-rate", value)) {
    Result<uint64_t> rate = options::parseByteRate(*value);
    if (!rate.isOk()) {
      return rate.status().withPrefix("--max-rate");
    }
    cli.maxRate = rate.value();
  }
  value.reset();
  if (paramStr(ctx, "max-connections", value)) {
    Result<uint32_t> count = options::parseConnectionCount(*value);
    if (!count.isOk()) {
      return count.status().withPrefix("--max-connections");
    }
    cli.maxConnections = count.value();
  }

  FilterArgs filterArgs;
  paramStr(ctx, "include", filterArgs.include);
  paramStr(ctx, "exclude", filterArgs.exclude);
  paramStr(ctx, "max-size", filterArgs.maxSize);
  paramStr(ctx, "since", filterArgs.since);
  paramStr(ctx, "before", filterArgs.before);
  paramStr(ctx, "preset", filterArgs.preset);
  MIGRATE_RETURN_IF_ERROR(parseFilterArgs(filterArgs, static_cast<int64_t>(std::time(nullptr)), cli));

  value.reset();
  bool haveFile = paramStr(ctx, "source-password-file", value);
  bool fromStdin = paramBool(ctx, "source-password-stdin");
  if (haveFile && fromStdin) {
    return Status(ErrorKind::Config, "--source-password-file and --source-password-stdin both given",
                  "give only one of them");
  }
  if (cli.oauth2TokenFile && cli.oauth2TokenCommand) {
    return Status(ErrorKind::Config,
                  "--source-oauth2-token-file and --source-oauth2-token-command both given",
                  "give only one of them");
  }
  if ((cli.oauth2TokenFile || cli.oauth2TokenCommand) && (haveFile || fromStdin)) {
    return Status(
        ErrorKind::Config,
        std::string(cli.oauth2TokenFile ? "--source-oauth2-token-file" : "--source-oauth2-token-command") +
            " and " + (haveFile ? "--source-password-file" : "--source-password-stdin") + " both given",
        "log in either with a password or with an OAuth2 access token");
  }
  if (haveFile) {
    std::string warning;
    Result<std::string> password = readPasswordFile(*value, warning);
    if (!password.isOk()) {
      return password.status();
    }
    if (!warning.empty()) {
      i_warning("migrate: %s", warning.c_str());
    }
    cli.password = std::move(password).value();
  } else if (fromStdin) {
    if (ctx->cctx->conn_type != DOVEADM_CONNECTION_TYPE_CLI) {
      // doveadm-server (HTTP API, doveadm -S / worker) has no stdin from the caller.
      return Status(ErrorKind::Config, "--source-password-stdin works only on the doveadm command line",
                    "over the doveadm server or HTTP API use --source-password-file or " +
                        options::settingRef("migrate_source_password"));
    }
    Result<std::string> password = readPasswordFd(STDIN_FILENO, "the password on stdin");
    if (!password.isOk()) {
      return password.status();
    }
    cli.password = std::move(password).value();
  }
  return Status::ok();
}

// Every named option has a short letter: doveadm 2.3.19's mail-command wrapper rejects a named
// parameter without one ("invalid parameter: source-host", exit 64), on the CLI and the HTTP API.
// Values are strings, not INT64 (doveadm silently drops an INT64 value that does not parse), and
// lists comma-separated (the 2.3 mail-command wrapper cannot pass a CMD_PARAM_ARRAY with a short
// letter, and a repeated string option keeps only its last value).
void appendMigrateOptionParams(std::vector<doveadm_cmd_param>& params) {
  for (const options::Option& o : options::settings()) {
    if (o.cliName != nullptr) {
      params.push_back(dovecot::makeParam(o.letter, o.cliName,
                                          o.kind == options::Kind::YESNO ? CMD_PARAM_BOOL : CMD_PARAM_STR));
    }
  }
  for (const options::Option& o : options::cliOnlyOptions()) {
    params.push_back(dovecot::makeParam(o.letter, o.cliName,
                                        o.kind == options::Kind::FLAG ? CMD_PARAM_BOOL : CMD_PARAM_STR));
  }
}

const doveadm_cmd_param* migrateParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    appendMigrateOptionParams(params);
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

Result<MigrationOptions> userRunOptions(const CliOptions& cli, struct mail_user* user, bool verbose) {
  SourceOptions fromSettings;
  MigrationOptions limits;  // migrate_max_rate / migrate_max_connections
  Status settings = dovecot::loadUserSettings(user, fromSettings, limits);
  if (!settings.isOk()) {
    wipeSecret(fromSettings.password);
    return settings;
  }
  MIGRATE_ASSIGN_OR_RETURN(MigrationOptions options,
                           buildUserOptions(cli, std::move(fromSettings), user->username, verbose));
  // doveadm turns SIGINT/SIGTERM into a flag; the engine stops after the current message,
  // commits what it saved and keeps its state, so the next run continues.
  options.cancelled = [] { return doveadm_is_killed(); };
  // Process-wide per source host: the first user's non-zero value holds for the run.
  options.maxBytesPerSecond = cli.maxRate.value_or(limits.maxBytesPerSecond);
  options.maxConnectionsPerHost = cli.maxConnections.value_or(limits.maxConnectionsPerHost);
  return options;
}

const char kMigrateUsage[] =
    "[-u <user>|-A|-F <user file>] [-S <socket_path>] [-H <source host>] [-P <port>] "
    "[-T imaps|starttls|none] [-U <source user>] [-M <master user>] "
    "[-w <password file>|-W|-O <token file>|-X <token command>] [-C <CA file>] [-d <CA dir>] [-k] [-n] [-Q] "
    "[-v] [-R <bytes per second>] [-N <connections per host>] [-L <rawlog dir>] [-Z] "
    "[-p generic|gmail|office365|exchange|<preset>] [-i <folders>] [-e <folders>] [-z <max size>] "
    "[-s <since date>] [-b <before date>] [-o auto|no|<POP3 host[:port]>] [-E auto|no|<ManageSieve "
    "host[:port]>]";

bool isMigrateOptionLetter(int c) noexcept {
  // The values are read by name in parseCommandLine(); doveadm only needs to hear that the letter
  // is ours. -A -S -u -F are doveadm's own (the mail-command wrapper handles them).
  if (c == 'A' || c == 'S' || c == 'u' || c == 'F' || c == '\0') {
    return false;
  }
  for (const doveadm_cmd_param* p = migrateParams(); p->name != nullptr; ++p) {
    if (p->short_opt == c) {
      return true;
    }
  }
  return false;
}

}  // namespace migrate::cmd
