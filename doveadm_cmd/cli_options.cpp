#include "cli_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "options/filter_values.h"
#include "options/option_values.h"

namespace migrate::cmd {

namespace {

Status configError(std::string message, std::string hint = {}) {
  return Status(ErrorKind::Config, std::move(message), std::move(hint));
}

// Strips one trailing LF or CRLF; rejects what cannot be a single password line.
Result<std::string> checkPasswordContent(std::string data, const std::string& what) {
  if (!data.empty() && data.back() == '\n') {
    data.pop_back();
    if (!data.empty() && data.back() == '\r') {
      data.pop_back();
    }
  }
  if (data.empty()) {
    return configError(what + " is empty", "put the source password on the first line");
  }
  if (data.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    wipeSecret(data);
    return configError(what + " holds more than one line or a NUL byte",
                       "it must hold only the password (one trailing newline is fine)");
  }
  return data;
}

Result<std::string> readAll(int fd, const std::string& what) {
  std::string data;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      wipeSecret(data);
      std::memset(buf, 0, sizeof(buf));
      return configError("cannot read " + what + ": " + std::strerror(err));
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxPasswordBytes + 2) {  // + CRLF
      wipeSecret(data);
      std::memset(buf, 0, sizeof(buf));
      return configError(what + " is larger than " + std::to_string(kMaxPasswordBytes) + " bytes",
                         "it must hold only the password");
    }
  }
  std::memset(buf, 0, sizeof(buf));
  return data;
}

}  // namespace

Result<uint16_t> parsePort(const std::string& value, const std::string& option) {
  const std::optional<uint16_t> port = options::parsePort(value);
  if (!port) {
    return configError(option + ": '" + value + "' is not a port number",
                       "give a number from 1 to 65535, e.g. 993 for imaps or 143 for starttls");
  }
  return *port;
}

Result<std::string> readPasswordFile(const std::string& path, std::string& warning) {
  const std::string what = "--source-password-file " + path;
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return configError(what + ": no such file",
                         "create it with the source password on one line and chmod 600 it");
    }
    return configError(what + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) < 0) {
    int err = errno;
    ::close(fd);
    return configError(what + ": fstat failed: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return configError(what + " is not a regular file",
                       "give a file holding the password, or use --source-password-stdin");
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    warning = what + " is readable by group or others (mode " + mode + "): chmod 600 it";
  }
  Result<std::string> data = readAll(fd, what);
  ::close(fd);
  if (!data.isOk()) {
    return data.status();
  }
  return checkPasswordContent(std::move(data).value(), what);
}

Result<std::string> readPasswordFd(int fd, const std::string& what) {
  MIGRATE_ASSIGN_OR_RETURN(std::string data, readAll(fd, what));
  return checkPasswordContent(std::move(data), what);
}

Result<std::string> commandLinePath(const std::string& path, const std::string& option) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) {
    int err = errno;
    return configError(option + " " + path + ": " + std::strerror(err));
  }
  if (path.front() == '/') {
    return path;
  }
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
    int err = errno;
    return configError(
        option + " " + path + ": cannot resolve the relative path: getcwd: " + std::strerror(err),
        "give an absolute path");
  }
  return std::string(cwd) + "/" + path;
}

Status parseFilterArgs(const FilterArgs& args, int64_t now, CliOptions& cli) {
  if (args.include) {
    MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> p, parseFolderPatterns(*args.include, "--include"));
    cli.include = p;
  }
  if (args.exclude) {
    MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> p, parseFolderPatterns(*args.exclude, "--exclude"));
    cli.exclude = p;
  }
  if (args.maxSize) {
    MIGRATE_ASSIGN_OR_RETURN(uint64_t size, parseMessageSize(*args.maxSize, "--max-size"));
    cli.maxSize = size;
  }
  if (args.since) {
    MIGRATE_ASSIGN_OR_RETURN(int64_t t, parseFilterDate(*args.since, "--since", now));
    cli.since = t;
    cli.sinceText = *args.since;
  }
  if (args.before) {
    MIGRATE_ASSIGN_OR_RETURN(int64_t t, parseFilterDate(*args.before, "--before", now));
    cli.before = t;
    cli.beforeText = *args.before;
  }
  if (cli.since && cli.before && *cli.since >= *cli.before) {
    return configError(
        "--since " + *args.since + " is not before --before " + *args.before + ": no message would be copied",
        "--since is inclusive, --before exclusive: give an earlier --since or a later --before");
  }
  if (args.preset) {
    const std::string& name = *args.preset;
    bool ok = !name.empty() && name.size() <= 64 &&
              name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
                  std::string::npos;
    if (!ok) {
      return configError("--preset: '" + name + "' is not a preset name",
                         "use generic, gmail, office365, exchange, or a preset defined in " +
                             options::presetSettingRef("<name>", "...") + " (letters, digits and '-')");
    }
    cli.preset = name;
  }
  return Status::ok();
}

void applyCliOptions(const CliOptions& cli, SourceOptions& source) {
  if (cli.host) {
    source.host = *cli.host;
  }
  if (cli.port) {
    source.port = *cli.port;
  }
  if (cli.tlsMode) {
    source.tlsMode = *cli.tlsMode;
    source.tlsModeSet = true;
  }
  if (cli.user) {
    source.user = *cli.user;
  }
  if (cli.masterUser) {
    source.masterUser = *cli.masterUser;
  }
  if (cli.caFile) {
    source.tls.caFile = *cli.caFile;
  }
  if (cli.caDir) {
    source.tls.caDir = *cli.caDir;
  }
  if (cli.insecure) {
    source.tls.verify = false;
  }
  if (cli.rawlogDir) {
    source.rawlogDir = *cli.rawlogDir;
  }
  if (cli.noCompress) {
    source.compress = false;
  }
  if (cli.syncDeletions) {
    source.syncDeletions = true;
  }
  if (cli.include) {
    source.filter.include = *cli.include;
  }
  if (cli.exclude) {
    source.filter.exclude = *cli.exclude;
  }
  if (cli.maxSize) {
    source.filter.maxSize = *cli.maxSize;
  }
  if (cli.since) {
    source.filter.since = *cli.since;
    source.filter.sinceText = cli.sinceText.value_or("");
  }
  if (cli.before) {
    source.filter.before = *cli.before;
    source.filter.beforeText = cli.beforeText.value_or("");
  }
  if (cli.preset) {
    source.presetName = *cli.preset;
  }
  if (cli.pop3) {
    source.pop3 = *cli.pop3;
  }
  if (cli.sieve) {
    source.sieve = *cli.sieve;
  }
  if (cli.password || cli.oauth2TokenFile || cli.oauth2TokenCommand) {
    wipeSecret(source.password);
    source.oauth2TokenFile.clear();
    source.oauth2TokenCommand.clear();
  }
  if (cli.password) {
    source.password = *cli.password;
  }
  if (cli.oauth2TokenFile) {
    source.oauth2TokenFile = *cli.oauth2TokenFile;
  }
  if (cli.oauth2TokenCommand) {
    source.oauth2TokenCommand = *cli.oauth2TokenCommand;
  }
}

Result<MigrationOptions> buildUserOptions(const CliOptions& cli, SourceOptions fromSettings,
                                          const std::string& localUser, bool verbose) {
  MigrationOptions options;
  options.source = std::move(fromSettings);
  applyCliOptions(cli, options.source);
  SourceOptions& source = options.source;
  if (source.user.empty()) {
    source.user = localUser;
  }
  // The preset's host, port and TLS mode fill in what neither the settings nor the command line set.
  if (Result<Preset> preset = applyPreset(source); !preset.isOk()) {
    wipeSecret(source.password);
    return preset.status().withPrefix(localUser);
  }
  if (source.filter.since != 0 && source.filter.before != 0 && source.filter.since >= source.filter.before) {
    wipeSecret(source.password);
    return configError("for " + localUser + ": the since date " + formatDate(source.filter.since) +
                           " is not before the before date " + formatDate(source.filter.before) +
                           ": no message would be copied",
                       "check --since/--before and migrate_since/migrate_before (since is inclusive, "
                       "before exclusive)");
  }
  if (source.host.empty()) {
    wipeSecret(source.password);
    return configError("no source host for " + localUser,
                       "give --source-host or set " + options::settingRef("migrate_source_host"));
  }
  if (source.password.empty() && source.oauth2TokenFile.empty() && source.oauth2TokenCommand.empty()) {
    return configError(
        "no source password for " + localUser,
        "give --source-password-file, --source-password-stdin, --source-oauth2-token-file or "
        "--source-oauth2-token-command, or set " +
            options::settingRef("migrate_source_password") +
            " or the userdb field migrate_source_password (or migrate_source_oauth2_token_file / _command)");
  }
  source.applyDefaults();
  options.localUser = localUser;
  options.dryRun = cli.dryRun;
  options.quotaPrecheck = !cli.noQuotaCheck;
  options.verbose = verbose || cli.verbose;
  return options;
}

}  // namespace migrate::cmd
