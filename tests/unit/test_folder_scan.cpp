// Which source messages still need copying (engine/folder_scan.h) and Gmail's label rule
// (engine/gmail_labels.h), on their own against the fake source and the memory sink.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/folder_scan.h"
#include "engine/gmail_labels.h"
#include "fakes/fake_source.h"
#include "unit/folder_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class FolderScanTest : public FolderFixture {
 protected:
  void addMessages(int n, size_t size = 200) {
    for (int i = 1; i <= n; i++) {
      source_.add("INBOX", FakeSource::makeMessage("m" + std::to_string(i), "<m" + std::to_string(i) + "@x>",
                                                   size * static_cast<size_t>(i)));
    }
  }

  static std::vector<uint32_t> uids(const FolderWork& w) {
    std::vector<uint32_t> out;
    for (const auto& p : w.toCopy) {
      out.push_back(p.first);
    }
    return out;
  }
};

TEST_F(FolderScanTest, PrescanListsWhatAFirstRunCopiesWithSizes) {
  addMessages(3);
  FolderWork w = inboxWork();
  ASSERT_TRUE(scanner().prescan(w).isOk());
  ASSERT_TRUE(w.reconciled);
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(w.toCopy[0].second, source_.folders["INBOX"].messages[0].bytes.size());
  EXPECT_EQ(w.reconciledSkipped, 0u);
  EXPECT_EQ(w.listedMaxUid, 3u);
  EXPECT_EQ(source_.bodiesSent.load(), 0) << "a listing fetches no message";
}

TEST_F(FolderScanTest, CopiesMadeByAnotherToolAreMatchedByContentOnce) {
  addMessages(4);
  copiedByAnotherTool({2, 4});
  FolderWork w = inboxWork();
  ASSERT_TRUE(scanner().prescan(w).isOk());
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(w.reconciledSkipped, 2u);
}

TEST_F(FolderScanTest, ExactDuplicatesAtTheSourceNeedOneCopyEach) {
  std::string same = FakeSource::makeMessage("twin", "<twin@x>");
  source_.add("INBOX", same);
  source_.add("INBOX", same);
  copiedByAnotherTool({1});
  FolderWork w = inboxWork();
  ASSERT_TRUE(scanner().prescan(w).isOk());
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{2})) << "one destination message stands for one source message";
}

TEST_F(FolderScanTest, FilteredMessagesAreRecordedWithTheirReason) {
  addMessages(3);
  FolderWork w = inboxWork();
  uint64_t smallest = source_.folders["INBOX"].messages[0].bytes.size();
  w.rules.maxSize = smallest;
  ASSERT_TRUE(scanner().prescan(w).isOk());
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{1}));
  EXPECT_EQ(filtered_["INBOX"].size(), 2u);
  EXPECT_STREQ(filtered_["INBOX"][2], kSkipTooLarge);
  EXPECT_STREQ(filtered_["INBOX"][3], kSkipTooLarge);

  // Wider rules later: the same messages are taken, and no longer counted as skipped.
  w.rules.maxSize = 0;
  ASSERT_TRUE(scanner().prescan(w).isOk());
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(filtered_["INBOX"].empty());
}

TEST_F(FolderScanTest, ARescanTakesOnlyWhatTheOldRulesSkipped) {
  addMessages(3);
  state_.uidValidity = source_.folders["INBOX"].uidValidity;
  state_.lastUid = 3;
  state_.rules.maxSize = source_.folders["INBOX"].messages[0].bytes.size();  // took m1 only
  FolderWork w = inboxWork();
  w.rescan = true;
  w.firstNewUid = 1;
  ASSERT_TRUE(scanner().prescan(w).isOk());
  EXPECT_EQ(uids(w), (std::vector<uint32_t>{2, 3})) << "m1 was taken before (and may be deleted here since)";
}

TEST_F(FolderScanTest, UncertainFromFollowsTheRecordOfTheLastCommit) {
  FolderWork w = inboxWork();
  DestFolderStatus empty;
  EXPECT_EQ(uncertainFrom(w, empty), 0u) << "an empty destination holds no copies";
  DestFolderStatus dest;
  dest.messages = 5;
  dest.uidNext = 9;
  EXPECT_EQ(uncertainFrom(w, dest), 1u) << "no record: every destination message may be a copy";
  state_.uidValidity = w.status.uidValidity;
  state_.destName = "INBOX";
  state_.destUidNext = 7;
  w = inboxWork();
  EXPECT_EQ(uncertainFrom(w, dest), 7u) << "only what came after our last commit";
  state_.destUidNext = 9;
  EXPECT_EQ(uncertainFrom(w, dest), 0u) << "nothing came since";
}

TEST(GmailLabels, CopiedFoldersGiveTheirLabelsAndAllMailGivesNone) {
  PlannedFolder inbox;
  inbox.rawName = inbox.sourceName = "INBOX";
  inbox.isInbox = true;
  PlannedFolder sent;
  sent.rawName = sent.sourceName = "[Gmail]/Sent Mail";
  sent.sourceSpecialUse = kSpecialSent;
  PlannedFolder work;
  work.rawName = "Arbeit &- Privat";
  work.sourceName = "Arbeit & Privat";
  PlannedFolder all;
  all.rawName = all.sourceName = "[Gmail]/All Mail";
  all.sourceSpecialUse = kSpecialAll;
  std::set<std::string> labels = copiedLabels({&inbox, &sent, &work, &all});
  EXPECT_EQ(labels, (std::set<std::string>{"INBOX", "\\inbox", "[Gmail]/Sent Mail", "\\sent",
                                           "Arbeit &- Privat", "Arbeit & Privat"}));
  EXPECT_TRUE(hasCopiedLabel({"\\Inbox"}, labels)) << "system labels in any case";
  EXPECT_TRUE(hasCopiedLabel({"Other", "Arbeit &- Privat"}, labels));
  EXPECT_FALSE(hasCopiedLabel({"arbeit & privat"}, labels)) << "user labels as written";
  EXPECT_FALSE(hasCopiedLabel({"\\Important", "\\Starred"}, labels));
  EXPECT_FALSE(hasCopiedLabel({}, labels));
}

}  // namespace
}  // namespace migrate
