// `doveadm migrate check [-u USER|-A|-F USERFILE] [-j N] [-r DIR] [migrate options]`: a dry run
// of each selected user's migration (connect, TLS, login, folder list, counts and sizes, quota,
// source-is-self), in parallel, one line per mailbox and a summary; non-zero exit when any fails.
// The users' settings (host, password ...) come from the userdb / plugin settings, or from the
// options, exactly as for `doveadm migrate`. See cmd_batch.h; `migrate batch --check FILE` checks
// a batch file the same way.

#include <sysexits.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "batch_file.h"
#include "batch_params.h"
#include "batch_passes.h"
#include "cli_options.h"
#include "cmd_batch.h"
#include "common/textfile.h"
#include "doveadm_binary.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/userdb_users.h"
#include "exit_codes.h"

namespace migrate::cmd::bulk {
namespace {

bool hasWildcard(const std::string& s) {
  return s.find_first_of("*?") != std::string::npos;
}

// doveadm's -F format: one user a line; anything after a tab (doveadm allows a remote IP there)
// is ignored, as are blank lines.
int readUserFile(const std::string& path, std::vector<std::string>& users) {
  Result<std::optional<std::string>> content = textfile::readFile(path, 64u << 20);
  if (!content.isOk() || !content.value()) {
    i_error("migrate check: cannot read the user file %s: %s", path.c_str(),
            content.isOk() ? "no such file" : content.status().describe().c_str());
    return EX_NOINPUT;
  }
  const std::string& text = *content.value();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    line = line.substr(0, line.find('\t'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    if (!line.empty()) {
      users.push_back(line);
    }
    start = end + 1;
  }
  return 0;
}

int checkCommand(doveadm_cmd_context* cctx) {
  Options opts;
  opts.command = "check";
  opts.dryRun = true;
  // doveadm initializes the formatter before the command only for -f.
  opts.formatterChosen = doveadm_print_is_initialized();
  opts.overServer = cctx->conn_type != DOVEADM_CONNECTION_TYPE_CLI;
  // A check answers within the request: over the doveadm server and HTTP API too.
  opts.serverAllowed = true;
  const DoveadmBinary bin = doveadmBinary(cctx);
  opts.executable = bin.executable;
  opts.configPath = bin.configPath;
  std::string password;
  if (int code = readCommonOptions(cctx, opts, password); code != 0) {
    return code;
  }
  std::string text;
  const int input = readInputParam(cctx, text);
  if (input < 0) {
    wipeSecret(password);
    return -input;
  }
  if (input == 1) {
    // The batch text (HTTP migrateCheck with "input"): as `migrate batch --check`.
    const char* unused = nullptr;
    bool all = false;
    if (!password.empty() || (doveadm_cmd_param_str(cctx, "user", &unused) && unused != nullptr) ||
        (doveadm_cmd_param_str(cctx, "user-file", &unused) && unused != nullptr) ||
        (doveadm_cmd_param_bool(cctx, "all-users", &all) && all)) {
      wipeSecret(password);
      wipeSecret(text);
      i_error(
          "migrate check: --input is a batch (each line has its user and password): without -u, -A, -F, -w "
          "or -W");
      return EX_USAGE;
    }
    std::optional<batch::Format> forced;
    const char* formatName = nullptr;
    if (doveadm_cmd_param_str(cctx, "format", &formatName) && formatName != nullptr) {
      Result<batch::Format> f = batch::parseFormatName(formatName);
      if (!f.isOk()) {
        wipeSecret(text);
        i_error("migrate check: --format: %s", f.status().describe().c_str());
        return EX_USAGE;
      }
      forced = f.value();
    }
    opts.command = "batch --check";
    return checkBatchInput(opts, forced, text);
  }
  const char* user = nullptr;
  const char* userFile = nullptr;
  bool all = false;
  const bool haveUser = doveadm_cmd_param_str(cctx, "user", &user) && user != nullptr;
  const bool haveFile = doveadm_cmd_param_str(cctx, "user-file", &userFile) && userFile != nullptr;
  const bool haveAll = doveadm_cmd_param_bool(cctx, "all-users", &all) && all;
  if (static_cast<int>(haveUser) + static_cast<int>(haveFile) + static_cast<int>(haveAll) != 1) {
    wipeSecret(password);
    i_error("migrate check: give exactly one of -u USER, -A or -F USERFILE");
    return EX_USAGE;
  }

  std::vector<std::string> users;
  bool listed = false;  // users from the userdb's own iteration: they exist
  if (haveAll || (haveUser && hasWildcard(user))) {
    Status s = dovecot::listUsers(haveAll ? "" : user, users);
    if (!s.isOk()) {
      wipeSecret(password);
      i_error("migrate check: %s", s.describe().c_str());
      return EX_TEMPFAIL;
    }
    if (haveUser) {
      // The userdb MAY filter by the mask; doveadm matches it again itself.
      std::vector<std::string> matching;
      for (const std::string& u : users) {
        if (wildcard_match_icase(u.c_str(), user)) {
          matching.push_back(u);
        }
      }
      users.swap(matching);
    }
    listed = true;
  } else if (haveUser) {
    users.emplace_back(user);
  } else if (int code = readUserFile(userFile, users); code != 0) {
    wipeSecret(password);
    return code;
  }
  if (users.empty()) {
    wipeSecret(password);
    i_error("migrate check: no user matches %s", haveUser ? user : haveAll ? "-A" : userFile);
    return EX_NOUSER;
  }

  std::vector<size_t> missing;
  if (!listed) {
    Status s = dovecot::findMissingUsers(users, missing);
    if (!s.isOk()) {
      wipeSecret(password);
      i_error("migrate check: %s", s.describe().c_str());
      return EX_TEMPFAIL;
    }
  }
  std::vector<Mailbox> boxes;
  for (size_t i = 0; i < users.size(); ++i) {
    Mailbox b;
    b.result.user = users[i];
    b.result.source = opts.defaultHost;
    b.target.user = users[i];
    if (std::find(missing.begin(), missing.end(), i) != missing.end()) {
      b.preFailed = true;
      b.result.started = true;
      b.result.finished = true;
      b.result.result = "failed";
      b.result.reason = "user not found in userdb (check the name, or create the user first)";
      b.result.exitCode = EX_NOUSER;
      std::fprintf(opts.formatterChosen ? stderr : stdout, "%s\n", batch::checkLine(b.result).c_str());
    } else if (!password.empty()) {
      b.target.passwordStdin = true;
      b.password = password;
    }
    boxes.push_back(std::move(b));
  }
  wipeSecret(password);
  const int code = run(opts, boxes);
  for (Mailbox& b : boxes) {
    wipeSecret(b.password);
  }
  // Over the HTTP API an exit code would drop the rows: they say what failed.
  return opts.overServer ? 0 : code;
}

void cmdCheck(doveadm_cmd_context* cctx) noexcept {
  try {
    doveadm_exit_code = checkCommand(cctx);
  } catch (const std::exception& e) {
    i_error("migrate check: internal error: %s", e.what());
    doveadm_exit_code = EX_SOFTWARE;
  } catch (...) {
    i_error("migrate check: internal error");
    doveadm_exit_code = EX_SOFTWARE;
  }
}

const doveadm_cmd_param* checkParams() noexcept {
  static const doveadm_cmd_param* table = buildParams(
      {
          dovecot::makeParam('u', "user", CMD_PARAM_STR),
          dovecot::makeParam('A', "all-users", CMD_PARAM_BOOL),
          // A path, not doveadm's ISTREAM: the file is read here, once.
          dovecot::makeParam('F', "user-file", CMD_PARAM_STR),
          dovecot::makeParam('j', "jobs", CMD_PARAM_STR),
          dovecot::makeParam('r', "report-dir", CMD_PARAM_STR),
          dovecot::makeParam('\0', "notify", CMD_PARAM_STR),
          // A batch's text instead of users (HTTP migrateCheck: a JSON string; command line: a
          // file, or - for stdin), checked as `migrate batch --check` checks a batch file.
          dovecot::makeParam('\0', "input", CMD_PARAM_ISTREAM),
          dovecot::makeParam('\0', "format", CMD_PARAM_STR),
      },
      true);
  return table;
}

}  // namespace
}  // namespace migrate::cmd::bulk

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_check_ver2 = {
    migrate::cmd::bulk::cmdCheck,
    nullptr,
    "migrate check",
    "[-u <user>|-A|-F <user file>|--input <batch file>|- [--format pairs|csv|semicolon]] [-j <jobs>] [-r "
    "<report dir>] [--notify <address>] [-H <source host>] "
    "[-P <port>] [-T imaps|starttls|none] [-w <password file>|-W] [migrate options]",
    CMD_FLAG_NONE,
    migrate::cmd::bulk::checkParams(),
};
}
