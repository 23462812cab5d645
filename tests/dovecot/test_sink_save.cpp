// Saving: flags, keywords, dates, GUIDs, UIDs, large bodies, failures inside a batch.

#include "test_sink_fixture.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "engine/body_digest.h"

namespace migrate::dovecot::testing {
namespace {

TEST_F(SinkTest, SavesFlagsKeywordsDateGuidAndWantedUid) {
  PrepareFolderOptions o;
  o.uidValidity = 777;
  ASSERT_TRUE(sink().prepareFolder("Imported/Sub Folder", o).isOk());
  ASSERT_TRUE(sink().beginBatch("Imported/Sub Folder").isOk());

  std::string raw1 = makeRfc822(1);
  TestMessage m1(raw1);
  m1.msg.sourceUid = 10;
  m1.msg.guid = "0123456789abcdef0123456789abcdef";
  m1.msg.flags = parseFlags({"\\Seen", "\\Flagged", "$Forwarded", "$Label1", "customkw"});
  m1.msg.internalDate = 1234567890;
  m1.msg.tzOffsetMinutes = 120;
  m1.msg.wantUid = 10;
  ASSERT_TRUE(sink().save(m1.msg).isOk());

  std::string raw2 = makeRfc822(2);
  TestMessage m2(raw2);
  m2.msg.sourceUid = 4242;
  m2.msg.guid = "fedcba9876543210fedcba9876543210";
  m2.msg.flags = parseFlags({"\\Answered", "\\Draft", "\\Deleted"});
  m2.msg.internalDate = 1500000000;
  m2.msg.tzOffsetMinutes = -300;
  m2.msg.wantUid = 4242;
  ASSERT_TRUE(sink().save(m2.msg).isOk());

  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  EXPECT_EQ(c.value().uidValidity, 777u);
  EXPECT_EQ(c.value().uids, (std::vector<uint32_t>{10, 4242}));
  EXPECT_EQ(c.value().uidNext, 4243u);

  std::vector<StoredMail> got = readAll("Imported/Sub Folder");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].uid, 10u);
  EXPECT_EQ(got[0].flags, kFlagSeen | kFlagFlagged);
  EXPECT_EQ(got[0].keywords, (std::vector<std::string>{"$Forwarded", "$Label1", "customkw"}));
  EXPECT_EQ(got[0].received, 1234567890);
  EXPECT_EQ(got[0].guid, m1.msg.guid);
  EXPECT_EQ(got[0].body, raw1);
  EXPECT_EQ(got[0].virtualSize, raw1.size());
  EXPECT_EQ(got[1].uid, 4242u);
  EXPECT_EQ(got[1].flags, kFlagAnswered | kFlagDraft | kFlagDeleted);
  EXPECT_TRUE(got[1].keywords.empty());
  EXPECT_EQ(got[1].received, 1500000000);
  EXPECT_EQ(got[1].guid, m2.msg.guid);
  EXPECT_EQ(got[1].body, raw2);

  Result<DestFolderStatus> st = sink().folderStatus("Imported/Sub Folder");
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st.value().messages, 2u);
  EXPECT_EQ(st.value().uidNext, 4243u);
}

TEST_F(SinkTest, InvalidKeywordsAreDroppedAndValidOnesKept) {
  ASSERT_TRUE(sink().prepareFolder("Kw", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("Kw").isOk());
  TestMessage m(makeRfc822(1));
  // mailbox_keywords_create_valid() alone would drop all of them (notes §0.3).
  m.msg.flags.system = kFlagSeen;
  m.msg.flags.keywords = {"$Label1", "\\Recent", "bad kw", "bad(kw", "", "good-kw", std::string(300, 'k')};
  Status st = sink().save(m.msg);
  ASSERT_TRUE(st.isOk()) << st.describe();
  ASSERT_TRUE(sink().commitBatch().isOk());
  std::vector<StoredMail> got = readAll("Kw");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].keywords, (std::vector<std::string>{"$Label1", "good-kw"}));
  EXPECT_EQ(got[0].flags, kFlagSeen);
}

TEST_F(SinkTest, SavesASixMegabyteFileBackedBodyByteExact) {
  ASSERT_TRUE(sink().prepareFolder("Big", PrepareFolderOptions{}).isOk());
  std::string raw = makeRfc822(7, 6u << 20);
  // Some binary-ish content too (8-bit bytes, no NULs, CRLF line ends kept).
  raw.insert(raw.size() / 2, "caf\xc3\xa9 \xff\xfe\x80\r\n");
  ASSERT_GT(raw.size(), MessageBody::kMemoryLimit);
  TestMessage m(raw, sink().tempDir());
  ASSERT_FALSE(m.body.inMemory());
  ASSERT_GE(m.body.fd(), 0);
  m.msg.guid = "big1";
  ASSERT_TRUE(sink().beginBatch("Big").isOk());
  Status st = sink().save(m.msg);
  ASSERT_TRUE(st.isOk()) << st.describe();
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  ASSERT_EQ(c.value().uids.size(), 1u);

  std::vector<StoredMail> got = readAll("Big");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].virtualSize, raw.size());
  ASSERT_EQ(got[0].body.size(), raw.size());
  EXPECT_TRUE(got[0].body == raw) << "first difference at byte "
                                  << (std::mismatch(raw.begin(), raw.end(), got[0].body.begin()).first -
                                      raw.begin());

  // The fd still belongs to the body and can be saved again (fresh stream, offset 0).
  ASSERT_TRUE(sink().beginBatch("Big").isOk());
  m.msg.guid = "big2";
  ASSERT_TRUE(sink().save(m.msg).isOk());
  ASSERT_TRUE(sink().commitBatch().isOk());
  got = readAll("Big");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[1].body == raw);
  EXPECT_NE(fcntl(m.body.fd(), F_GETFD), -1);
}

class SinkCrlfStorageTest : public StorageTest {
 protected:
  void SetUp() override { startUser("maildir", {"mail_save_crlf=yes"}); }
};

TEST_F(SinkCrlfStorageTest, FileOnDiskIsTheSameBytes) {
  ASSERT_TRUE(sink().prepareFolder("Big", PrepareFolderOptions{}).isOk());
  std::string raw = makeRfc822(8, 5u << 20);
  TestMessage m(raw);
  ASSERT_FALSE(m.body.inMemory());
  ASSERT_TRUE(sink().beginBatch("Big").isOk());
  ASSERT_TRUE(sink().save(m.msg).isOk());
  ASSERT_TRUE(sink().commitBatch().isOk());
  std::vector<StoredMail> got = readAll("Big");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].body == raw);
  Result<std::vector<ContentKey>> keys = sink().contentKeys("Big", 1);
  ASSERT_TRUE(keys.isOk());
  ASSERT_EQ(keys.value().size(), 1u);
  EXPECT_EQ(keys.value()[0].size, raw.size());
}

// The contract the engine relies on: a failed save leaves the batch usable, and commitBatch()
// commits what was saved before (and after) the failure.
TEST_F(SinkTest, FailedSaveThenCommitKeepsTheOtherMessages) {
  PrepareFolderOptions o;
  o.uidValidity = 5;
  ASSERT_TRUE(sink().prepareFolder("Partial", o).isOk());
  ASSERT_TRUE(sink().beginBatch("Partial").isOk());

  TestMessage a(makeRfc822(1));
  a.msg.guid = "okA";
  a.msg.wantUid = 1;
  ASSERT_TRUE(sink().save(a.msg).isOk());

  // A spool file that lost bytes after it was written: the sized stream fails the read inside
  // the save loop (save_continue), so the save is cancelled.
  std::string big = makeRfc822(2, 5u << 20);
  TestMessage bad(big);
  ASSERT_FALSE(bad.body.inMemory());
  ASSERT_EQ(ftruncate(bad.body.fd(), 1000), 0);
  bad.msg.guid = "broken";
  bad.msg.sourceUid = 2;
  bad.msg.wantUid = 2;
  Status st = sink().save(bad.msg);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::LocalStorage);
  EXPECT_NE(st.message().find("\"Partial\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("source UID 2"), std::string::npos) << st.message();

  TestMessage c(makeRfc822(3));
  c.msg.guid = "okC";
  c.msg.wantUid = 3;
  ASSERT_TRUE(sink().save(c.msg).isOk());

  Result<Sink::CommitResult> r = sink().commitBatch();
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_EQ(r.value().uids, (std::vector<uint32_t>{1, 3}));
  std::vector<StoredMail> got = readAll("Partial");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].guid, "okA");
  EXPECT_EQ(got[1].guid, "okC");
  EXPECT_EQ(got[1].uid, 3u);

  // No stray file of the failed message anywhere.
  Result<std::unordered_map<std::string, uint32_t>> g = sink().guidsFrom("Partial", 1);
  ASSERT_TRUE(g.isOk());
  EXPECT_EQ(g.value().size(), 2u);
  EXPECT_EQ(g.value().count("broken"), 0u);
}

TEST_F(SinkTest, FailedOnlySaveCommitsNothing) {
  ASSERT_TRUE(sink().prepareFolder("Nothing", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("Nothing").isOk());
  TestMessage bad(makeRfc822(2, 5u << 20));
  ASSERT_EQ(ftruncate(bad.body.fd(), 10), 0);
  ASSERT_FALSE(sink().save(bad.msg).isOk());
  Result<Sink::CommitResult> r = sink().commitBatch();
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_TRUE(r.value().uids.empty());
  EXPECT_EQ(r.value().uidNext, 1u);
  EXPECT_TRUE(readAll("Nothing").empty());
}

TEST_F(SinkTest, RollbackDropsTheBatch) {
  ASSERT_TRUE(sink().prepareFolder("Rb", PrepareFolderOptions{}).isOk());
  saveSimple("Rb", 1);
  ASSERT_TRUE(sink().beginBatch("Rb").isOk());
  TestMessage m(makeRfc822(9));
  ASSERT_TRUE(sink().save(m.msg).isOk());
  sink().rollbackBatch();
  EXPECT_EQ(readAll("Rb").size(), 1u);
  // The sink is usable afterwards, also for another folder.
  saveSimple("Rb", 1, 2);
  ASSERT_TRUE(sink().prepareFolder("Rb2", PrepareFolderOptions{}).isOk());
  saveSimple("Rb2", 1);
  EXPECT_EQ(readAll("Rb").size(), 2u);
  EXPECT_EQ(readAll("Rb2").size(), 1u);
}

TEST_F(SinkTest, BatchMisuseIsAnInternalError) {
  TestMessage m(makeRfc822(1));
  Status st = sink().save(m.msg);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Internal);
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().kind(), ErrorKind::Internal);
  ASSERT_TRUE(sink().prepareFolder("X", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("X").isOk());
  Status again = sink().beginBatch("X");
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.kind(), ErrorKind::Internal);
  sink().rollbackBatch();
  Status missing = sink().beginBatch("Missing");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.kind(), ErrorKind::NotFound);
}

TEST_F(SinkTest, ConsecutiveBatchesOfOneFolderAndUidNext) {
  ASSERT_TRUE(sink().prepareFolder("Many", PrepareFolderOptions{}).isOk());
  for (int batch = 0; batch < 3; batch++) {
    ASSERT_TRUE(sink().beginBatch("Many").isOk());
    for (int i = 0; i < 4; i++) {
      TestMessage m(makeRfc822(batch * 4 + i));
      m.msg.guid = "m" + std::to_string(batch * 4 + i);
      ASSERT_TRUE(sink().save(m.msg).isOk());
    }
    Result<Sink::CommitResult> c = sink().commitBatch();
    ASSERT_TRUE(c.isOk()) << c.status().describe();
    uint32_t first = static_cast<uint32_t>(batch * 4 + 1);
    EXPECT_EQ(c.value().uids, (std::vector<uint32_t>{first, first + 1, first + 2, first + 3}));
    EXPECT_EQ(c.value().uidNext, first + 4);
  }
  EXPECT_EQ(readAll("Many").size(), 12u);
}

// Wanted UIDs below UIDNEXT cannot be kept: lib-storage assigns new ones (after the highest
// wanted UID of the batch), and the sink reports them in save order.
TEST_F(SinkTest, WantedUidsBelowUidNextGetNewUids) {
  ASSERT_TRUE(sink().prepareFolder("Uids", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("Uids").isOk());
  TestMessage a(makeRfc822(1));
  a.msg.wantUid = 10;
  a.msg.guid = "u10";
  ASSERT_TRUE(sink().save(a.msg).isOk());
  Result<Sink::CommitResult> c1 = sink().commitBatch();
  ASSERT_TRUE(c1.isOk());
  EXPECT_EQ(c1.value().uids, std::vector<uint32_t>{10});

  ASSERT_TRUE(sink().beginBatch("Uids").isOk());
  TestMessage b(makeRfc822(2));
  b.msg.wantUid = 5;  // < UIDNEXT 11: cannot be kept
  b.msg.guid = "u5";
  ASSERT_TRUE(sink().save(b.msg).isOk());
  TestMessage c(makeRfc822(3));
  c.msg.wantUid = 20;
  c.msg.guid = "u20";
  ASSERT_TRUE(sink().save(c.msg).isOk());
  TestMessage d(makeRfc822(4));
  d.msg.wantUid = 0;  // any
  d.msg.guid = "uany";
  ASSERT_TRUE(sink().save(d.msg).isOk());
  Result<Sink::CommitResult> c2 = sink().commitBatch();
  ASSERT_TRUE(c2.isOk()) << c2.status().describe();
  EXPECT_EQ(c2.value().uids, (std::vector<uint32_t>{21, 20, 22}));
  EXPECT_EQ(c2.value().uidNext, 23u);

  std::vector<StoredMail> got = readAll("Uids");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].uid, 10u);
  EXPECT_EQ(got[0].guid, "u10");
  EXPECT_EQ(got[1].uid, 20u);
  EXPECT_EQ(got[1].guid, "u20");
  EXPECT_EQ(got[2].uid, 21u);
  EXPECT_EQ(got[2].guid, "u5");
  EXPECT_EQ(got[3].uid, 22u);
  EXPECT_EQ(got[3].guid, "uany");
}

TEST_F(SinkTest, GuidsFromReturnsTheGuidsAtOrAboveMinUid) {
  ASSERT_TRUE(sink().prepareFolder("G", PrepareFolderOptions{}).isOk());
  std::vector<uint32_t> uids = saveSimple("G", 5);
  ASSERT_EQ(uids, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  Result<std::unordered_map<std::string, uint32_t>> all = sink().guidsFrom("G", 0);
  ASSERT_TRUE(all.isOk()) << all.status().describe();
  EXPECT_EQ(all.value().size(), 5u);
  Result<std::unordered_map<std::string, uint32_t>> from3 = sink().guidsFrom("G", 3);
  ASSERT_TRUE(from3.isOk());
  std::unordered_map<std::string, uint32_t> want = {{"g3", 3}, {"g4", 4}, {"g5", 5}};
  EXPECT_EQ(from3.value(), want);
  Result<std::unordered_map<std::string, uint32_t>> none = sink().guidsFrom("G", 6);
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none.value().empty());
  Result<std::unordered_map<std::string, uint32_t>> missing = sink().guidsFrom("Missing", 1);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().kind(), ErrorKind::NotFound);
}

TEST_F(SinkTest, ContentKeysHaveMessageIdDateAndSize) {
  ASSERT_TRUE(sink().prepareFolder("C", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("C").isOk());
  std::string raw1 = makeRfc822(1, 100);
  TestMessage m1(raw1);
  m1.msg.internalDate = 1600000000;
  ASSERT_TRUE(sink().save(m1.msg).isOk());
  std::string raw2 = "Subject: no id\r\n\r\nbody\r\n";
  TestMessage m2(raw2);
  m2.msg.internalDate = 1600000001;
  ASSERT_TRUE(sink().save(m2.msg).isOk());
  std::string raw3 = "Subject: folded\r\nMessage-Id:\r\n  <folded@test>  \r\n\r\nbody\r\n";
  TestMessage m3(raw3);
  ASSERT_TRUE(sink().save(m3.msg).isOk());
  ASSERT_TRUE(sink().commitBatch().isOk());

  Result<std::vector<ContentKey>> keys = sink().contentKeys("C", 1);
  ASSERT_TRUE(keys.isOk()) << keys.status().describe();
  ASSERT_EQ(keys.value().size(), 3u);
  // Spelled and trimmed as the engine extracts it from the source (case-insensitive name,
  // folding removed).
  EXPECT_EQ(keys.value()[2].messageId, "<folded@test>");
  EXPECT_EQ(keys.value()[0].messageId, "<1@test>");
  EXPECT_EQ(keys.value()[0].internalDate, 1600000000);
  EXPECT_EQ(keys.value()[0].size, raw1.size());  // the size IMAP reports (RFC822.SIZE)
  EXPECT_EQ(keys.value()[1].messageId, "");
  EXPECT_EQ(keys.value()[1].internalDate, 1600000001);
  EXPECT_EQ(keys.value()[1].size, raw2.size());
}

TEST_F(SinkTest, UpdateFlagsByUidHintAndByGuid) {
  ASSERT_TRUE(sink().prepareFolder("F", PrepareFolderOptions{}).isOk());
  std::vector<uint32_t> uids = saveSimple("F", 4);
  ASSERT_EQ(uids.size(), 4u);

  std::vector<FlagUpdate> ups(5);
  ups[0].guid = "g1";  // right hint
  ups[0].uidHint = 1;
  ups[0].flags = parseFlags({"\\Seen", "$Label1"});
  ups[1].guid = "g2";  // wrong hint (points at g3): found by GUID
  ups[1].uidHint = 3;
  ups[1].flags = parseFlags({"\\Flagged"});
  ups[2].guid = "g4";  // no hint
  ups[2].flags = parseFlags({"kw-a", "kw-b", "bad kw"});
  ups[3].guid = "g3";  // unchanged (no flags before, none now)
  ups[3].uidHint = 3;
  ups[4].guid = "deleted-meanwhile";
  ups[4].uidHint = 2;
  ups[4].flags = parseFlags({"\\Deleted"});
  Result<uint32_t> n = sink().updateFlags("F", ups);
  ASSERT_TRUE(n.isOk()) << n.status().describe();
  EXPECT_EQ(n.value(), 3u);

  std::vector<StoredMail> got = readAll("F");
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].flags, kFlagSeen);
  EXPECT_EQ(got[0].keywords, std::vector<std::string>{"$Label1"});
  EXPECT_EQ(got[1].flags, kFlagFlagged);
  EXPECT_TRUE(got[1].keywords.empty());
  EXPECT_EQ(got[2].flags, 0);
  EXPECT_EQ(got[3].flags, 0);
  EXPECT_EQ(got[3].keywords, (std::vector<std::string>{"kw-a", "kw-b"}));

  // Same again: nothing changes. Then replace (remove a keyword, clear a flag).
  ups.resize(3);
  Result<uint32_t> n2 = sink().updateFlags("F", ups);
  ASSERT_TRUE(n2.isOk());
  EXPECT_EQ(n2.value(), 0u);
  std::vector<FlagUpdate> repl(1);
  repl[0].guid = "g1";
  repl[0].uidHint = 1;
  repl[0].flags = parseFlags({"\\Answered"});
  Result<uint32_t> n3 = sink().updateFlags("F", repl);
  ASSERT_TRUE(n3.isOk());
  EXPECT_EQ(n3.value(), 1u);
  got = readAll("F");
  EXPECT_EQ(got[0].flags, kFlagAnswered);
  EXPECT_TRUE(got[0].keywords.empty());

  Result<uint32_t> missing = sink().updateFlags("Missing", repl);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().kind(), ErrorKind::NotFound);
}

TEST_F(SinkTest, InvalidGuidIsRejectedBeforeTouchingTheStorage) {
  ASSERT_TRUE(sink().prepareFolder("BadGuid", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("BadGuid").isOk());
  TestMessage m(makeRfc822(1));
  m.msg.guid = "a/b:2,S";
  Status st = sink().save(m.msg);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Internal);
  ASSERT_TRUE(sink().commitBatch().isOk());
  EXPECT_TRUE(readAll("BadGuid").empty());
}

TEST_F(SinkTest, NoQuotaPluginMeansUnlimited) {
  // test_mail_storage_init() uses NO_PLUGINS; the symbols are absent from this process unless
  // the quota test below loaded (and since unloaded) the plugin.
  Result<QuotaInfo> q = sink().quota();
  ASSERT_TRUE(q.isOk()) << q.status().describe();
  EXPECT_FALSE(q.value().limited);
}

// The same save/read-back checks on the other storages of 2.3.19.
class SinkDriverTest : public StorageTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    std::string driver = GetParam();
    if (driver == "mbox") {
      startUser("mbox", {}, "mail:INBOX=~/mbox-inbox");
    } else {
      startUser(driver);
    }
  }
};

TEST_P(SinkDriverTest, SaveReadBackAndFailedSave) {
  std::string driver = GetParam();
  PrepareFolderOptions o;
  o.uidValidity = 31337;
  Result<DestFolderStatus> p = sink().prepareFolder("Work/Sub", o);
  ASSERT_TRUE(p.isOk()) << p.status().describe();
  EXPECT_EQ(p.value().uidValidity, 31337u);
  bool saveGuids = driver != "mbox";
  EXPECT_EQ(p.value().haveSaveGuids, saveGuids);

  ASSERT_TRUE(sink().beginBatch("Work/Sub").isOk());
  std::string raw1 = makeRfc822(1);
  TestMessage m1(raw1);
  m1.msg.guid = "d1";
  m1.msg.wantUid = 7;
  m1.msg.internalDate = 1400000000;
  m1.msg.flags = parseFlags({"\\Seen", "$Label2"});
  ASSERT_TRUE(sink().save(m1.msg).isOk());
  TestMessage bad(makeRfc822(2, 5u << 20));
  ASSERT_EQ(ftruncate(bad.body.fd(), 100), 0);
  ASSERT_FALSE(sink().save(bad.msg).isOk());
  std::string raw3 = makeRfc822(3, 5u << 20);  // file-backed
  TestMessage m3(raw3);
  m3.msg.guid = "d3";
  m3.msg.wantUid = 9;
  m3.msg.internalDate = 1400000100;
  ASSERT_TRUE(sink().save(m3.msg).isOk());
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  EXPECT_EQ(c.value().uidValidity, 31337u);
  EXPECT_EQ(c.value().uids, (std::vector<uint32_t>{7, 9}));
  EXPECT_EQ(c.value().uidNext, 10u);

  std::vector<StoredMail> got = readAll("Work/Sub");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].uid, 7u);
  EXPECT_EQ(got[0].flags, kFlagSeen);
  EXPECT_EQ(got[0].keywords, std::vector<std::string>{"$Label2"});
  EXPECT_EQ(got[0].received, 1400000000);
  EXPECT_EQ(got[0].body, raw1);
  EXPECT_EQ(got[1].uid, 9u);
  EXPECT_EQ(got[1].received, 1400000100);
  EXPECT_TRUE(got[1].body == raw3);
  if (saveGuids) {
    EXPECT_EQ(got[0].guid, "d1");
    EXPECT_EQ(got[1].guid, "d3");
    Result<std::unordered_map<std::string, uint32_t>> g = sink().guidsFrom("Work/Sub", 8);
    ASSERT_TRUE(g.isOk());
    EXPECT_EQ(g.value(), (std::unordered_map<std::string, uint32_t>{{"d3", 9}}));
  }
  Result<std::vector<ContentKey>> keys = sink().contentKeys("Work/Sub", 1);
  ASSERT_TRUE(keys.isOk()) << keys.status().describe();
  ASSERT_EQ(keys.value().size(), 2u);
  EXPECT_EQ(keys.value()[1].messageId, "<3@test>");
  EXPECT_EQ(keys.value()[1].size, raw3.size());
  // From a UID on, with each key's UID and GUID (a cut-short commit is recognised by content).
  Result<std::vector<ContentKey>> tail = sink().contentKeys("Work/Sub", keys.value()[1].uid);
  ASSERT_TRUE(tail.isOk());
  ASSERT_EQ(tail.value().size(), 1u);
  EXPECT_EQ(tail.value()[0].uid, keys.value()[1].uid);
  EXPECT_EQ(tail.value()[0].messageId, "<3@test>");
  if (saveGuids) {
    EXPECT_EQ(tail.value()[0].guid, "d3");
  }
}

// The old server's POP3 UIDLs and order go with the saved messages, in a first batch into an
// empty INBOX and in a later run's (where sdbox needs its index header raised), so that the POP3
// server here answers UIDL as the old one did. mbox cannot keep them.
TEST_P(SinkDriverTest, Pop3UidlsAndOrderAreKept) {
  const std::string driver = GetParam();
  ASSERT_TRUE(sink().prepareFolder("INBOX", PrepareFolderOptions{}).isOk());
  auto saveBatch = [&](int first, int count) {
    ASSERT_TRUE(sink().beginBatch("INBOX").isOk());
    for (int n = first; n < first + count; n++) {
      TestMessage m(makeRfc822(n));
      m.msg.guid = "p" + std::to_string(n);
      m.msg.pop3Uidl = "OLD-UIDL-" + std::to_string(n);
      m.msg.pop3Order = static_cast<uint32_t>(100 - n);  // the old server listed them backwards
      ASSERT_TRUE(sink().save(m.msg).isOk());
    }
    Result<Sink::CommitResult> c = sink().commitBatch();
    ASSERT_TRUE(c.isOk()) << c.status().describe();
  };
  saveBatch(1, 2);
  sink_ = makeDovecotSink(user(), SinkOptions());  // a later run: INBOX is not empty now
  saveBatch(3, 4);
  TestMessage plain(makeRfc822(9));
  plain.msg.pop3Uidl = "has space";  // not a POP3 unique-id: nothing is kept, the save works
  ASSERT_TRUE(sink().beginBatch("INBOX").isOk());
  ASSERT_TRUE(sink().save(plain.msg).isOk());
  ASSERT_TRUE(sink().commitBatch().isOk());

  std::vector<StoredMail> got = readAll("INBOX");
  ASSERT_EQ(got.size(), 7u);
  for (size_t i = 0; i < 6; i++) {
    const int n = static_cast<int>(i) + 1;
    if (driver == "mbox") {
      EXPECT_EQ(got[i].pop3Uidl, "") << "mbox keeps no UIDLs";
      continue;
    }
    EXPECT_EQ(got[i].pop3Uidl, "OLD-UIDL-" + std::to_string(n)) << driver << " message " << n;
    EXPECT_EQ(got[i].pop3Order, static_cast<uint32_t>(100 - n)) << driver << " message " << n;
  }
  EXPECT_EQ(got[6].pop3Uidl, "");
}

// `migrate verify`'s reads: every message with its flags and keywords, and the digest of each
// stored body, equal to the digest of the bytes that were saved (maildir stores LF line ends,
// mbox adds its From line: the digest sees the message as IMAP would send it). A folder that is
// not there is NotFound and is not created; nothing is written.
TEST_P(SinkDriverTest, VerifyListsFlagsAndDigestsBodiesReadOnly) {
  ASSERT_TRUE(sink().prepareFolder("Work", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("Work").isOk());
  std::vector<std::string> raws = {makeRfc822(1), makeRfc822(2, 5u << 20)};  // memory and file-backed
  for (size_t i = 0; i < raws.size(); i++) {
    TestMessage m(raws[i]);
    m.msg.guid = "v" + std::to_string(i);
    m.msg.internalDate = 1400000000 + static_cast<int64_t>(i);
    m.msg.flags = i == 0 ? parseFlags({"\\Seen", "\\Flagged", "$Label1"}) : MessageFlags();
    ASSERT_TRUE(sink().save(m.msg).isOk());
  }
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  const std::vector<StoredMail> before = readAll("Work");

  Result<std::vector<DestMessage>> list = sink().listMessages("Work");
  ASSERT_TRUE(list.isOk()) << list.status().describe();
  ASSERT_EQ(list.value().size(), 2u);
  EXPECT_EQ(list.value()[0].flags, parseFlags({"\\Seen", "\\Flagged", "$Label1"}));
  EXPECT_EQ(list.value()[1].flags, MessageFlags());
  EXPECT_EQ(list.value()[0].key.messageId, "<1@test>");
  EXPECT_EQ(list.value()[1].key.internalDate, 1400000001);
  EXPECT_EQ(list.value()[1].key.size, raws[1].size());

  Result<std::unordered_map<uint32_t, std::string>> digests =
      sink().bodyDigests("Work", {c.value().uids[0], c.value().uids[1], 999});
  ASSERT_TRUE(digests.isOk()) << digests.status().describe();
  ASSERT_EQ(digests.value().size(), 2u) << "a UID that is not there is left out";
  for (size_t i = 0; i < raws.size(); i++) {
    BodyDigest d;
    d.update(raws[i].data(), raws[i].size());
    EXPECT_EQ(digests.value()[c.value().uids[i]], d.finish()) << GetParam() << " message " << i;
  }

  Result<std::vector<DestMessage>> missing = sink().listMessages("Nope");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().kind(), ErrorKind::NotFound);
  Result<DestFolderStatus> nope = sink().folderStatus("Nope");
  EXPECT_FALSE(nope.isOk()) << "verify created the folder";
  EXPECT_EQ(readAll("Work").size(), before.size());
  EXPECT_EQ(readAll("Work")[0].flags, before[0].flags);
}

// As the doveadm command runs it (mail_fsync switched to never, SinkOptions::syncAfterCommit):
// the same results, with what each commit wrote flushed file by file (a failed save's file
// included: it is held, then deleted by lib-storage), into a folder created with its parents;
// a commit that saved nothing, and a flag change.
TEST_P(SinkDriverTest, FlushedCommitsKeepEverything) {
  SinkOptions options;
  options.syncAfterCommit = true;
  sink_ = makeDovecotSink(user(), options);
  ASSERT_TRUE(sink().prepareFolder("New/Deep", PrepareFolderOptions()).isOk());
  ASSERT_TRUE(sink().beginBatch("New/Deep").isOk());
  TestMessage m1(makeRfc822(1));
  m1.msg.guid = "g1";
  ASSERT_TRUE(sink().save(m1.msg).isOk());
  TestMessage bad(makeRfc822(2, 5u << 20));
  ASSERT_EQ(ftruncate(bad.body.fd(), 100), 0);
  ASSERT_FALSE(sink().save(bad.msg).isOk());
  TestMessage m3(makeRfc822(3, 5u << 20));
  m3.msg.guid = "g3";
  ASSERT_TRUE(sink().save(m3.msg).isOk());
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  ASSERT_EQ(c.value().uids.size(), 2u);

  ASSERT_TRUE(sink().beginBatch("New/Deep").isOk());
  Result<Sink::CommitResult> empty = sink().commitBatch();
  ASSERT_TRUE(empty.isOk()) << empty.status().describe();
  EXPECT_TRUE(empty.value().uids.empty());

  FlagUpdate u;
  u.guid = "g3";
  u.uidHint = c.value().uids[1];
  u.flags = parseFlags({"\\Flagged"});
  bool saveGuids = std::string(GetParam()) != "mbox";
  Result<uint32_t> changed = sink().updateFlags("New/Deep", {u});
  ASSERT_TRUE(changed.isOk()) << changed.status().describe();
  EXPECT_EQ(changed.value(), saveGuids ? 1u : 0u);
  std::vector<StoredMail> got = readAll("New/Deep");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].flags, saveGuids ? kFlagFlagged : 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SinkDriverTest, ::testing::Values("maildir", "sdbox", "mdbox", "mbox"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

// guidsFrom() on 10,000 messages: what the engine does before each folder.
class SinkScaleTest : public StorageTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { startUser(GetParam()); }
};

TEST_P(SinkScaleTest, GuidsFromTenThousandMessages) {
  constexpr int kCount = 10000;
  constexpr int kBatch = 500;
  ASSERT_TRUE(sink().prepareFolder("Ten", PrepareFolderOptions{}).isOk());
  auto t0 = std::chrono::steady_clock::now();
  for (int batch = 0; batch < kCount / kBatch; batch++) {
    ASSERT_TRUE(sink().beginBatch("Ten").isOk());
    for (int i = 0; i < kBatch; i++) {
      int n = batch * kBatch + i + 1;
      TestMessage m("Message-ID: <" + std::to_string(n) + "@ten>\r\n\r\nbody " + std::to_string(n) + "\r\n");
      m.msg.guid = "ten" + std::to_string(n);
      m.msg.wantUid = static_cast<uint32_t>(n);
      ASSERT_TRUE(sink().save(m.msg).isOk());
    }
    Result<Sink::CommitResult> c = sink().commitBatch();
    ASSERT_TRUE(c.isOk()) << c.status().describe();
    ASSERT_EQ(c.value().uidNext, static_cast<uint32_t>((batch + 1) * kBatch + 1));
  }
  auto t1 = std::chrono::steady_clock::now();
  // Nothing cached: a new sink, and the in-process index cache dropped.
  sink_ = makeDovecotSink(user());
  mail_index_alloc_cache_destroy_unrefed();
  auto t1b = std::chrono::steady_clock::now();
  Result<std::unordered_map<std::string, uint32_t>> g = sink().guidsFrom("Ten", 1);
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(g.isOk()) << g.status().describe();
  ASSERT_EQ(g.value().size(), static_cast<size_t>(kCount));
  EXPECT_EQ(g.value().at("ten1"), 1u);
  EXPECT_EQ(g.value().at("ten10000"), 10000u);
  Result<std::unordered_map<std::string, uint32_t>> tail = sink().guidsFrom("Ten", 9901);
  auto t3 = std::chrono::steady_clock::now();
  ASSERT_TRUE(tail.isOk());
  EXPECT_EQ(tail.value().size(), 100u);
  Result<std::vector<ContentKey>> keys = sink().contentKeys("Ten", 1);
  auto t4 = std::chrono::steady_clock::now();
  ASSERT_TRUE(keys.isOk());
  EXPECT_EQ(keys.value().size(), static_cast<size_t>(kCount));
  auto ms = [](auto d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  std::printf(
      "[ timing ] %s: save %d in batches of %d: %lld ms; guidsFrom(all): %lld ms; "
      "guidsFrom(last 100): %lld ms; contentKeys(all): %lld ms\n",
      GetParam(), kCount, kBatch, ms(t1 - t0), ms(t2 - t1b), ms(t3 - t2), ms(t4 - t3));
  EXPECT_LT(ms(t2 - t1b), 5000);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SinkScaleTest, ::testing::Values("maildir", "sdbox", "mdbox"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

}  // namespace
}  // namespace migrate::dovecot::testing
