// `migrate verify` (engine/verify.h) against the scripted source and the memory sink: after a
// migration it says complete; then each kind of difference at either end is named, mail delivered
// here and mail the filters leave out are not called missing, and nothing is written anywhere.
// Also the body digest (engine/body_digest.h), the result file and JSON
// (engine/verify_result.h), and the batch side (batch/child_run.h, batch/batch_report.h).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "batch/child_run.h"
#include "common/json.h"
#include "engine/body_digest.h"
#include "engine/guid.h"
#include "engine/verify.h"
#include "engine/verify_result.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class VerifyTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    for (int i = 1; i <= 4; i++) {
      source_.add("INBOX",
                  FakeSource::makeMessage("in" + std::to_string(i), "<in" + std::to_string(i) + "@x>",
                                          100 * static_cast<size_t>(i)),
                  i == 1 ? std::vector<std::string>{"\\Seen", "$Work"} : std::vector<std::string>{});
    }
    source_.folder("Sent", {"\\Sent"});
    source_.add("Sent", FakeSource::makeMessage("sent1", "<s1@x>"));
  }

  void migrate() {
    MigrationReport r = run();
    ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  }

  VerifyReport verify(bool full = false) {
    VerifyOptions vo;
    vo.full = full;
    return runVerify(options_, vo, *sink_,
                     [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
                       return source_.connect();
                     });
  }

  static const FolderVerify* folder(const VerifyReport& r, const std::string& dest) {
    for (const FolderVerify& f : r.folders) {
      if (f.destination == dest) {
        return &f;
      }
    }
    return nullptr;
  }

  testing::StoredMessage& stored(const std::string& folder, uint32_t uid) {
    for (testing::StoredMessage& m : sink_->folders[folder].messages) {
      if (m.uid == uid) {
        return m;
      }
    }
    ADD_FAILURE() << "no UID " << uid << " in " << folder;
    return sink_->folders[folder].messages.front();
  }
};

TEST_F(VerifyTest, AfterAMigrationEverythingIsHereAndNothingIsWritten) {
  migrate();
  const int saves = sink_->saves;
  const int commits = sink_->commits;
  const int bodies = source_.bodiesSent.load();
  VerifyReport r = verify();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_TRUE(r.complete());
  EXPECT_STREQ(r.result(), "complete");
  EXPECT_EQ(r.sourceMessages(), 5u);
  EXPECT_EQ(r.matched(), 5u);
  EXPECT_EQ(r.missing() + r.differing() + r.extra() + r.local(), 0u);
  EXPECT_EQ(r.summary(), "ready for cut-over: all 5 messages in 2 folders are here");
  EXPECT_EQ((std::vector<int>{sink_->saves, sink_->commits}), (std::vector<int>{saves, commits}));
  EXPECT_EQ(source_.bodiesSent.load(), bodies) << "a verify without --full downloads no message";
  EXPECT_FALSE(source_.sawWrite.load());
}

TEST_F(VerifyTest, NamesWhatIsMissingWhatDiffersWhatIsExtraAndCountsLocalMail) {
  migrate();
  const uint32_t newUid = source_.add("INBOX", FakeSource::makeMessage("late", "<late@x>"));  // missing here
  source_.setFlags("INBOX", 1, {"\\Seen", "\\Flagged", "$Work"});                             // flags differ
  auto& inbox = source_.folders["INBOX"].messages;
  const uint32_t destOfSource2 = stored("INBOX", 2).uid;
  inbox.erase(inbox.begin() + 1);  // UID 2 deleted at the source: its copy is extra
  testing::StoredMessage local;    // delivered here after the MX switch
  local.uid = sink_->folders["INBOX"].uidNext++;
  local.guid = "0123456789abcdef0123456789abcdef";
  local.bytes = FakeSource::makeMessage("local", "<local@here>");
  sink_->folders["INBOX"].messages.push_back(local);
  sink_->folders["Sent"].messages.clear();  // deleted here by the user

  VerifyReport r = verify();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_FALSE(r.complete());
  EXPECT_STREQ(r.result(), "incomplete");
  const FolderVerify* in = folder(r, "INBOX");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->missing, (std::vector<uint32_t>{newUid}));
  ASSERT_EQ(in->differences.size(), 1u);
  EXPECT_EQ(in->differences[0].sourceUid, 1u);
  EXPECT_EQ(in->differences[0].what, "flags");
  EXPECT_EQ(in->differences[0].source, "\\Seen \\Flagged $Work");
  EXPECT_EQ(in->differences[0].here, "\\Seen $Work");
  EXPECT_EQ(in->extra, (std::map<uint32_t, uint32_t>{{destOfSource2, 2}}));
  EXPECT_EQ(in->local, 1u) << "mail delivered here is counted, not called extra";
  const FolderVerify* sent = folder(r, "Sent");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->missing, (std::vector<uint32_t>{1}));
  EXPECT_EQ(
      r.summary(),
      "NOT ready for cut-over: 2 missing, 1 differing (flags 1), 1 here but gone at the source in 2 folders");
}

TEST_F(VerifyTest, DateAndSizeDifferencesHereAreNamed) {
  migrate();
  stored("INBOX", 3).internalDate += 3600;
  stored("INBOX", 4).bytes += "more\r\n";
  VerifyReport r = verify();
  const FolderVerify* in = folder(r, "INBOX");
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(in->differences.size(), 2u);
  EXPECT_EQ((std::vector<std::string>{in->differences[0].what, in->differences[1].what}),
            (std::vector<std::string>{"date", "size"}));
  EXPECT_EQ(in->differences[0].sourceUid, 3u);
  EXPECT_EQ(in->differences[1].sourceUid, 4u);
  EXPECT_EQ(in->differing(), 2u);
  EXPECT_FALSE(r.complete());
}

TEST_F(VerifyTest, AfterAUidValidityChangeMessagesAreFoundByContent) {
  migrate();
  source_.folders["INBOX"].uidValidity = 777;
  VerifyReport r = verify();
  EXPECT_TRUE(r.complete()) << r.summary();
  const FolderVerify* in = folder(r, "INBOX");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->matched, 4u);
  EXPECT_EQ(in->byContent, 4u);
}

TEST_F(VerifyTest, WhatTheFiltersLeaveOutIsNotMissing) {
  options_.source.filter.maxSize =
      source_.folders["INBOX"].messages[1].bytes.size();  // INBOX 3 and 4 are larger
  options_.source.filter.exclude = {"\\Sent"};
  migrate();
  VerifyReport r = verify();
  EXPECT_TRUE(r.complete()) << r.summary();
  EXPECT_EQ(r.filtered(), 2u);
  const FolderVerify* in = folder(r, "INBOX");
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->filtered, (std::map<std::string, uint32_t>{{"too_large", 2}}));
  EXPECT_EQ(folder(r, "Sent"), nullptr);
  EXPECT_EQ(r.excludedFolders, (std::vector<std::string>{"Sent: --exclude \\Sent"}));
  EXPECT_EQ(r.excludedMessages, 1u);

  options_.source.filter = MessageFilter();  // verified without the filter, they are missing
  r = verify();
  EXPECT_EQ(r.missing(), 3u);
}

TEST_F(VerifyTest, AFolderThatIsNotHereMakesAllItsMessagesMissing) {
  migrate();
  sink_->folders.erase("Sent");
  VerifyReport r = verify();
  const FolderVerify* sent = folder(r, "Sent");
  ASSERT_NE(sent, nullptr);
  EXPECT_TRUE(sent->destMissing);
  EXPECT_EQ(sent->missing, (std::vector<uint32_t>{1}));
  EXPECT_EQ(sink_->folders.count("Sent"), 0u) << "verify creates no folder";
}

TEST_F(VerifyTest, FullComparesEveryBodyAndFindsAChangeOfTheSameSize) {
  migrate();
  std::string& bytes = stored("INBOX", 2).bytes;
  bytes[bytes.size() - 3] = bytes[bytes.size() - 3] == 'x' ? 'y' : 'x';
  EXPECT_TRUE(verify().complete()) << "the same size, date and flags: only --full can tell";
  VerifyReport r = verify(true);
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  const FolderVerify* in = folder(r, "INBOX");
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(in->differences.size(), 1u);
  EXPECT_EQ(in->differences[0].what, "body");
  EXPECT_EQ(in->differences[0].sourceUid, 2u);
  EXPECT_GT(r.bytesCompared, 0u);
  EXPECT_FALSE(source_.sawWrite.load()) << "bodies are fetched with BODY.PEEK";
}

TEST_F(VerifyTest, AWrongPasswordFailsTheVerify) {
  migrate();
  options_.source.password = "wrong";
  VerifyReport r = verify();
  EXPECT_EQ(r.status.kind(), ErrorKind::Auth);
  EXPECT_STREQ(r.result(), "failed");
  EXPECT_FALSE(r.complete());
}

TEST(BodyDigest, LineEndsAndChunkingDoNotMatterButContentDoes) {
  BodyDigest d;
  const std::string crlf = "Subject: a\r\n\r\nline1\r\nline2\r\n";
  d.update(crlf.data(), crlf.size());
  const std::string whole = d.finish();
  const std::string lf = "Subject: a\n\nline1\nline2\n";
  d.update(lf.data(), lf.size());
  EXPECT_EQ(d.finish(), whole) << "maildir keeps LF line ends";
  for (size_t split = 0; split <= crlf.size(); split++) {
    d.update(crlf.data(), split);
    d.update(crlf.data() + split, crlf.size() - split);
    EXPECT_EQ(d.finish(), whole) << "split at " << split;
  }
  const std::string other = "Subject: b\r\n\r\nline1\r\nline2\r\n";
  d.update(other.data(), other.size());
  EXPECT_NE(d.finish(), whole);
  EXPECT_EQ(whole.size(), 64u);
}

TEST(VerifyResult, TheRecordRoundTripsAndANewerVersionIsRefused) {
  VerifyRecord r;
  r.result = "incomplete";
  r.finished = 1700000000;
  r.full = true;
  r.summary = "NOT ready for cut-over: 1 missing";
  r.sourceMessages = 10;
  r.matched = 9;
  r.missing = 1;
  Result<VerifyRecord> back = parseVerifyRecord(serializeVerifyRecord(r));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(back.value().result, "incomplete");
  EXPECT_EQ(back.value().finished, 1700000000);
  EXPECT_TRUE(back.value().full);
  EXPECT_EQ(back.value().summary, r.summary);
  EXPECT_EQ((std::vector<uint64_t>{back.value().sourceMessages, back.value().matched, back.value().missing}),
            (std::vector<uint64_t>{10, 9, 1}));
  Result<VerifyRecord> newer = parseVerifyRecord("{\"version\": 2, \"result\": \"complete\"}");
  ASSERT_FALSE(newer.isOk());
  EXPECT_NE(newer.status().describe().find("newer version"), std::string::npos);
}

TEST_F(VerifyTest, TheJsonDetailsNameEachFolderAndEachDifference) {
  migrate();
  source_.setFlags("INBOX", 1, {});
  VerifyReport r = verify();
  Result<json::Value> v = json::parse(verifyFoldersJson(r));
  ASSERT_TRUE(v.isOk());
  ASSERT_TRUE(v.value().isArray());
  ASSERT_EQ(v.value().items().size(), 2u);
  const json::Value& in = v.value().items()[0];
  EXPECT_EQ(in.get("destination")->text(), "INBOX");
  EXPECT_EQ(in.get("result")->text(), "incomplete");
  ASSERT_EQ(in.get("differences")->items().size(), 1u);
  EXPECT_EQ(in.get("differences")->items()[0].get("what")->text(), "flags");
  EXPECT_EQ(in.get("differences")->items()[0].get("source_uid")->asU64(), 1u);
}

TEST(BatchVerify, TheChildRunsVerifyAndItsRowIsRead) {
  batch::ChildTarget t;
  t.user = "erin";
  t.verify = true;
  EXPECT_EQ(batch::childArgv("", t, {{"full", "", true}}, false),
            (std::vector<std::string>{"doveadm", "-f", "json", "migrate", "verify", "-u", "erin", "--full"}));

  batch::JobResult r;
  r.user = "erin";
  r.line = 4;
  r.started = true;
  batch::readChildOutput(
      "[{\"username\":\"erin\",\"result\":\"incomplete\",\"folders\":\"2\",\"source_messages\":\"10\","
      "\"matched\":\"9\",\"missing\":\"1\",\"differing\":\"0\",\"extra\":\"0\",\"local\":\"3\",\"filtered\":"
      "\"0\","
      "\"summary\":\"NOT ready for cut-over: 1 missing\",\"details\":\"[]\"}]",
      65, "", r);
  EXPECT_TRUE(r.verify.have);
  EXPECT_EQ(r.result, "incomplete");
  EXPECT_EQ((std::vector<uint64_t>{r.verify.matched, r.verify.missing, r.verify.local}),
            (std::vector<uint64_t>{9, 1, 3}));
  EXPECT_FALSE(batch::verifiedComplete(r));
  EXPECT_EQ(batch::verifyLine(r), "line 4 erin: incomplete: NOT ready for cut-over: 1 missing (0.0 s)");

  batch::JobResult ok;
  ok.started = true;
  ok.user = "finn";
  batch::readChildOutput("[{\"result\":\"complete\",\"matched\":\"5\",\"summary\":\"ready\"}]", 0, "", ok);
  EXPECT_TRUE(batch::verifiedComplete(ok));
  batch::JobResult bad = ok;
  batch::readChildOutput("[{\"result\":\"complete\",\"matched\":\"5\",\"summary\":\"ready\"}]", 70, "", bad);
  EXPECT_EQ(bad.result, "failed") << "the exit code wins over the row";
}

}  // namespace
}  // namespace migrate
