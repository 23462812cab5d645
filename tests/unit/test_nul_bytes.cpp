// engine/nul_bytes: which messages BINARY[] may be used for, and the proof that its answer is the
// BODY[] message with NULs where BODY[] had 0x80.
#include "engine/nul_bytes.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace migrate {
namespace {

// The scanner's verdict, fed whole, then split at every point, then byte by byte.
void expectEncoded(const std::string& message, bool encoded) {
  CteScanner whole;
  whole.feed(message.data(), message.size());
  whole.finish();
  EXPECT_EQ(whole.encoded(), encoded) << message;
  for (size_t split = 0; split <= message.size(); split++) {
    CteScanner s;
    s.feed(message.data(), split);
    s.feed(message.data() + split, message.size() - split);
    s.finish();
    ASSERT_EQ(s.encoded(), encoded) << "split at " << split << ": " << message;
  }
  CteScanner bytes;
  for (char c : message) {
    bytes.feed(&c, 1);
  }
  bytes.finish();
  EXPECT_EQ(bytes.encoded(), encoded) << message;
}

TEST(CteScanner, UnencodedMessagesMayUseBinary) {
  expectEncoded("Subject: x\r\n\r\nbody\r\n", false);
  expectEncoded("Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nbody\x80\r\n", false);
  expectEncoded("content-transfer-encoding:7BIT\nSubject: x\n\nbody", false);
  expectEncoded("Content-Transfer-Encoding :\tBinary \r\n\r\n", false);
  expectEncoded("Content-Transfer-Encoding:\r\n 8bit\r\n\r\nx", false);  // folded
  expectEncoded("X-Content-Transfer-Encoding: base64\r\n\r\n", false);   // another header
  expectEncoded("Subject: Content-Transfer-Encoding: base64\r\n\r\n", false);
  expectEncoded("", false);
}

TEST(CteScanner, EncodedOrUnknownPartsDoNot) {
  expectEncoded("Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n", true);
  expectEncoded("Content-Transfer-Encoding: Quoted-Printable\r\n\r\n=00\r\n", true);
  expectEncoded("Content-Transfer-Encoding: x-uuencode\r\n\r\n", true);
  expectEncoded("Content-Transfer-Encoding: 8bit (comment)\r\n\r\n", true);
  expectEncoded("Content-Transfer-Encoding:\r\n\tbase64\r\n\r\n", true);  // folded
  expectEncoded("Content-Transfer-Encoding: 8bit\r\n 7bit\r\n\r\n", true);
  expectEncoded("Content-Transfer-Encoding: base64", true);  // no line end at all
  // A multipart whose second part is base64: Dovecot would decode that part.
  expectEncoded(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nt\x80xt\r\n--b\r\nContent-Type: application/octet-stream\r\n"
      "CONTENT-TRANSFER-ENCODING: BASE64\r\n\r\nAAEC\r\n--b--\r\n",
      true);
}

TEST(CteScanner, LinesTooLongToJudgeCountAsEncoded) {
  expectEncoded("Content-Transfer-Encoding: 8bit" + std::string(2000, ' ') + "\r\n\r\n", true);
  expectEncoded("Content-Transfer-Encoding" + std::string(2000, ' ') + ": 8bit\r\n\r\n", true);
  // A long line that is not the header does not matter.
  expectEncoded("Subject: " + std::string(5000, 'x') + "\r\n\r\n", false);
}

// A body as the session fills it (MessageBody can be neither copied nor moved).
// Stray0x80Scanner's verdict, fed whole and split at every point.
void expectStray(const std::string& bytes, bool found) {
  for (size_t split = 0; split <= bytes.size(); split++) {
    Stray0x80Scanner s;
    s.feed(bytes.data(), split);
    s.feed(bytes.data() + split, bytes.size() - split);
    s.finish();
    ASSERT_EQ(s.found(), found) << "split at " << split << ": " << ::testing::PrintToString(bytes);
  }
}

TEST(Stray0x80Scanner, A0x80InAUtf8CharacterIsItself) {
  expectStray("plain ascii", false);
  expectStray("\xd1\x80\xd1\x83", false);                    // Cyrillic "ru"
  expectStray("dash \xe2\x80\x93 and \xe3\x80\x82", false);  // en dash, ideographic full stop
  expectStray("\xf0\x9f\x80\x80 \xf1\x80\x80\x80", false);   // four-byte characters
  expectStray("\xc3\xa9\x81\xbf", false);  // other stray bytes do not matter: only 0x80 does
}

TEST(Stray0x80Scanner, AnyOther0x80MayBeANul) {
  expectStray(
      "a\x80"
      "b",
      true);
  expectStray("\x80", true);
  expectStray("\xd1\x80\x80", true);      // one continuation too many
  expectStray("\xe2\x80z", true);         // the character breaks off after the 0x80
  expectStray("\xe2\x80", true);          // ... or the message ends
  expectStray("\xe0\x80\x80", true);      // overlong: E0 needs A0..BF next
  expectStray("\xf0\x80\x80\x80", true);  // overlong four-byte
  expectStray("\xed\xa0\x80", true);      // a UTF-16 surrogate is no character
  expectStray("\xc0\x80", true);          // C0 is never a lead byte
  expectStray("windows-1251 euro: \x88, Dje: \x80", true);
}

std::unique_ptr<MessageBody> filled(const std::string& bytes) {
  auto b = std::make_unique<MessageBody>();
  EXPECT_TRUE(b->reset(bytes.size()).isOk());
  EXPECT_TRUE(b->append(bytes.data(), bytes.size()).isOk());
  return b;
}

TEST(MessageBody, NotesA0x80Byte) {
  MessageBody b;
  ASSERT_TRUE(b.reset(10).isOk());
  ASSERT_TRUE(b.append("abc", 3).isOk());
  EXPECT_FALSE(b.has0x80());
  ASSERT_TRUE(b.append("d\x80", 2).isOk());
  EXPECT_TRUE(b.has0x80());
  ASSERT_TRUE(b.reset(10).isOk());
  EXPECT_FALSE(b.has0x80());
}

const std::string kRaw = std::string("Subject: nul\r\n\r\na\0b\x80", 20) + "c\r\n";

std::string asBody(std::string s) {
  for (char& c : s) {
    if (c == '\0') {
      c = static_cast<char>(0x80);
    }
  }
  return s;
}

TEST(CompareBinary, TheSameMessageWithNulsWhereBodyHad0x80) {
  auto body = filled(asBody(kRaw));
  Result<NulCandidate> c = scanNulCandidate(*body);
  ASSERT_TRUE(c.isOk());
  EXPECT_FALSE(c.value().encoded);
  EXPECT_EQ(c.value().size, kRaw.size());
  auto binary = filled(kRaw);
  EXPECT_EQ(compareBinary(*binary, c.value()).value(), BinaryMatch::WithNuls);
  EXPECT_EQ(compareBinary(*body, c.value()).value(), BinaryMatch::Same);
}

TEST(CompareBinary, AnythingElseIsDifferent) {
  Result<NulCandidate> c = scanNulCandidate(*filled(asBody(kRaw)));
  ASSERT_TRUE(c.isOk());
  std::string changed = kRaw;
  changed[1] = 'X';
  EXPECT_EQ(compareBinary(*filled(changed), c.value()).value(), BinaryMatch::Different);
  // A NUL where BODY[] had another byte than 0x80.
  std::string wrongNul = kRaw;
  wrongNul[0] = '\0';
  EXPECT_EQ(compareBinary(*filled(wrongNul), c.value()).value(), BinaryMatch::Different);
  EXPECT_EQ(compareBinary(*filled(kRaw + "x"), c.value()).value(), BinaryMatch::Different);
  // Same size, other bytes: what Dovecot's rewritten "Content-Transfer-Encoding: binary" header
  // of a decoded multipart could look like.
  std::string reordered = kRaw;
  std::swap(reordered[0], reordered[1]);
  EXPECT_EQ(compareBinary(*filled(reordered), c.value()).value(), BinaryMatch::Different);
}

TEST(CompareBinary, SpooledBodiesAreReadInChunks) {
  std::string big(MessageBody::kMemoryLimit + 300000, 'a');
  big[17] = '\0';
  big[big.size() - 5] = '\0';
  auto body = filled(asBody(big));
  ASSERT_FALSE(body->inMemory());
  Result<NulCandidate> c = scanNulCandidate(*body);
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  auto binary = filled(big);
  EXPECT_EQ(compareBinary(*binary, c.value()).value(), BinaryMatch::WithNuls);
  big[big.size() - 2] = 'b';
  EXPECT_EQ(compareBinary(*filled(big), c.value()).value(), BinaryMatch::Different);
}

}  // namespace
}  // namespace migrate
