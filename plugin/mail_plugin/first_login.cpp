#include "first_login.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/migrate_settings.h"
#include "dovecot_adapter/state_location.h"
#include "dovecot_adapter/storage_compat.h"
#include "engine/options.h"
#include "engine/run_status.h"
#include "options/option_values.h"

namespace migrate::login {
namespace {

constexpr const char* kDefaultProtocols = "imap pop3";
constexpr unsigned kDefaultMaxFailures = 3;
using dovecot::FdGuard;
using dovecot::kBackgroundLogFile;

// The setting's value, or nullptr when unset or empty (or when Dovecot refuses the user's
// settings: that is logged, and the login goes on without a migration).
const char* setting(mail_user* user, const char* name) {
  Result<std::unique_ptr<dovecot::MigrateSettings>> settings = dovecot::MigrateSettings::forUser(user);
  if (!settings.isOk()) {
    i_error("migrate: %s", settings.status().describe().c_str());
    return nullptr;
  }
  const char* v = settings.value()->get(name);
  // The value lives in the user's pool (2.3) or the settings struct (2.4): copy it to the data
  // stack before the settings are released.
  return v != nullptr ? t_strdup(v) : nullptr;
}

bool isYes(const char* v) {
  return v != nullptr && options::parseYesNo(v).value_or(false);
}

bool serviceEnabled(mail_user* user) {
  if (user->service == nullptr) {
    return false;
  }
  const char* list = setting(user, "migrate_on_login_protocols");
  std::string protocols = list != nullptr ? list : kDefaultProtocols;
  const std::string service = user->service;
  size_t pos = 0;
  while (pos < protocols.size()) {
    size_t end = protocols.find_first_of(" ,\t", pos);
    if (end == std::string::npos) {
      end = protocols.size();
    }
    if (protocols.compare(pos, end - pos, service) == 0 && end > pos) {
      return true;
    }
    pos = end + 1;
  }
  return false;
}

// A login with a master user's password (user*master): its %w is the master's password at this
// server, not the user's at the old one. Dovecot puts master_user into the userdb reply.
const char* masterLogin(mail_user* user) {
  if (user->userdb_fields == nullptr) {
    return nullptr;
  }
  for (const char* const* f = user->userdb_fields; *f != nullptr; ++f) {
    if (std::strncmp(*f, "master_user=", 12) == 0 && (*f)[12] != '\0') {
      return *f + 12;
    }
  }
  return nullptr;
}

unsigned maxFailures(mail_user* user) {
  const char* v = setting(user, "migrate_on_login_max_failures");
  if (v == nullptr) {
    return kDefaultMaxFailures;
  }
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n > 1000000) {
    i_error("migrate: invalid migrate_on_login_max_failures '%s': using %u (give a number; 0 = no limit)", v,
            kDefaultMaxFailures);
    return kDefaultMaxFailures;
  }
  return static_cast<unsigned>(n);
}

enum class Decision { Start, Done, Running, GaveUp, Unreadable };

struct StatusCheck {
  Decision decision = Decision::Start;
  std::optional<RunStatus> status;
  std::string error;  // Unreadable: why
};

bool sameHost(const std::string& host) {
  char name[256] = {};
  return host.empty() || (::gethostname(name, sizeof(name) - 1) == 0 && host == name);
}

// runStatusAlive() checks that the pid exists. On this host, also that it is not a zombie (a run
// killed with -9 stays one until init reaps it) and is still doveadm (not a reused pid), so that
// the next login resumes the migration. When /proc cannot tell (hidepid), believe kill().
bool runAlive(const RunStatus& s) {
  if (!runStatusAlive(s)) {
    return false;
  }
  if (!sameHost(s.host)) {
    return true;
  }
  const std::string path = "/proc/" + std::to_string(s.pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno != ENOENT;
  }
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) {
    return true;
  }
  const std::string stat(buf, static_cast<size_t>(n));
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
    return true;
  }
  const std::string comm = stat.substr(open + 1, close - open - 1);
  const char state = stat[close + 2];
  // doveadm, doveadm-server (HTTP API runs), or doveconf while doveadm re-executes itself.
  return state != 'Z' && state != 'X' && (comm.rfind("doveadm", 0) == 0 || comm == "doveconf");
}

StatusCheck checkStatus(const std::string& dir, const std::string& legacy, unsigned maxFail) {
  StatusCheck check;
  Result<std::optional<RunStatus>> read = dovecot::readRunStatusOrLegacy(dir, legacy);
  if (!read.isOk()) {
    check.decision = Decision::Unreadable;
    check.error = read.status().describe();
    return check;
  }
  check.status = std::move(read).value();
  if (!check.status) {
    return check;  // never migrated
  }
  const RunStatus& s = *check.status;
  // Paused by `migrate pause` or waiting for its scheduled start: not for a login to start.
  if (s.state == "ok" || s.state == "paused" || s.state == "scheduled") {
    check.decision = Decision::Done;
  } else if (runAlive(s)) {
    check.decision = Decision::Running;
  } else if (maxFail > 0 && s.consecutiveFailures >= maxFail) {
    check.decision = Decision::GaveUp;
  }
  // Otherwise "failed", "partial", "stopped" or a "running" left by a killed run: resume.
  return check;
}

// Returns false (and logs why) when the user has nothing to migrate from.
bool haveSourceSettings(mail_user* user, const SourceOptions& source) {
  if (source.host.empty() && source.presetName.empty()) {
    i_error(
        "migrate: migrate_on_login = yes but no migrate_source_host for %s: not starting a migration "
        "(set %s or the userdb field)",
        user->username, options::settingRef("migrate_source_host").c_str());
    return false;
  }
  if (source.password.empty() && source.oauth2TokenFile.empty() && source.oauth2TokenCommand.empty()) {
    i_error(
        "migrate: no source password for %s: not starting a migration (the passdb's override_fields = "
        "userdb_migrate_source_password=%%w hands over the login password only for plaintext "
        "mechanisms such as PLAIN and LOGIN; or set migrate_source_master_user and migrate_source_password)",
        user->username);
    return false;
  }
  return true;
}

double msSince(const struct timespec& t0) {
  struct timespec t1 {};
  ::clock_gettime(CLOCK_MONOTONIC, &t1);
  return static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e3 +
         static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

void maybeStart(mail_user* user, const struct timespec& t0) {
  if (!isYes(setting(user, "migrate_on_login"))) {
    return;
  }
  // Shared-namespace owners and dsync's users are not logins.
  if (user->autocreated || user->dsyncing || !serviceEnabled(user)) {
    if (event_want_debug(user->event)) {
      i_debug("migrate: not a login that starts migrations (service %s)",
              user->service != nullptr ? user->service : "?");
    }
    return;
  }
  Result<std::string> where = dovecot::stateDirectoryPath(user);
  if (!where.isOk()) {
    i_error("migrate: not starting a migration of %s: %s", user->username, where.status().describe().c_str());
    return;
  }
  const std::string& dir = where.value();
  const std::string legacy = dovecot::legacyStateDirectory(user);
  const unsigned maxFail = maxFailures(user);

  // Fast path without creating anything: the common case on every later login.
  StatusCheck check = checkStatus(dir, legacy, maxFail);
  if (check.decision == Decision::Done || check.decision == Decision::Running) {
    if (event_want_debug(user->event)) {
      i_debug("migrate: migration of %s is %s: nothing to start (%.2f ms)", user->username,
              check.decision == Decision::Done ? "finished" : "running", msSince(t0));
    }
    return;
  }
  // INBOX and its directory made as the login would, files of an earlier version moved in.
  Result<std::string> made = dovecot::stateDirectory(user, true);
  if (!made.isOk()) {
    i_error("migrate: not starting a migration of %s: %s", user->username, made.status().describe().c_str());
    return;
  }
  FdGuard lock(dovecot::lockBackgroundRun(dir));
  if (lock.get() < 0) {
    if (errno != EWOULDBLOCK) {
      i_error("migrate: open(%s/%s) failed: %m: not starting a migration", dir.c_str(),
              dovecot::kBackgroundLockFile);
    } else if (event_want_debug(user->event)) {
      // Another login of this user is starting (or its background run still holds the lock).
      i_debug("migrate: %s/%s is locked: a migration is being started or running", dir.c_str(),
              dovecot::kBackgroundLockFile);
    }
    return;
  }
  // Under the lock: the status again (a run may have finished or started meanwhile).
  check = checkStatus(dir, legacy, maxFail);
  switch (check.decision) {
    case Decision::Done:
    case Decision::Running:
      return;
    case Decision::Unreadable:
      i_error("migrate: not starting the migration of %s: %s", user->username, check.error.c_str());
      return;
    case Decision::GaveUp:
      i_warning(
          "migrate: not starting the migration of %s: it failed %u time%s in a row "
          "(migrate_on_login_max_failures = %u); last error: %s. Run `doveadm migrate -u %s` by hand "
          "(a successful run resets the count) or remove %s/%s to let the next login retry",
          user->username, check.status->consecutiveFailures,
          check.status->consecutiveFailures == 1 ? "" : "s", maxFail,
          check.status->error.empty() ? "(none recorded)" : check.status->error.c_str(), user->username,
          dir.c_str(), kRunStatusFile);
      return;
    case Decision::Start:
      break;
  }

  SourceOptions source;
  Status settings = dovecot::loadSourceSettings(user, source);
  if (!settings.isOk()) {
    wipeSecret(source.password);
    i_error("migrate: not starting the migration of %s: %s", user->username, settings.describe().c_str());
    return;
  }
  if (!haveSourceSettings(user, source)) {
    wipeSecret(source.password);
    return;
  }
  // A master-user password or a token comes from the config in the doveadm run itself; only a
  // per-login password (%w) has to travel, through stdin.
  std::string password;
  if (source.masterUser.empty() && source.oauth2TokenFile.empty() && source.oauth2TokenCommand.empty()) {
    password.swap(source.password);
  }
  wipeSecret(source.password);
  if (!password.empty()) {
    if (const char* master = masterLogin(user); master != nullptr) {
      wipeSecret(password);
      i_info(
          "migrate: not starting the migration of %s at this login: %s logged in as master user, "
          "so the login password is not the user's own; the user's next login starts it",
          user->username, master);
      return;
    }
  }

  if (std::strpbrk(user->username, "*?") != nullptr) {
    // `doveadm migrate -u` would take the name for a wildcard and migrate every matching user.
    // Only a relaxed auth_username_chars lets such a name log in at all.
    wipeSecret(password);
    i_error(
        "migrate: not starting the migration of %s: the user name contains '*' or '?', which "
        "doveadm -u takes for a wildcard; migrate this user by hand with --source-password-file",
        user->username);
    return;
  }

  dovecot::BackgroundRun spec;
  spec.args = dovecot::doveadmCommandPrefix(user);
  spec.args.emplace_back("migrate");
  spec.args.emplace_back("-u");
  spec.args.emplace_back(user->username);
  if (!password.empty()) {
    spec.args.emplace_back("-W");
  }
  spec.env.emplace_back("MIGRATE_TRIGGER=login");
  if (const char* home = nullptr; mail_user_get_home(user, &home) > 0 && home != nullptr) {
    spec.env.emplace_back("HOME=" + std::string(home));
  }

  FdGuard log(dovecot::openBackgroundLog(dir));
  if (log.get() < 0) {
    wipeSecret(password);
    i_error("migrate: open(%s/%s) failed: %m: not starting a migration", dir.c_str(), kBackgroundLogFile);
    return;
  }
  // The guards close our copies; the background doveadm keeps the lock (the same open file
  // description) until it exits.
  spec.logFd = log.get();
  spec.lockFd = lock.get();
  Status started = dovecot::startBackgroundRun(spec, password);
  if (!started.isOk()) {
    i_error("migrate: cannot start the migration of %s: %s", user->username, started.message().c_str());
    return;
  }
  const std::string why =
      !check.status
          ? std::string("first login")
          : "previous run " + check.status->state +
                (check.status->consecutiveFailures > 0
                     ? " (" + std::to_string(check.status->consecutiveFailures) + " failed in a row)"
                     : std::string());
  i_info("migrate: %s: started the migration of %s from %s in the background in %.1f ms (log: %s/%s)",
         why.c_str(), user->username, source.host.empty() ? source.presetName.c_str() : source.host.c_str(),
         msSince(t0), dir.c_str(), kBackgroundLogFile);
}

}  // namespace

void onNamespacesCreated(mail_namespace* namespaces) noexcept {
  const char* name = "?";
  try {
    mail_user* user = namespaces->user;
    name = user->username;
    struct timespec t0 {};
    ::clock_gettime(CLOCK_MONOTONIC, &t0);
    maybeStart(user, t0);
  } catch (const std::exception& e) {
    i_error("migrate: first-login hook for %s: internal error: %s", name, e.what());
  } catch (...) {
    i_error("migrate: first-login hook for %s: internal error: unknown exception", name);
  }
}

}  // namespace migrate::login
