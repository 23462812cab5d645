#include "common/flush_set.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace migrate {

namespace {

Status flushError(const std::string& what, const std::string& path, int err) {
  return Status(ErrorKind::LocalStorage, what + " " + path + ": " + std::strerror(err),
                "check the disk and the kernel log");
}

// Where the open file `fd` is now ("" if unknown or deleted).
std::string currentPath(int fd) {
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0 || buf[0] != '/') {
    return {};
  }
  std::string path(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() &&
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    return {};
  }
  return path;
}

// ext4 and XFS: a later fsync() of a changed directory on the same file system makes this
// file durable once its data is written out (see flush_set.h).
bool journalCovers(int fd) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) < 0) {
    return false;
  }
  return fs.f_type == EXT4_SUPER_MAGIC || fs.f_type == XFS_SUPER_MAGIC;
}

// The data of `fd` durable, or on its way to it (written out, where a journal commit follows).
Status syncFd(int fd, const std::string& path) {
  int r =
      journalCovers(fd)
          ? ::sync_file_range(
                fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)
          : ::fsync(fd);
  if (r < 0) {
    int err = errno;
    return flushError("cannot flush", path.empty() ? currentPath(fd) : path, err);
  }
  return Status::ok();
}

// syncFd() of the file at `path`, or fsync() of the directory; one that does not exist is skipped.
Status syncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) {
    return errno == ENOENT ? Status::ok() : flushError("cannot open", path, errno);
  }
  Status st;
  if (!directory) {
    st = syncFd(fd, path);
  } else if (::fsync(fd) < 0) {
    st = flushError("cannot flush", path, errno);
  }
  ::close(fd);
  return st;
}

}  // namespace

FlushSet::~FlushSet() {
  clear();
}

bool FlushSet::holdFile(int fd) {
  int dup = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (dup < 0) {
    return false;
  }
  held_.push_back(dup);
  return true;
}

void FlushSet::startWriteback() {
  if (!held_.empty()) {
    // Only a hint: a failure here shows again in syncFiles().
    (void)::sync_file_range(held_.back(), 0, 0, SYNC_FILE_RANGE_WRITE);
  }
}

std::set<std::string> FlushSet::dirsOfHeldFiles() const {
  std::set<std::string> dirs;
  for (int fd : held_) {
    std::string path = currentPath(fd);
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) {
      dirs.insert(slash == 0 ? "/" : path.substr(0, slash));
    }
  }
  return dirs;
}

void FlushSet::addDir(const std::string& dir) {
  if (!dir.empty()) {
    dirs_.insert(dir);
  }
}

void FlushSet::addFile(const std::string& path) {
  files_.insert(path);
}

Status FlushSet::syncFiles() {
  for (int fd : held_) {
    MIGRATE_RETURN_IF_ERROR(syncFd(fd, {}));
  }
  return Status::ok();
}

Status FlushSet::flush() {
  Status st = syncFiles();
  for (auto f = files_.begin(); st.isOk() && f != files_.end(); ++f) {
    st = syncPath(*f, false);
  }
  // Last: on ext4 and XFS the first of these commits the journal for everything above.
  for (auto d = dirs_.begin(); st.isOk() && d != dirs_.end(); ++d) {
    st = syncPath(*d, true);
  }
  return st;
}

void FlushSet::clear() {
  for (int fd : held_) {
    ::close(fd);
  }
  held_.clear();
  dirs_.clear();
  files_.clear();
}

}  // namespace migrate
