#pragma once
// The `doveadm migrate` command line, parsed and checked once before any user is processed, and
// merged with each user's settings. Dovecot-free (unit-testable); the doveadm glue is in
// cmd_migrate.cpp. Every error is a Config Status whose message names the option or the user.
//
// Precedence for one user: defaults < plugin { migrate_* } / userdb fields < command line.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/strings.h"
#include "engine/options.h"

namespace migrate::cmd {

struct CliOptions {
  std::optional<std::string> host;
  std::optional<uint16_t> port;
  std::optional<TlsMode> tlsMode;
  std::optional<std::string> user;
  std::optional<std::string> masterUser;
  std::optional<std::string> caFile;
  std::optional<std::string> caDir;
  bool insecure = false;  // only ever switches verification off; settings may do so too
  bool dryRun = false;
  bool noQuotaCheck = false;  // copy until the quota is full instead of refusing up front
  bool verbose = false;
  // From --source-password-file / --source-password-stdin. Never logged or printed.
  std::optional<std::string> password;
  // --source-oauth2-token-file (absolute) / --source-oauth2-token-command: instead of a password.
  // Read or run per user in run(), as the mail user; the command string is not a secret.
  std::optional<std::string> oauth2TokenFile;
  std::optional<std::string> oauth2TokenCommand;
  // --max-rate / --max-connections: process-wide per source host (net/limits.h); they override
  // migrate_max_rate / migrate_max_connections. 0 is unlimited.
  std::optional<uint64_t> maxRate;
  std::optional<uint32_t> maxConnections;
  // --rawlog DIR (absolute; must exist, and be writable by the mail user: the run is after the
  // privilege drop, so it is not created here) / --no-compress: override migrate_rawlog_dir /
  // migrate_compress.
  std::optional<std::string> rawlogDir;
  bool noCompress = false;
  // --sync-deletions: switches migrate_sync_deletions on (never off).
  bool syncDeletions = false;
  // --include / --exclude (comma-separated folder patterns), --max-size, --since / --before,
  // --preset: override migrate_include, migrate_exclude, migrate_max_size, migrate_since,
  // migrate_before and migrate_preset (docs/presets-and-filters.md).
  std::optional<std::vector<std::string>> include;
  std::optional<std::vector<std::string>> exclude;
  std::optional<uint64_t> maxSize;
  std::optional<int64_t> since;
  std::optional<int64_t> before;
  std::optional<std::string> sinceText;
  std::optional<std::string> beforeText;
  std::optional<std::string> preset;
  // --source-pop3 / --source-sieve: override migrate_source_pop3 / migrate_source_sieve.
  std::optional<ServiceChoice> pop3;
  std::optional<ServiceChoice> sieve;
};

// Checks and converts the filter and preset options given as text (by name, as on the command
// line: "--max-size" ...) into `cli`. Unset values are nullopt. Config errors name the option.
struct FilterArgs {
  std::optional<std::string> include, exclude, maxSize, since, before, preset;
};
Status parseFilterArgs(const FilterArgs& args, int64_t now, CliOptions& cli);

// "1".."65535". `option` names the option in the error ("--source-port").
Result<uint16_t> parsePort(const std::string& value, const std::string& option);

// Password files hold the password on the first line; one trailing newline (LF or CRLF) is
// stripped. Empty content, a second line, NUL bytes or more than kMaxPasswordBytes are errors.
inline constexpr size_t kMaxPasswordBytes = 4096;

// Reads --source-password-file: it must exist and be a regular file (a FIFO or directory is
// refused without blocking). `warning` is set when group or others may read the file.
Result<std::string> readPasswordFile(const std::string& path, std::string& warning);

// Reads everything from `fd` until EOF (--source-password-stdin). `what` names the source in errors.
Result<std::string> readPasswordFd(int fd, const std::string& what);

// Makes a path given on the command line absolute (against the current directory). Needed for
// paths used in run(): doveadm changes into the user's home before it. `option` names the option
// in errors; a path that does not exist is an error.
Result<std::string> commandLinePath(const std::string& path, const std::string& option);

// Applies the command line over `source`, which already holds the user's settings. A login
// method given on the command line (password or OAuth2 token) replaces the settings' one.
void applyCliOptions(const CliOptions& cli, SourceOptions& source);

// The options for one local user: `fromSettings` (loadSourceSettings() result) overridden by the
// command line; the remote login defaults to `localUser`; port/TLS defaults filled in. A missing
// host, or neither a password nor an OAuth2 token source, is a Config error naming the user and
// how to provide it.
Result<MigrationOptions> buildUserOptions(const CliOptions& cli, SourceOptions fromSettings,
                                          const std::string& localUser, bool verbose);

// wipeSecret(): common/strings.h.
using migrate::wipeSecret;

}  // namespace migrate::cmd
