#include "dovecot_adapter/state_location.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/textfile.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/handles.h"
#include "dovecot_adapter/storage_compat.h"
#include "engine/state_files.h"

namespace migrate::dovecot {

namespace {

Status sysError(const std::string& what, const std::string& path) {
  return Status(ErrorKind::LocalStorage, what + " " + path + ": " + std::strerror(errno),
                "check the permissions of the user's mail directory");
}

bool endsWith(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> entriesOf(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return names;
  }
  while (const struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  ::closedir(d);
  return names;
}

// mkdir -p with the mode Dovecot gives private mail directories.
Status makeDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) < 0 && errno != EEXIST) {
      return sysError("cannot create", part);
    }
    if (slash == std::string::npos) {
      return Status::ok();
    }
  }
}

Result<std::string> inboxControlDir(struct mail_namespace* ns, const std::string& user) {
  DataStackFrame frame;
  const char* path = nullptr;
  if (mailbox_list_get_path(ns->list, "INBOX", MAILBOX_LIST_PATH_TYPE_CONTROL, &path) <= 0 ||
      path == nullptr) {
    return Status(ErrorKind::LocalStorage, "the INBOX of " + user + " has no control directory",
                  std::string("the migration keeps its state there: use ") + mailLocationSettings() +
                      " with a directory");
  }
  return std::string(path);
}

// The same, opening INBOX first (which creates it, as any login would) and then the directory
// itself where the storage makes it only later.
Result<std::string> openInboxControlDir(struct mail_namespace* ns, const std::string& user) {
  {
    DataStackFrame frame;
    MailboxHandle box(mailbox_alloc(ns->list, "INBOX", static_cast<enum mailbox_flags>(0)));
    if (mailbox_open(box.get()) < 0) {
      enum mail_error code;
      return Status(
          ErrorKind::LocalStorage,
          "cannot open the INBOX of " + user + ": " + mailbox_get_last_internal_error(box.get(), &code),
          std::string("check the user's ") + mailLocationSettings() + " and the Dovecot log");
    }
  }
  Result<std::string> dir = inboxControlDir(ns, user);
  if (!dir.isOk()) {
    return dir;
  }
  MIGRATE_RETURN_IF_ERROR(makeDirs(dir.value()));
  return dir;
}

// Holds every <account>.state.lock of an earlier version's directory, so that no run of that
// version is half-way through while its files move.
class LegacyLocks {
 public:
  ~LegacyLocks() {
    for (const int fd : fds_) {
      ::close(fd);
    }
  }
  Status take(const std::string& legacy, const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      if (!endsWith(name, ".state.lock")) {
        continue;
      }
      const std::string path = legacy + "/" + name;
      const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      fds_.push_back(fd);
      if (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
        return Status(ErrorKind::Busy, "a migration started by an earlier version holds " + path,
                      "wait for it to finish, or stop it first");
      }
    }
    return Status::ok();
  }

 private:
  std::vector<int> fds_;
};

// One file from the old place to the new one: rename (copy on another filesystem); a file that
// already exists at the new place is newer and wins.
Status moveFile(const std::string& from, const std::string& to) {
  if (::access(to.c_str(), F_OK) == 0) {
    return ::unlink(from.c_str()) == 0 || errno == ENOENT ? Status::ok() : sysError("cannot remove", from);
  }
  if (::rename(from.c_str(), to.c_str()) == 0) {
    return Status::ok();
  }
  if (errno != EXDEV) {
    return sysError("cannot move " + from + " to", to);
  }
  Result<std::optional<std::string>> text = textfile::readFile(from);
  if (!text.isOk() || !text.value()) {
    return text.isOk() ? Status::ok() : text.status();
  }
  MIGRATE_RETURN_IF_ERROR(textfile::writeFileAtomic(to, *text.value(), true));
  return ::unlink(from.c_str()) == 0 ? Status::ok() : sysError("cannot remove", from);
}

// What Dovecot leaves in a Maildir++ folder that never held mail: cur/new/tmp without messages,
// maildirfolder and its dovecot* index files. Such a folder was made of the old directory (home =
// mail root); anything else (mail, a child folder) is the user's and stays.
bool onlyAnEmptyMaildir(const std::string& dir, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    if (name == "cur" || name == "new" || name == "tmp") {
      if (!isDirectory(path) || !entriesOf(path).empty()) {
        return false;
      }
    } else if (name != "maildirfolder" && name.rfind("dovecot", 0) != 0) {
      return false;
    } else if (isDirectory(path)) {
      return false;
    }
  }
  return true;
}

void removeOldDirectory(const std::string& dir) {
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) {
    return;
  }
  const std::vector<std::string> names = entriesOf(dir);
  if (!onlyAnEmptyMaildir(dir, names)) {
    i_info("migrate: %s is left in place: it holds more than this tool's files (mail or folders)",
           dir.c_str());
    return;
  }
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    (void)(isDirectory(path) ? ::rmdir(path.c_str()) : ::unlink(path.c_str()));
  }
  if (::rmdir(dir.c_str()) < 0) {
    i_warning("migrate: cannot remove %s: %m", dir.c_str());
  }
}

Status noInbox(const std::string& user) {
  return Status(ErrorKind::LocalStorage, "user " + user + " has no INBOX namespace",
                "the migration keeps its state in the INBOX's directory: configure an inbox=yes namespace");
}

}  // namespace

std::string legacyStateDirectory(struct mail_user* user) {
  const char* home = nullptr;
  if (mail_user_get_home(user, &home) <= 0 || home == nullptr || *home == '\0') {
    return {};
  }
  return std::string(home) + "/.migrate";
}

Status adoptLegacyState(const std::string& legacy, const std::string& dir) {
  const std::vector<std::string> names = entriesOf(legacy);
  LegacyLocks locks;
  MIGRATE_RETURN_IF_ERROR(locks.take(legacy, names));
  for (const std::string& name : names) {
    const std::string path = legacy + "/" + name;
    const bool ours = name == "status" || name == "login.log" || endsWith(name, ".state");
    if (ours) {
      MIGRATE_RETURN_IF_ERROR(moveFile(path, dir + "/" + kStateFilePrefix + name));
    } else if (endsWith(name, ".lock") || endsWith(name, ".tmp")) {
      (void)::unlink(path.c_str());
    }
  }
  removeOldDirectory(legacy);
  return Status::ok();
}

Result<std::string> stateDirectoryPath(struct mail_user* user) {
  struct mail_namespace* ns = mail_namespace_find_inbox(user->namespaces);
  if (ns == nullptr) {
    return noInbox(user->username);
  }
  return inboxControlDir(ns, user->username);
}

Result<std::string> stateDirectory(struct mail_user* user, bool create) {
  struct mail_namespace* ns = mail_namespace_find_inbox(user->namespaces);
  if (ns == nullptr) {
    return noInbox(user->username);
  }
  Result<std::string> dir =
      create ? openInboxControlDir(ns, user->username) : inboxControlDir(ns, user->username);
  if (!dir.isOk()) {
    return dir;
  }
  const std::string legacy = legacyStateDirectory(user);
  if (!legacy.empty() && legacy != dir.value() && isDirectory(legacy) && isDirectory(dir.value())) {
    Status adopted = adoptLegacyState(legacy, dir.value());
    if (!adopted.isOk()) {
      return adopted.withPrefix("moving the migration state from " + legacy);
    }
  }
  return dir;
}

Result<std::optional<RunStatus>> readRunStatusOrLegacy(const std::string& dir, const std::string& legacy) {
  Result<std::optional<RunStatus>> status = readRunStatus(dir);
  if (!status.isOk() || status.value() || legacy.empty()) {
    return status;
  }
  return readRunStatusFile(legacy + "/status");
}

}  // namespace migrate::dovecot
