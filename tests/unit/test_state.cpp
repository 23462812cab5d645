// The state file: round trip, escaping, damage, versions, the lock.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "engine/guid.h"
#include "engine/state.h"

namespace migrate {
namespace {

AccountState sample() {
  AccountState s;
  s.host = "imap.old.example";
  s.user = "alice@old.example";
  s.runStarted = 1700000000;
  s.runEnded = 1700000100;
  s.runResult = "partial";
  s.runMessage = "insufficient space\tfor alice\nline2 \\ backslash";
  FolderState f;
  f.rawName = "Tab\there\\and\nnewline &ZeVnLIqe-";
  f.uidValidity = 4000000000u;
  f.lastUid = 77;
  f.uidNext = 78;
  f.highestModSeq = 18446744073709551615ull;
  f.destName = "日本語/Sub";
  f.destUidValidity = 123;
  f.destUidNext = 78;
  f.preserveUids = true;
  f.complete = true;
  f.destModSeq = 9000000000ull;
  for (uint32_t u : {3u, 4u, 5u, 9u, 4000000000u}) {
    f.changedHere.add(u);
  }
  f.checkedMessages = 70;
  f.checkedUidNext = 78;
  s.folders[f.rawName] = f;
  FolderState g;
  g.rawName = "INBOX";
  s.folders["INBOX"] = g;
  return s;
}

TEST(State, RoundTripKeepsEveryField) {
  AccountState s = sample();
  Result<AccountState> back = parseState(serializeState(s));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(serializeState(back.value()), serializeState(s));
  const FolderState& f = back.value().folders.at("Tab\there\\and\nnewline &ZeVnLIqe-");
  EXPECT_EQ(f.uidValidity, 4000000000u);
  EXPECT_EQ(f.highestModSeq, 18446744073709551615ull);
  EXPECT_TRUE(f.preserveUids);
  EXPECT_EQ(f.destModSeq, 9000000000ull);
  EXPECT_EQ(f.changedHere.serialize(), "3:5,9,4000000000");
  EXPECT_EQ(f.checkedMessages, 70u);
  EXPECT_EQ(f.checkedUidNext, 78u);
  EXPECT_EQ(back.value().runMessage, s.runMessage);
}

TEST(State, Version2FilesHaveNoDeletionRecords) {
  Result<AccountState> v2 = parseState(
      "dovecot-migrate-state\t2\naccount\th\tu\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\t-\t4\n");
  ASSERT_TRUE(v2.isOk()) << v2.status().describe();
  const FolderState& f = v2.value().folders.at("INBOX");
  EXPECT_EQ(f.lastUid, 20u);
  EXPECT_EQ(f.retryUids, (std::set<uint32_t>{4}));
  EXPECT_EQ(f.destModSeq, 0u);
  EXPECT_TRUE(f.changedHere.empty());
  EXPECT_EQ(f.checkedUidNext, 0u);
  // Version 3 requires the four new fields; a bad UID set is damage.
  EXPECT_FALSE(
      parseState("dovecot-migrate-state\t3\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\t-\t\n").isOk());
  EXPECT_FALSE(
      parseState(
          "dovecot-migrate-state\t3\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\t-\t\t5\t4:2\t0\t0\n")
          .isOk());
  EXPECT_TRUE(
      parseState(
          "dovecot-migrate-state\t3\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\t-\t\t5\t2:4,9\t3\t21\n")
          .isOk());
}

TEST(UidRanges, AddMergesNeighboursAndParsesWhatItWrites) {
  UidRanges r;
  for (uint32_t u : {7u, 5u, 6u, 1u, 9u, 8u, 1u}) {
    r.add(u);
  }
  EXPECT_EQ(r.serialize(), "1,5:9");
  EXPECT_TRUE(r.contains(5));
  EXPECT_TRUE(r.contains(9));
  EXPECT_FALSE(r.contains(4));
  EXPECT_FALSE(r.contains(10));
  UidRanges back;
  ASSERT_TRUE(back.parse(r.serialize()));
  EXPECT_EQ(back, r);
  EXPECT_TRUE(back.parse(""));
  EXPECT_TRUE(back.empty());
  for (const char* bad : {"0", "5:3", "3,2", "1:4,5", "1,", "x", "1:"}) {
    EXPECT_FALSE(back.parse(bad)) << bad;
  }
}

TEST(State, DamageIsReportedWithTheLine) {
  std::string text = serializeState(sample());
  Result<AccountState> r = parseState(text.substr(0, text.size() - 3));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos);

  std::string bad = text;
  bad.replace(bad.find("\t77\t"), 4, "\tx7\t");
  r = parseState(bad);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("line 5"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().hint().find("GUID"), std::string::npos);

  EXPECT_FALSE(parseState("").isOk());
  EXPECT_FALSE(parseState("hello\n").isOk());
  EXPECT_FALSE(parseState("dovecot-migrate-state\t1\nfolder\t1\t2\n").isOk());
  EXPECT_FALSE(parseState("dovecot-migrate-state\t1\nfolder\ta\t99999999999\t0\t0\t0\tb\t0\t0\t\n").isOk());
}

TEST(State, NewerVersionIsAConfigError) {
  Result<AccountState> r = parseState("dovecot-migrate-state\t4\n");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Config);
  EXPECT_NE(r.status().message().find("newer"), std::string::npos);
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-state-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  std::string dir_;
};

TEST_F(StateStoreTest, SaveThenReopen) {
  {
    auto s = StateStore::open(dir_, "Imap.Old.Example", "alice");
    ASSERT_TRUE(s.isOk()) << s.status().describe();
    s.value()->state().folders["INBOX"].lastUid = 42;
    ASSERT_TRUE(s.value()->save().isOk());
  }
  auto s = StateStore::open(dir_, "imap.old.example", "alice");
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s.value()->state().folders["INBOX"].lastUid, 42u) << "host names compare case-insensitively";
  auto peek = StateStore::peek(dir_, "imap.old.example", "alice");
  ASSERT_TRUE(peek.isOk());
  EXPECT_EQ(peek.value().folders.at("INBOX").lastUid, 42u);
}

// The inode of the state file: a save that writes replaces the file (new inode).
ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(StateStoreTest, APassThatChangesNothingWritesNothing) {
  std::string path;
  {
    auto s = StateStore::open(dir_, "h", "alice");
    ASSERT_TRUE(s.isOk());
    path = s.value()->path();
    s.value()->state().folders["INBOX"].lastUid = 42;
    s.value()->state().runResult = "ok";
    ASSERT_TRUE(s.value()->save().isOk());
  }
  ino_t before = inodeOf(path);
  ASSERT_NE(before, 0u);
  auto s = StateStore::open(dir_, "h", "alice");
  ASSERT_TRUE(s.isOk());
  AccountState& st = s.value()->state();
  st.runStarted = 1800000000;
  st.runResult = "running";
  ASSERT_TRUE(s.value()->save().isOk());
  st.folders["INBOX"].lastUid = 42;  // the same value again
  st.runEnded = 1800000001;
  st.runResult = "ok";
  ASSERT_TRUE(s.value()->save().isOk());
  EXPECT_EQ(inodeOf(path), before) << "only the run record changed: the file stays as it was";
  auto peek = StateStore::peek(dir_, "h", "alice");
  ASSERT_TRUE(peek.isOk());
  EXPECT_EQ(peek.value().runStarted, 0) << "the run record of the last run that changed a folder";
}

TEST_F(StateStoreTest, ARunThatChangesAFolderKeepsItsRunRecordCurrent) {
  auto s = StateStore::open(dir_, "h", "alice");
  ASSERT_TRUE(s.isOk());
  AccountState& st = s.value()->state();
  st.runResult = "running";
  st.folders["INBOX"].lastUid = 7;
  ASSERT_TRUE(s.value()->save().isOk());
  ino_t first = inodeOf(s.value()->path());
  ASSERT_TRUE(s.value()->save().isOk());
  EXPECT_EQ(inodeOf(s.value()->path()), first) << "an identical save writes nothing";
  st.runResult = "ok";
  ASSERT_TRUE(s.value()->save().isOk());
  EXPECT_NE(inodeOf(s.value()->path()), first);
  auto peek = StateStore::peek(dir_, "h", "alice");
  ASSERT_TRUE(peek.isOk());
  EXPECT_EQ(peek.value().runResult, "ok");
}

TEST_F(StateStoreTest, SecondRunForTheSameAccountIsRefused) {
  auto a = StateStore::open(dir_, "h", "alice");
  ASSERT_TRUE(a.isOk());
  auto b = StateStore::open(dir_, "h", "alice");
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("another migration"), std::string::npos);
  auto c = StateStore::open(dir_, "h", "bob");
  EXPECT_TRUE(c.isOk()) << "other accounts are independent";
}

TEST_F(StateStoreTest, DamagedFileNamesThePath) {
  auto a = StateStore::open(dir_, "h", "alice");
  ASSERT_TRUE(a.isOk());
  std::string path = a.value()->path();
  a = Status(ErrorKind::Internal, "release");
  std::ofstream(path) << "garbage\n";
  auto b = StateStore::open(dir_, "h", "alice");
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find(path), std::string::npos);
}

TEST(Guid, DeterministicAndDistinct) {
  std::string g = sourceMessageGuid("alice", "INBOX", 5, 7);
  EXPECT_EQ(g.size(), 32u);
  EXPECT_EQ(g.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(g, sourceMessageGuid("Alice", "INBOX", 5, 7)) << "logins compare case-insensitively";
  EXPECT_NE(g, sourceMessageGuid("alice", "INBOX", 5, 8));
  EXPECT_NE(g, sourceMessageGuid("alice", "INBOX", 6, 7));
  EXPECT_NE(g, sourceMessageGuid("alice", "Sent", 5, 7));
  EXPECT_NE(g, sourceMessageGuid("bob", "INBOX", 5, 7));
}

}  // namespace
}  // namespace migrate
