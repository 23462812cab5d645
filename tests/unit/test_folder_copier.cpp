// One folder's copy on its own (engine/folder_copier.h): batches and what each commit records,
// a second pass, flag changes, messages without content, a stop request and the quota.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/folder_copier.h"
#include "fakes/fake_source.h"
#include "unit/folder_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class FolderCopierTest : public FolderFixture {
 protected:
  void SetUp() override {
    FolderFixture::SetUp();
    options_.batchMessages = 2;
    options_.batchSeconds = 0;
    for (int i = 1; i <= 5; i++) {
      source_.add("INBOX",
                  FakeSource::makeMessage("m" + std::to_string(i), "<m" + std::to_string(i) + "@x>", 300),
                  i == 1 ? std::vector<std::string>{"\\Seen"} : std::vector<std::string>{});
    }
  }

  // One pass over INBOX, as a run makes it; `fr_` gets its counts, events_ its progress lines.
  Status copyInbox() {
    FolderWork w = inboxWork();
    w.uidValidityChanged = w.known && state_.uidValidity != w.status.uidValidity;
    fr_ = FolderReport();
    FolderScanner sc = scanner();
    CopierEnv env{
        options_,
        conn_->session(),
        *sink_,
        nullptr,
        options_.source.user,
        report_,
        sc,
        [this](const std::string&, uint32_t, uint32_t, const std::string& text) { events_.push_back(text); },
        nullptr};
    FolderCopier copier(env, w, fr_);
    Status st = copier.run();
    completed_ = copier.completed();
    return st;
  }

  FolderReport fr_;
  MigrationReport report_;
  std::vector<std::string> events_;
  bool completed_ = false;
};

TEST_F(FolderCopierTest, CopiesInBatchesAndRecordsEachCommit) {
  Status st = copyInbox();
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_TRUE(completed_);
  EXPECT_EQ(fr_.copied, 5u);
  EXPECT_TRUE(fr_.uidsPreserved) << "an empty new folder keeps the source's UIDs";
  EXPECT_EQ(sink_->commits, 3) << "2 + 2 + 1";
  EXPECT_EQ(events_,
            (std::vector<std::string>{"INBOX: 2/5 messages", "INBOX: 4/5 messages", "INBOX: 5/5 messages"}));
  std::vector<const testing::StoredMessage*> stored = sink_->all("INBOX");
  ASSERT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored[0]->uid, 1u);
  EXPECT_EQ(formatFlags(stored[0]->flags), "\\Seen");
  EXPECT_EQ(stored[0]->bytes, source_.folders["INBOX"].messages[0].bytes);
  EXPECT_EQ(state_.lastUid, 5u);
  EXPECT_TRUE(state_.complete);
  EXPECT_EQ(state_.uidNext, 6u);
  EXPECT_EQ(report_.bytes, fr_.bytes);
}

TEST_F(FolderCopierTest, ASecondPassCopiesOnlyNewMailAndCarriesFlagChanges) {
  ASSERT_TRUE(copyInbox().isOk());
  int bodies = source_.bodiesSent;
  source_.setFlags("INBOX", 2, {"\\Flagged"});
  source_.add("INBOX", FakeSource::makeMessage("m6", "<m6@x>"));
  ASSERT_TRUE(copyInbox().isOk());
  EXPECT_EQ(fr_.copied, 1u);
  EXPECT_EQ(fr_.flagsUpdated, 1u);
  EXPECT_EQ(source_.bodiesSent - bodies, 1) << "only the new message is fetched";
  std::vector<const testing::StoredMessage*> stored = sink_->all("INBOX");
  ASSERT_EQ(stored.size(), 6u);
  EXPECT_EQ(formatFlags(stored[1]->flags), "\\Flagged");
  EXPECT_FALSE(source_.sawWrite) << "the source is never changed";
}

TEST_F(FolderCopierTest, AMessageWithoutContentIsFetchedAgainByTheNextPass) {
  source_.folders["INBOX"].messages[2].noBody = true;
  ASSERT_TRUE(copyInbox().isOk());
  EXPECT_EQ(fr_.copied, 4u);
  EXPECT_EQ(fr_.failed, 1u);
  EXPECT_EQ(state_.retryUids, (std::set<uint32_t>{3}));
  ASSERT_EQ(report_.warnings.size(), 1u);
  EXPECT_EQ(
      report_.warnings[0],
      "folder 'INBOX': the server sent no content for UID 3; not copied, the next run fetches it again");

  source_.folders["INBOX"].messages[2].noBody = false;
  ASSERT_TRUE(copyInbox().isOk());
  EXPECT_EQ(fr_.copied, 1u);
  EXPECT_TRUE(state_.retryUids.empty());
  EXPECT_EQ(sink_->all("INBOX").size(), 5u);
}

TEST_F(FolderCopierTest, AStopRequestKeepsWhatWasCopied) {
  int asked = 0;
  options_.cancelled = [&asked]() { return ++asked > 3; };
  Status st = copyInbox();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Cancelled);
  EXPECT_EQ(st.message(), "stopped on request in folder 'INBOX' after copying 3 messages");
  EXPECT_FALSE(completed_);
  EXPECT_EQ(sink_->all("INBOX").size(), 3u) << "the saved messages are committed";
  EXPECT_EQ(state_.lastUid, 3u);

  options_.cancelled = nullptr;
  conn_.reset();  // a fetch cut short leaves the connection unusable: the run reconnects
  ASSERT_TRUE(copyInbox().isOk());
  EXPECT_EQ(fr_.copied, 2u) << "the next pass continues after the last commit";
}

TEST_F(FolderCopierTest, TheQuotaStopsTheCopyWithTheNumbers) {
  sink_->quotaLimit = 3 * source_.folders["INBOX"].messages[0].bytes.size() + 10;
  Status st = copyInbox();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Quota);
  EXPECT_NE(st.message().find("insufficient space for alice: needs "), std::string::npos) << st.describe();
  // Without a listing (no quota known before), the rest of the folder is "at least" this message.
  EXPECT_NE(st.message().find("needs at least 3"), std::string::npos) << st.describe();
  EXPECT_NE(st.message().find("stopped in folder 'INBOX' after copying 3 messages"), std::string::npos)
      << st.describe();
  EXPECT_NE(st.hint().find("it continues where it stopped"), std::string::npos);
  EXPECT_EQ(sink_->all("INBOX").size(), 3u);
  EXPECT_EQ(state_.lastUid, 3u);
}

}  // namespace
}  // namespace migrate
