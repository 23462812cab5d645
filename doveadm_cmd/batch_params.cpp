#include "batch_params.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "batch/batch_values.h"
#include "batch/child_run.h"
#include "batch/scheduler.h"
#include "cli_options.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/migrate_settings.h"
#include "migrate_params.h"

namespace migrate::cmd::bulk {
namespace {

// The options no bulk command accepts: the user selection is the file's or check's own, and
// the login of batch lines is the line's password.
bool excludedFromBatch(const char* name) {
  static const char* const kNames[] = {"all-users",
                                       "socket-path",
                                       "user",
                                       "trans-flags",
                                       "user-file",
                                       "source-password-file",
                                       "source-password-stdin",
                                       "source-oauth2-token-file",
                                       "source-oauth2-token-command"};
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [name](const char* n) { return std::strcmp(n, name) == 0; });
}

bool excludedFromCheck(const char* name) {
  return std::strcmp(name, "socket-path") == 0 || std::strcmp(name, "trans-flags") == 0 ||
         std::strcmp(name, "user") == 0 || std::strcmp(name, "all-users") == 0 ||
         std::strcmp(name, "user-file") == 0;
}

// Options whose value is a path: children run in our working directory, but report.json and
// the logs should name them unambiguously.
bool isPathOption(const std::string& name) {
  return name == "ca-file" || name == "ca-dir" || name == "rawlog" || name == "source-password-file" ||
         name == "source-oauth2-token-file";
}

// The admin preset `name` as dovecot.conf defines it (with the batch's own -o overrides), for
// its per-host cap. Per-user userdb fields may change a preset for one child; the batch, which
// holds the cap across children, reads the global one. Unreadable settings: no admin preset (each
// child then reports the settings error for its mailbox).
PresetDefinitions adminPreset(doveadm_cmd_context* cctx, const std::string& name) {
  PresetDefinitions defs;
  Result<std::unique_ptr<dovecot::MigrateSettings>> settings =
      dovecot::doveadmSettings(dovecot::commandSettingsEvent(cctx));
  if (settings.isOk()) {
    (void)settings.value()->adminPreset(name, defs);
  }
  return defs;
}

// The migrate options, checked once with the parser of `doveadm migrate`; what the runner itself
// needs of them (dry run, verbose, the per-host cap, the default host) goes into `opts`.
int readMigrateOptions(doveadm_cmd_context* cctx, Options& opts, std::string& password) {
  if (cctx->conn_type != DOVEADM_CONNECTION_TYPE_CLI && !opts.serverAllowed) {
    i_error(
        "migrate %s runs over the doveadm server or HTTP API only as a check or in the background "
        "(--check / --background, HTTP \"check\": true / \"background\": true): a batch run does not fit one "
        "request; or run it on the doveadm command line",
        opts.command.c_str());
    return EX_USAGE;
  }
  // The parser reads them by name through ctx->cctx only.
  doveadm_mail_cmd_context fake{};
  fake.cctx = cctx;
  CliOptions cli;
  Status status = parseCommandLine(&fake, cli);
  if (!status.isOk()) {
    i_error("migrate %s: %s", opts.command.c_str(), status.describe().c_str());
    return EX_USAGE;
  }
  if (cli.password) {
    password = *cli.password;
    wipeSecret(*cli.password);
  }
  opts.dryRun = opts.dryRun || cli.dryRun;
  opts.verbose = cli.verbose || doveadm_verbose;
  opts.maxPerHost = batch::perHostCap(cli.maxConnections, cli.preset,
                                      cli.preset ? adminPreset(cctx, *cli.preset) : PresetDefinitions{});
  opts.defaultHost = cli.host.value_or("");
  return 0;
}

}  // namespace

std::vector<batch::PassThrough> passedThroughOptions(const doveadm_cmd_context* cctx) {
  std::vector<batch::PassThrough> passed;
  for (int i = 0; i < cctx->argc; ++i) {
    const doveadm_cmd_param& p = cctx->argv[i];
    if (p.name == nullptr || !p.value_set || !batch::passedThrough(p.name)) {
      continue;
    }
    bool migrateOption = false;
    for (const doveadm_cmd_param* m = migrateParams(); m->name != nullptr; ++m) {
      migrateOption = migrateOption || std::strcmp(m->name, p.name) == 0;
    }
    if (!migrateOption) {
      continue;
    }
    batch::PassThrough pt;
    pt.name = p.name;
    if (p.type == CMD_PARAM_BOOL) {
      if (!p.value.v_bool) {
        continue;
      }
      pt.flag = true;
    } else if (p.type == CMD_PARAM_STR && p.value.v_string != nullptr) {
      pt.value = isPathOption(pt.name) ? absolutePath(p.value.v_string) : p.value.v_string;
    } else {
      continue;
    }
    if (pt.name == "dry-run") {
      continue;  // the runner adds it for check
    }
    passed.push_back(pt);
  }
  return passed;
}

namespace {

// -j, -r, --notify and --repeat-until-idle, added to what report.json lists.
int readRunOptions(doveadm_cmd_context* cctx, Options& opts) {
  const char* value = nullptr;
  if (doveadm_cmd_param_str(cctx, "jobs", &value) && value != nullptr) {
    Result<unsigned> jobs = batch::parseJobs(value);
    if (!jobs.isOk()) {
      i_error("migrate %s: %s", opts.command.c_str(), jobs.status().describe().c_str());
      return EX_USAGE;
    }
    opts.jobs = jobs.value();
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "report-dir", &value) && value != nullptr) {
    if (*value == '\0') {
      i_error("migrate %s: --report-dir is empty", opts.command.c_str());
      return EX_USAGE;
    }
    opts.reportDir = absolutePath(value);
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "notify", &value) && value != nullptr) {
    if (std::strchr(value, '@') == nullptr) {
      i_error(
          "migrate %s: --notify \"%s\" is not a mail address (give the admin's address, e.g. "
          "--notify postmaster@example.org)",
          opts.command.c_str(), value);
      return EX_USAGE;
    }
    opts.notify = value;
  }
  value = nullptr;
  if (doveadm_cmd_param_str(cctx, "repeat-until-idle", &value) && value != nullptr) {
    Result<batch::RepeatUntilIdle> r = batch::parseRepeatUntilIdle(value);
    if (!r.isOk()) {
      i_error("migrate %s: %s", opts.command.c_str(), r.status().describe().c_str());
      return EX_USAGE;
    }
    opts.repeat = true;
    opts.repeatUntilIdle = r.value();
  }
  opts.reportOptions.push_back({"jobs", std::to_string(opts.jobs), false});
  if (!opts.notify.empty()) {
    opts.reportOptions.push_back({"notify", opts.notify, false});
  }
  if (opts.repeat) {
    opts.reportOptions.push_back({"repeat-until-idle", value, false});
  }
  return 0;
}

}  // namespace

std::string absolutePath(const std::string& path) {
  if (path.empty() || path[0] == '/') {
    return path;
  }
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) {
    return path;
  }
  return std::string(cwd) + "/" + path;
}

const doveadm_cmd_param* buildParams(std::initializer_list<doveadm_cmd_param> own,
                                     bool withUserSelection) noexcept {
  std::vector<doveadm_cmd_param> params;
  try {
    std::vector<doveadm_cmd_param> migrate;
    appendMigrateOptionParams(migrate);
    for (const doveadm_cmd_param& p : migrate) {
      const bool excluded = withUserSelection ? excludedFromCheck(p.name) : excludedFromBatch(p.name);
      if (!excluded) {
        params.push_back(p);
      }
    }
    params.insert(params.end(), own.begin(), own.end());
  } catch (...) {
    params.clear();
  }
  return dovecot::paramTable(std::move(params));
}

int readCommonOptions(doveadm_cmd_context* cctx, Options& opts, std::string& password) {
  if (int code = readMigrateOptions(cctx, opts, password); code != 0) {
    return code;
  }
  opts.passThrough = passedThroughOptions(cctx);
  opts.reportOptions = opts.passThrough;
  return readRunOptions(cctx, opts);
}

}  // namespace migrate::cmd::bulk
