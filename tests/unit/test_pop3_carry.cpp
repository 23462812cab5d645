// A run keeps the old server's POP3 UIDLs and order on INBOX's copies (engine/pop3_carry.h),
// with the fake IMAP source and a scripted POP3 side over the same messages.

#include "engine/pop3_carry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_pop3.h"
#include "fakes/fake_source.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class Pop3CarryTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    for (int i = 1; i <= 4; i++) {
      addInbox(i);
    }
    source_.folder("Sent", {"\\Sent"});
    source_.add("Sent", FakeSource::makeMessage("sent", "<s@x>"));
    pop3Server_ = [this]() -> Result<std::unique_ptr<net::Transport>> {
      connections_++;
      servers_.push_back(pop_.start());
      return servers_.back()->clientTransport();
    };
  }

  // INBOX message i at the source, and at its POP3 side as "pop-i".
  void addInbox(int i) {
    source_.add("INBOX", FakeSource::makeMessage("m" + std::to_string(i), "<m" + std::to_string(i) + "@x>",
                                                 static_cast<size_t>(100 * i)));
    pop_.messages.push_back({"pop-" + std::to_string(i), source_.folders["INBOX"].messages.back().bytes});
  }

  // "uidl/order" of each INBOX copy, in the order the copies were saved.
  std::vector<std::string> inboxUidls() {
    std::vector<std::string> out;
    for (const testing::StoredMessage* m : sink_->all("INBOX")) {
      out.push_back(m->pop3Uidl + "/" + std::to_string(m->pop3Order));
    }
    return out;
  }

  bool warned(const MigrationReport& r, const std::string& text) {
    return std::any_of(r.warnings.begin(), r.warnings.end(),
                       [&text](const std::string& w) { return w.find(text) != std::string::npos; });
  }

  testing::FakePop3 pop_;
  std::vector<std::unique_ptr<testing::FakeImapServer>> servers_;
  int connections_ = 0;
};

TEST_F(Pop3CarryTest, InboxCopiesKeepTheOldUidlsAndOrderWhateverOrderPop3ListsThemIn) {
  std::swap(pop_.messages[0], pop_.messages[3]);  // POP3 lists message 4 first
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(inboxUidls(), (std::vector<std::string>{"pop-1/4", "pop-2/2", "pop-3/3", "pop-4/1"}));
  EXPECT_EQ(sink_->all("Sent")[0]->pop3Uidl, "") << "only INBOX has POP3 UIDLs";
  EXPECT_EQ(r.pop3.state, "read");
  EXPECT_EQ(r.pop3.server, "imap.old.example:110 (no TLS)");
  EXPECT_EQ(r.pop3.kept, 4u);
  EXPECT_TRUE(r.pop3.unmatched.empty());
  EXPECT_FALSE(warned(r, "POP3"));
  EXPECT_FALSE(source_.sawWrite.load());
}

TEST_F(Pop3CarryTest, WhatPairsWithNothingIsNamedNeverGuessed) {
  pop_.messages[1].bytes = FakeSource::makeMessage("other", "<other@x>", 200);  // IMAP's 2 is not POP3's 2
  pop_.messages.push_back({"pop-gone", FakeSource::makeMessage("gone", "<gone@x>", 250)});
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(inboxUidls(), (std::vector<std::string>{"pop-1/1", "/0", "pop-3/3", "pop-4/4"}));
  EXPECT_EQ(r.pop3.kept, 3u);
  EXPECT_EQ(r.pop3.unmatched, std::vector<uint32_t>{2});
  EXPECT_EQ(r.pop3.pop3Only, (std::vector<std::string>{"pop-2", "pop-gone"}));
  EXPECT_TRUE(warned(r,
                     "1 INBOX messages have no match in the old server's POP3 list and got new UIDLs "
                     "(source UIDs 2)"));
  EXPECT_TRUE(warned(r, "(UIDLs pop-2, pop-gone)"));
}

TEST_F(Pop3CarryTest, ASourceWithoutPop3InAutoModeIsSkippedQuietly) {
  pop3Server_ = nullptr;  // nothing listens on 110
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(r.pop3.state, "skipped");
  EXPECT_NE(r.pop3.reason.find("connection refused"), std::string::npos) << r.pop3.reason;
  EXPECT_EQ(inboxUidls(), (std::vector<std::string>{"/0", "/0", "/0", "/0"}));
  EXPECT_FALSE(warned(r, "POP3"));
}

TEST_F(Pop3CarryTest, ARefusedLoginInAutoModeIsAWarningAndTheMailStillComes) {
  pop_.password = "another";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(r.pop3.state, "failed");
  EXPECT_TRUE(warned(r, "POP3 UIDLs not kept (imap.old.example:110 (no TLS))"));
}

TEST_F(Pop3CarryTest, ANamedServerThatFailsStopsTheRunBeforeInbox) {
  options_.source.pop3 = parseServiceChoice("pop.old.example:110", "--source-pop3").value();
  pop_.password = "another";
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Auth);
  EXPECT_NE(r.status.message().find("reading the POP3 UIDLs at pop.old.example:110"), std::string::npos)
      << r.status.describe();
  EXPECT_NE(r.status.hint().find("--source-pop3 no"), std::string::npos) << r.status.describe();
  EXPECT_TRUE(sink_->all("INBOX").empty()) << "INBOX is not copied without its UIDLs";
}

TEST_F(Pop3CarryTest, NoIsNeverConnectedAndNothingNewInInboxNeedsNoPop3) {
  options_.source.pop3.mode = ServiceChoice::Mode::No;
  ASSERT_TRUE(run().status.isOk());
  EXPECT_EQ(connections_, 0);
  options_.source.pop3.mode = ServiceChoice::Mode::Auto;
  source_.add("Sent", FakeSource::makeMessage("sent 2", "<s2@x>"));
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(connections_, 0) << "INBOX had nothing new";
  EXPECT_EQ(r.pop3.state, "");
}

TEST_F(Pop3CarryTest, ALaterRunGivesNewInboxMailItsUidlToo) {
  ASSERT_TRUE(run().status.isOk());
  addInbox(5);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(r.pop3.kept, 1u);
  EXPECT_EQ(inboxUidls().back(), "pop-5/5");
}

TEST_F(Pop3CarryTest, CopiesOfAnEarlierRunWithoutUidlsGetThemWhereTheStorageCan) {
  options_.source.pop3.mode = ServiceChoice::Mode::No;
  ASSERT_TRUE(run().status.isOk());
  options_.source.pop3.mode = ServiceChoice::Mode::Auto;
  addInbox(5);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.pop3.kept, 1u);
  EXPECT_EQ(r.pop3.added, 4u);
  EXPECT_EQ(pop3Summary(r.pop3), "kept=1 added=4");
  // The memory sink changes UIDLs as maildir does; the order stays only on the new copy.
  EXPECT_EQ(inboxUidls(), (std::vector<std::string>{"pop-1/0", "pop-2/0", "pop-3/0", "pop-4/0", "pop-5/5"}));
}

TEST_F(Pop3CarryTest, ADryRunCountsWhatWouldKeepItsUidlAndSavesNothing) {
  options_.dryRun = true;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.pop3.state, "read");
  EXPECT_EQ(r.pop3.kept, 4u);
  EXPECT_TRUE(sink_->all("INBOX").empty());
}

}  // namespace
}  // namespace migrate
