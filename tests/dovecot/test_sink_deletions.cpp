// The lib-storage side of --sync-deletions (Sink::changesSince, copies, expunge, move) on the
// storages that keep save GUIDs: which changes are seen, that only the named copy goes, and that a
// moved copy carries its new GUID (not the hard-linked original's) on maildir, sdbox and mdbox.

#include "test_sink_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migrate::dovecot::testing {
namespace {

class SinkDeletionTest : public StorageTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    startUser(GetParam());
    ASSERT_TRUE(sink().prepareFolder("F", PrepareFolderOptions{}).isOk());
    ASSERT_TRUE(sink().prepareFolder("G", PrepareFolderOptions{}).isOk());
    uids_ = saveSimple("F", 3);
    ASSERT_EQ(uids_.size(), 3u);
  }

  DestCopy copyOf(uint32_t uid) {
    Result<std::vector<DestCopy>> c = sink().copies("F", {uid});
    EXPECT_TRUE(c.isOk()) << c.status().describe();
    return c.isOk() && c.value().size() == 1 ? c.value()[0] : DestCopy{};
  }

  std::vector<uint32_t> uids_;
};

TEST_P(SinkDeletionTest, ChangesSinceSeesOnlyWhatChangedAfterTheRecord) {
  Result<DestChanges> before = sink().changesSince("F", 0);
  ASSERT_TRUE(before.isOk()) << before.status().describe();
  EXPECT_TRUE(before.value().uids.empty());
  const uint64_t recorded = before.value().highestModSeq;
  ASSERT_GT(recorded, 0u);
  // Someone flags the second message.
  std::vector<FlagUpdate> up(1);
  up[0].guid = "g2";
  up[0].flags.system = kFlagFlagged;
  ASSERT_TRUE(sink().updateFlags("F", up).isOk());
  Result<DestChanges> after = sink().changesSince("F", recorded);
  ASSERT_TRUE(after.isOk()) << after.status().describe();
  EXPECT_EQ(after.value().uids, std::vector<uint32_t>{uids_[1]});
  EXPECT_GT(after.value().highestModSeq, recorded);
  EXPECT_GT(copyOf(uids_[1]).modSeq, recorded);
  EXPECT_LE(copyOf(uids_[0]).modSeq, recorded);
  EXPECT_EQ(sink().changesSince("Missing", 0).status().kind(), ErrorKind::NotFound);
}

TEST_P(SinkDeletionTest, CopiesAndExpungeTouchOnlyTheNamedUnchangedCopies) {
  Result<std::vector<DestCopy>> c = sink().copies("F", {uids_[0], uids_[2], 999});
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  ASSERT_EQ(c.value().size(), 2u);
  EXPECT_EQ(c.value()[0].guid, "g1");
  EXPECT_EQ(c.value()[0].key.messageId, "<1@test>");
  EXPECT_EQ(c.value()[0].key.internalDate, 1234567891);
  EXPECT_EQ(c.value()[0].key.size, readAll("F")[0].virtualSize);

  const uint64_t recorded = sink().changesSince("F", 0).value().highestModSeq;
  std::vector<FlagUpdate> up(1);
  up[0].guid = "g2";
  up[0].flags.system = kFlagSeen;
  ASSERT_TRUE(sink().updateFlags("F", up).isOk());
  DestCopy wrongGuid = c.value()[0];
  wrongGuid.guid = "someone-else";
  Result<std::vector<uint32_t>> done =
      sink().expunge("F", {wrongGuid, copyOf(uids_[1]), c.value()[1]}, recorded);
  ASSERT_TRUE(done.isOk()) << done.status().describe();
  EXPECT_EQ(done.value(), std::vector<uint32_t>{uids_[2]});
  std::vector<StoredMail> left = readAll("F");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].guid, "g1");
  EXPECT_EQ(left[1].guid, "g2");
  // Gone for good: not back with a new UID when the storage looks at its files again.
  ASSERT_TRUE(sink().expunge("F", {c.value()[0]}, 0).isOk());
  ASSERT_TRUE(saveSimple("F", 1, 9).size() == 1u);
  left = readAll("F");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].guid, "g2");
  EXPECT_EQ(left[1].guid, "g9");
}

TEST_P(SinkDeletionTest, AMovedCopyCarriesItsNewGuidFlagsAndDate) {
  const std::string original = readAll("F")[0].body;
  MoveRequest r;
  r.from = "F";
  r.uid = uids_[0];
  r.guid = "g1";
  r.to = "G";
  r.newGuid = "n1";
  r.flags.system = kFlagSeen;
  r.internalDate = 1500000000;
  r.tzOffsetMinutes = 120;
  Result<uint32_t> uid = sink().move(r);
  ASSERT_TRUE(uid.isOk()) << uid.status().describe();
  ASSERT_NE(uid.value(), 0u);
  std::vector<StoredMail> g = readAll("G");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].uid, uid.value());
  EXPECT_EQ(g[0].guid, "n1");
  EXPECT_EQ(g[0].flags, kFlagSeen);
  EXPECT_EQ(g[0].received, 1500000000);
  EXPECT_EQ(g[0].body, original);
  EXPECT_EQ(readAll("F").size(), 2u);
  // Gone from F now: a second attempt does nothing.
  Result<uint32_t> again = sink().move(r);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again.value(), 0u);

  // A move cut short after its save: the original only goes, no second copy.
  saveSimple("G", 1, 2, "n");  // "n2" in G, as the interrupted move left it
  r.uid = uids_[1];
  r.guid = "g2";
  r.newGuid = "n2";
  Result<uint32_t> finished = sink().move(r);
  ASSERT_TRUE(finished.isOk()) << finished.status().describe();
  EXPECT_NE(finished.value(), 0u);
  EXPECT_EQ(readAll("G").size(), 2u);
  EXPECT_EQ(readAll("F").size(), 1u);

  r.to = "Missing";
  r.uid = uids_[2];
  r.guid = "g3";
  EXPECT_EQ(sink().move(r).status().kind(), ErrorKind::NotFound);
  EXPECT_EQ(readAll("F").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SinkDeletionTest, ::testing::Values("maildir", "sdbox", "mdbox"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

}  // namespace
}  // namespace migrate::dovecot::testing
