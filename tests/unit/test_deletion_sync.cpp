// --sync-deletions against the scripted source and the memory sink: what is expunged, moved, left
// alone and reported, and when the pass stops for safety (engine/deletion_sync.h).

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "engine/guid.h"
#include "engine/migrator.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeMessage;
using testing::FakeSource;

class DeletionSyncTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    for (int i = 1; i <= 3; i++) {
      std::string n = std::to_string(i);
      source_.add("INBOX", FakeSource::makeMessage("m" + n, "<m" + n + "@x>"), {},
                  "0" + n + "-Feb-2024 10:00:00 +0100");
    }
    source_.add("Archive", FakeSource::makeMessage("a1", "<a1@x>"));
    ASSERT_TRUE(run().status.isOk());
    options_.source.syncDeletions = true;
  }

  // Removes a message from a source folder (an expunge there); returns it.
  FakeMessage expungeAtSource(const std::string& folder, uint32_t uid) {
    auto& msgs = source_.folders[folder].messages;
    auto it = std::find_if(msgs.begin(), msgs.end(), [uid](const FakeMessage& m) { return m.uid == uid; });
    FakeMessage m = *it;
    msgs.erase(it);
    return m;
  }

  const testing::StoredMessage* find(const std::string& folder, const std::string& subject) const {
    for (const testing::StoredMessage* m : sink_->all(folder)) {
      if (m->bytes.find("Subject: " + subject + "\r\n") != std::string::npos) {
        return m;
      }
    }
    return nullptr;
  }

  static bool mentions(const MigrationReport& r, const std::string& text) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
  }
};

TEST_F(DeletionSyncTest, WithoutTheOptionNothingIsEverDeleted) {
  options_.source.syncDeletions = false;
  expungeAtSource("INBOX", 2);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(r.expunged, 0u);
  EXPECT_EQ(sink_->expunges, 0);
}

TEST_F(DeletionSyncTest, DeletedAtTheSourceIsExpungedHereAndLocalMailStays) {
  sink_->deliver("INBOX", "Subject: local\r\nMessage-ID: <local@here>\r\n\r\ndelivered after the switch\r\n",
                 "0123456789abcdef0123456789abcdef");
  expungeAtSource("INBOX", 2);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m3", "local"}));
  EXPECT_EQ(r.expunged, 1u);
  ASSERT_EQ(r.folders.size(), 2u);
  EXPECT_EQ(r.folders[0].destination, "INBOX");
  EXPECT_EQ(r.folders[0].expunged, 1u);

  // Nothing changed at the source since: the folder is not even listed again.
  int fetches = source_.fetches;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.expunged, 0u);
  EXPECT_EQ(source_.fetches, fetches);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m3", "local"}));
}

TEST_F(DeletionSyncTest, MovedAtTheSourceIsMovedHereOnceWithoutDownloadingIt) {
  FakeMessage m = expungeAtSource("INBOX", 2);
  uint32_t newUid = source_.add("Archive", m.bytes, {"\\Seen"}, m.internalDate);
  int bodies = source_.bodiesSent;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.expunged, 0u);
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(source_.bodiesSent, bodies) << "a moved message is not downloaded again";
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m3"}));
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"a1", "m2"}));
  // It is Archive's copy now: its GUID, its flags there, its date.
  const testing::StoredMessage* moved = find("Archive", "m2");
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->guid, sourceMessageGuid(options_.source.user, "Archive",
                                           source_.folders["Archive"].uidValidity, newUid));
  EXPECT_EQ(formatFlags(moved->flags), "\\Seen");
  EXPECT_EQ(moved->internalDate, 1706864400);  // 02-Feb-2024 10:00:00 +0100

  // The next runs recognise it: no second copy, flag changes reach it.
  source_.setFlags("Archive", newUid, {"\\Seen", "\\Flagged"});
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"a1", "m2"}));
  EXPECT_EQ(formatFlags(find("Archive", "m2")->flags), "\\Seen \\Flagged");
}

TEST_F(DeletionSyncTest, AMoveCutShortBeforeItsExpungeIsFinishedWithoutASecondCopy) {
  FakeMessage m = expungeAtSource("INBOX", 2);
  uint32_t newUid = source_.add("Archive", m.bytes, {}, m.internalDate);
  // The copy was saved into Archive with Archive's GUID, then the run died.
  const testing::StoredMessage* original = find("INBOX", "m2");
  testing::StoredMessage copy = *original;
  copy.guid =
      sourceMessageGuid(options_.source.user, "Archive", source_.folders["Archive"].uidValidity, newUid);
  copy.uid = sink_->folders["Archive"].uidNext++;
  copy.modSeq = ++sink_->folders["Archive"].highestModSeq;
  sink_->folders["Archive"].messages.push_back(copy);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m3"}));
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"a1", "m2"}));
}

TEST_F(DeletionSyncTest, ACopyChangedHereIsLeftAloneAndReportedEvenAfterLaterCopies) {
  const testing::StoredMessage* m2 = find("INBOX", "m2");
  MessageFlags flagged;
  flagged.system = kFlagFlagged;
  sink_->userSetFlags("INBOX", m2->uid, flagged);
  // A later pass copies new mail into the same folder before the message goes at the source:
  // that write must not hide the user's change.
  source_.add("INBOX", FakeSource::makeMessage("m4", "<m4@x>"));
  ASSERT_TRUE(run().status.isOk());
  expungeAtSource("INBOX", 2);
  expungeAtSource("INBOX", 4);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(r.expunged, 1u);
  EXPECT_EQ(r.changedHere, 1u);
  EXPECT_TRUE(mentions(r, "changed here since")) << ::testing::PrintToString(r.warnings);
}

TEST_F(DeletionSyncTest, ACopyTheUserMovedHereIsLeftAlone) {
  sink_->folders["Mine"].exists = true;
  sink_->userMove("INBOX", find("INBOX", "m2")->uid, "Mine");
  expungeAtSource("INBOX", 2);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Mine"), (std::multiset<std::string>{"m2"}));
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m3"}));
  EXPECT_EQ(sink_->expunges, 0);
}

TEST_F(DeletionSyncTest, AUidValidityChangeStopsThePassForThatFolder) {
  source_.add("Archive", FakeSource::makeMessage("a2", "<a2@x>"));
  ASSERT_TRUE(run().status.isOk());
  renumberSource("INBOX", 999, 50);
  expungeAtSource("INBOX", 51);
  expungeAtSource("Archive", 1);  // another folder goes on as usual
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Protocol);
  EXPECT_NE(
      r.status.message().find("deletions not carried in 1 folder, for safety: INBOX: its UIDVALIDITY changed "
                              "at the source (101 -> 999)"),
      std::string::npos)
      << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"a2"}));
  EXPECT_EQ(r.expunged, 1u);
}

TEST_F(DeletionSyncTest, ASourceFolderListingNoneOfItsMailStopsThePass) {
  source_.folders["INBOX"].messages.clear();
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("INBOX: the source lists none of the messages up to UID 3"),
            std::string::npos)
      << r.status.describe();
  EXPECT_NE(r.status.hint().find("nothing was expunged"), std::string::npos);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(sink_->expunges, 0);
  ASSERT_EQ(r.deletionStops.size(), 1u);
  // Checked again next time (not recorded as done).
  r = run();
  EXPECT_FALSE(r.status.isOk());
}

TEST_F(DeletionSyncTest, ADryRunSaysWhatItWouldDoAndChangesNothing) {
  FakeMessage m = expungeAtSource("INBOX", 2);
  source_.add("Archive", m.bytes, {}, m.internalDate);
  expungeAtSource("INBOX", 3);
  options_.dryRun = true;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.expunged, 1u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(sink_->expunges, 0);

  options_.dryRun = false;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.expunged, 1u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"m1"}));
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"a1", "m2"}));
}

}  // namespace
}  // namespace migrate
