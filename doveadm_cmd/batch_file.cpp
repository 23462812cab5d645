#include "batch_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "cli_options.h"
#include "common/textfile.h"
#include "dovecot_adapter/userdb_users.h"

namespace migrate::cmd::bulk {
namespace {

// A regular file; readable by others only with a warning (it holds passwords).
int checkFile(const std::string& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) < 0) {
    i_error("migrate batch: cannot read %s: %s", file.c_str(), std::strerror(errno));
    return EX_NOINPUT;
  }
  if (!S_ISREG(st.st_mode)) {
    i_error("migrate batch: cannot read %s: not a regular file", file.c_str());
    return EX_NOINPUT;
  }
  if ((st.st_mode & 077) != 0) {
    i_warning("migrate batch: %s holds passwords but can be read by %s (mode %04o): chmod 600 %s",
              file.c_str(), (st.st_mode & 007) != 0 ? "everyone" : "its group",
              static_cast<unsigned>(st.st_mode & 07777), file.c_str());
  }
  return 0;
}

// Reads and parses opts.file (its content wiped after parsing) and prints the parser's problems.
// Returns the exit code to stop with, or 0 when `parsed` has mailboxes to run.
int parseFile(Options& opts, const std::optional<batch::Format>& forced, batch::ParseResult& parsed) {
  if (int code = checkFile(opts.file); code != 0) {
    return code;
  }
  Result<std::optional<std::string>> content = textfile::readFile(opts.file, 256u << 20);
  if (!content.isOk() || !content.value()) {
    i_error("migrate batch: cannot read %s: %s", opts.file.c_str(),
            content.isOk() ? "it disappeared" : content.status().describe().c_str());
    return EX_NOINPUT;
  }
  parsed = batch::parse(*content.value(), forced);
  wipeSecret(*content.value());
  opts.format = batch::formatName(parsed.format);
  size_t fatal = 0;
  for (const batch::Problem& p : parsed.problems) {
    std::fprintf(stderr, "%s%s\n", p.fatal ? "" : "warning: ", p.message.c_str());
    fatal += p.fatal ? 1 : 0;
  }
  if (!parsed.ok()) {
    if (fatal == 0) {
      i_error("migrate batch: %s has no mailbox lines (format %s); nothing to do", opts.file.c_str(),
              opts.format.c_str());
    } else {
      i_error("migrate batch: %s: %zu error%s; nothing was run (fix the lines above and run again)",
              opts.file.c_str(), fatal, fatal == 1 ? "" : "s");
    }
    return EX_DATAERR;
  }
  return 0;
}

// Every target user must exist before anything runs. Returns the exit code to stop with, or 0.
int checkUsersExist(const std::vector<batch::Entry>& entries) {
  std::vector<std::string> users;
  users.reserve(entries.size());
  for (const batch::Entry& e : entries) {
    users.push_back(e.localUser);
  }
  std::vector<size_t> missing;
  Status looked = dovecot::findMissingUsers(users, missing);
  if (!looked.isOk()) {
    i_error("migrate batch: %s", looked.describe().c_str());
    return EX_TEMPFAIL;
  }
  if (!missing.empty()) {
    for (size_t i : missing) {
      std::fprintf(stderr, "line %u: user %s not found in userdb\n", entries[i].line,
                   entries[i].localUser.c_str());
    }
    i_error(
        "migrate batch: %zu target user%s not found in the userdb; nothing was run (create the users "
        "first, or fix target_user)",
        missing.size(), missing.size() == 1 ? "" : "s");
    return EX_NOUSER;
  }
  return 0;
}

Mailbox toMailbox(const batch::Entry& e, const Options& opts) {
  Mailbox b;
  b.result.line = e.line;
  b.result.user = e.localUser;
  const std::string host = e.host.empty() ? opts.defaultHost : e.host;
  b.result.source = host.empty() ? "" : e.port ? host + ":" + std::to_string(*e.port) : host;
  b.result.remoteUser = e.remoteUser;
  b.target.user = e.localUser;
  b.target.host = e.host;
  b.target.port = e.port;
  b.target.tlsMode = e.tlsMode;
  b.target.remoteUser = e.remoteUser;
  b.target.passwordStdin = true;
  b.password = e.password;
  return b;
}

}  // namespace

int readBatchFile(Options& opts, const std::optional<batch::Format>& forced, std::vector<Mailbox>& boxes) {
  batch::ParseResult parsed;
  if (int code = parseFile(opts, forced, parsed); code != 0) {
    return code;
  }
  if (int code = checkUsersExist(parsed.entries); code != 0) {
    batch::wipePasswords(parsed.entries);
    return code;
  }
  // A target_password column the parser ignored was already reported as a warning.
  for (const batch::Entry& e : parsed.entries) {
    boxes.push_back(toMailbox(e, opts));
  }
  batch::wipePasswords(parsed.entries);
  return 0;
}

}  // namespace migrate::cmd::bulk
