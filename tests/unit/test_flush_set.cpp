// FlushSet: the files and directories a batch wrote, flushed together (common/flush_set.h).

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/flush_set.h"

namespace migrate {
namespace {

class FlushSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-flush-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(::mkdir((dir_ + "/tmp").c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((dir_ + "/cur").c_str(), 0700), 0);
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }

  int writeFile(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    return fd;
  }
  std::string dir_;
};

TEST_F(FlushSetTest, HoldsAFileAfterItsWriterClosedIt) {
  FlushSet set;
  int fd = writeFile(dir_ + "/tmp/m1", "message one\n");
  ASSERT_TRUE(set.holdFile(fd));
  ::close(fd);  // as maildir does when a save finishes
  set.startWriteback();
  EXPECT_EQ(set.heldFiles(), 1u);
  EXPECT_TRUE(set.syncFiles().isOk());
}

TEST_F(FlushSetTest, FindsTheDirectoryAFileWasRenamedInto) {
  FlushSet set;
  int fd = writeFile(dir_ + "/tmp/m1", "x");
  ASSERT_TRUE(set.holdFile(fd));
  ::close(fd);
  ASSERT_EQ(::rename((dir_ + "/tmp/m1").c_str(), (dir_ + "/cur/m1:2,S").c_str()), 0);
  std::set<std::string> dirs = set.dirsOfHeldFiles();
  EXPECT_EQ(dirs, std::set<std::string>{dir_ + "/cur"});
}

TEST_F(FlushSetTest, ADeletedFileHasNoDirectory) {
  FlushSet set;
  int fd = writeFile(dir_ + "/tmp/gone", "x");
  ASSERT_TRUE(set.holdFile(fd));
  ::close(fd);
  ASSERT_EQ(::unlink((dir_ + "/tmp/gone").c_str()), 0);
  EXPECT_TRUE(set.dirsOfHeldFiles().empty());
  EXPECT_TRUE(set.syncFiles().isOk());
}

TEST_F(FlushSetTest, NoFdCannotBeHeld) {
  FlushSet set;
  EXPECT_FALSE(set.holdFile(-1));
  EXPECT_EQ(set.heldFiles(), 0u);
}

TEST_F(FlushSetTest, PathsThatDoNotExistAreSkipped) {
  FlushSet set;
  ::close(writeFile(dir_ + "/dovecot-uidlist", "3 V1 N2\n"));
  set.addFile(dir_ + "/dovecot-uidlist");
  set.addFile(dir_ + "/dovecot.index.log");  // not there
  set.addDir(dir_ + "/cur");
  set.addDir(dir_ + "/new");  // not there
  EXPECT_TRUE(set.flush().isOk());
}

TEST_F(FlushSetTest, ClearClosesTheHeldFiles) {
  auto openFds = [] {
    DIR* d = ::opendir("/proc/self/fd");
    size_t n = 0;
    while (::readdir(d) != nullptr) {
      n++;
    }
    ::closedir(d);
    return n;
  };
  size_t before = openFds();
  FlushSet set;
  int fd = writeFile(dir_ + "/tmp/m1", "x");
  ASSERT_TRUE(set.holdFile(fd));
  ::close(fd);
  EXPECT_EQ(openFds(), before + 1);
  set.clear();
  EXPECT_EQ(set.heldFiles(), 0u);
  EXPECT_EQ(openFds(), before);
}

}  // namespace
}  // namespace migrate
