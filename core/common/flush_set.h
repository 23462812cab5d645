#pragma once
// Makes a group of files and directories durable together without flushing the whole file
// system: syncfs() would also wait for every other process's dirty pages on it (on a mail
// server, everybody's). Files written by other code (lib-storage) are held by a duplicate of
// their fd, and writeback of each starts as soon as it is written (sync_file_range).
//
// How a file becomes durable depends on its file system:
// - ext4 and XFS order their journal: a journal commit holds the metadata of every change made
//   before it (new files, sizes, renames) and starts with a disk cache flush, which covers the
//   data already written to the device. So each file's data is written out and waited for
//   (sync_file_range, no flush of its own), and one fsync() of a changed directory then commits
//   all of it: one journal commit and a few cache flushes per group instead of one per file.
// - Any other file system: fsync() of every file (POSIX).
// Directories are always fsynced. Linux only (sync_file_range, /proc/self/fd). Not thread-safe.

#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

class FlushSet {
 public:
  FlushSet() = default;
  ~FlushSet();  // closes what it holds, without flushing
  FlushSet(const FlushSet&) = delete;
  FlushSet& operator=(const FlushSet&) = delete;

  // Holds `fd`'s file (a duplicate: the caller keeps or closes its own fd). false when it cannot
  // (no fd left): the caller must make that file durable another way.
  bool holdFile(int fd);
  // Starts writeback of the data written so far to the most recently held file. Call it when
  // the writer has flushed its buffers to the file.
  void startWriteback();
  size_t heldFiles() const { return held_.size(); }
  // The directories the held files are in now, after renames (from /proc/self/fd).
  std::set<std::string> dirsOfHeldFiles() const;

  // A directory whose entries changed (new or renamed files), and a file changed in place by
  // other code; either is skipped by flush() when it does not exist.
  void addDir(const std::string& dir);
  void addFile(const std::string& path);

  // The held files' data on its way to durable (see above: written out, or fsynced), e.g.
  // before other code links the files into place. They stay held.
  Status syncFiles();
  // The held files again (data written to them since), the files added by path, then the
  // directories: everything is durable when it returns.
  Status flush();

  // Closes the held files and forgets every path.
  void clear();

 private:
  std::vector<int> held_;
  std::set<std::string> dirs_;
  std::set<std::string> files_;
};

}  // namespace migrate
