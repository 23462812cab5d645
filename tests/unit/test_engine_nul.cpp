// The engine and NUL bytes: a source that offers BINARY gives a message with a NUL exactly,
// when its BINARY[] is provably the same message; everything else is stored as BODY[] sent it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class EngineNulTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    source_.capabilities += " BINARY";
  }
  std::string stored(uint32_t index) const { return sink_->all("INBOX").at(index)->bytes; }
  std::string sourceBytes(uint32_t index) { return source_.folders["INBOX"].messages.at(index).bytes; }
};

// A string literal with its NUL bytes.
template <size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

const std::string kNulMessage =
    bytes("Subject: nul\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\na\0b\r\n");

const std::string kMultipartNul = bytes(
    "Subject: multipart\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
    "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\0y\r\n--b\r\n"
    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n");

// The warnings about folders and messages (not the fixture's plaintext login).
std::vector<std::string> folderWarnings(const MigrationReport& r) {
  std::vector<std::string> out;
  for (const std::string& w : r.warnings) {
    if (w.rfind("folder ", 0) == 0) {
      out.push_back(w);
    }
  }
  return out;
}

std::string as0x80(std::string s) {
  for (char& c : s) {
    if (c == '\0') {
      c = static_cast<char>(0x80);
    }
  }
  return s;
}

TEST_F(EngineNulTest, AnUnencodedMessageWithANulIsStoredExactlyFromBinary) {
  ASSERT_EQ(kNulMessage.size(), 80u);
  ASSERT_NE(kNulMessage.find('\0'), std::string::npos);
  source_.add("INBOX", FakeSource::makeMessage("one", "<1@x>"));
  source_.add("INBOX", kNulMessage, {"\\Seen"});
  source_.add("INBOX", FakeSource::makeMessage("three", "<3@x>"));

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 3u);
  EXPECT_TRUE(folderWarnings(r).empty());
  EXPECT_EQ(source_.binaryFetches.load(), 1);
  ASSERT_EQ(sink_->all("INBOX").size(), 3u);
  // Saved after the others: it keeps its content and flags, not its UID (3 came first).
  EXPECT_EQ(stored(0), sourceBytes(0));
  EXPECT_EQ(stored(1), sourceBytes(2));
  EXPECT_EQ(stored(2), kNulMessage);
  EXPECT_EQ(formatFlags(sink_->all("INBOX")[2]->flags), "\\Seen");
  EXPECT_EQ(sink_->all("INBOX")[2]->uid, 4u);
  EXPECT_FALSE(source_.sawWrite.load());

  // Nothing left to retry, nothing copied twice.
  MigrationReport again = run();
  ASSERT_TRUE(again.status.isOk()) << again.status.describe();
  EXPECT_EQ(again.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 3u);
}

TEST_F(EngineNulTest, TheLastMessageKeepsItsUid) {
  source_.add("INBOX", FakeSource::makeMessage("one", "<1@x>"));
  source_.add("INBOX", kNulMessage);
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(sink_->all("INBOX").size(), 2u);
  EXPECT_EQ(stored(1), kNulMessage);
  EXPECT_EQ(sink_->all("INBOX")[1]->uid, 2u);
}

TEST_F(EngineNulTest, AMessageWithEncodedPartsIsNotFetchedWithBinary) {
  ASSERT_NE(kMultipartNul.find("AAEC"), std::string::npos);
  source_.add("INBOX", kMultipartNul);
  // What Dovecot's BINARY[] would send: the base64 part decoded.
  source_.folders["INBOX"].messages[0].binaryBytes = "decoded";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.binaryFetches.load(), 0);
  ASSERT_EQ(sink_->all("INBOX").size(), 1u);
  EXPECT_EQ(stored(0), as0x80(kMultipartNul));
}

TEST_F(EngineNulTest, ASourceWithoutBinaryGives0x80) {
  source_.capabilities = FakeSource().capabilities;
  source_.add("INBOX", kNulMessage);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.binaryFetches.load(), 0);
  EXPECT_EQ(stored(0), as0x80(kNulMessage));
  EXPECT_TRUE(folderWarnings(r).empty());
}

TEST_F(EngineNulTest, ABinaryAnswerThatIsAnotherMessageIsNotUsed) {
  source_.add("INBOX", kNulMessage);
  std::string other = kNulMessage;
  other[0] = 's';
  source_.folders["INBOX"].messages[0].binaryBytes = other;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(stored(0), as0x80(kNulMessage));
  ASSERT_EQ(folderWarnings(r).size(), 1u);
  EXPECT_NE(folderWarnings(r)[0].find("folder 'INBOX' UID 1: BINARY[] did not give the same message"),
            std::string::npos)
      << folderWarnings(r)[0];
}

TEST_F(EngineNulTest, UnicodeTextIsNotFetchedTwice) {
  // 0x80 in UTF-8 characters (Cyrillic "r", an en dash, an ideographic full stop): common in
  // 8bit mail, and no stand-in for a NUL.
  std::string utf8 =
      "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xd1\x80 \xe2\x80\x93 \xe3\x80\x82\r\n";
  source_.add("INBOX", utf8);
  source_.add("INBOX", FakeSource::makeMessage("two", "<2@x>"));
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.binaryFetches.load(), 0);
  EXPECT_EQ(stored(0), utf8);
  EXPECT_EQ(sink_->all("INBOX")[0]->uid, 1u);
  EXPECT_TRUE(folderWarnings(r).empty());
}

TEST_F(EngineNulTest, AStray0x80ThatIsNoNulStaysAsItIs) {
  std::string cp1251 = "Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nDje: \x80\r\n";
  source_.add("INBOX", cp1251);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.binaryFetches.load(), 1);
  EXPECT_EQ(stored(0), cp1251);
  EXPECT_TRUE(folderWarnings(r).empty());
}

TEST_F(EngineNulTest, SmallBatchesAndADroppedConnectionCopyEachMessageOnce) {
  options_.batchMessages = 1;
  source_.add("INBOX", kNulMessage);
  for (int i = 0; i < 5; i++) {
    source_.add("INBOX", FakeSource::makeMessage("m" + std::to_string(i), "<m" + std::to_string(i) + "@x>"));
  }
  source_.add("INBOX", kNulMessage);
  // Dropped in the middle of the 4th message: the first NUL message waits for BINARY[] while
  // the batches after it are committed.
  source_.dropAfterBodies = 3;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.dropsLeft, 0);
  ASSERT_EQ(sink_->all("INBOX").size(), 7u);
  int exact = 0;
  for (const testing::StoredMessage* m : sink_->all("INBOX")) {
    exact += m->bytes == kNulMessage ? 1 : 0;
  }
  EXPECT_EQ(exact, 2);
  MigrationReport again = run();
  ASSERT_TRUE(again.status.isOk()) << again.status.describe();
  EXPECT_EQ(again.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 7u);
}

}  // namespace
}  // namespace migrate
