// Matching an old server's POP3 messages to its IMAP messages (engine/pop3_match.h).

#include "engine/pop3_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migrate {
namespace {

const std::string kHeader =
    "Received: from mx.example.org by old.example.org\r\n"
    "\tfor <bob@example.org>; Mon, 2 Mar 2020 10:00:00 +0100\r\n"
    "From: Alice <alice@example.org>\r\n"
    "Subject: Grüße\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n";

TEST(HeaderDigest, IgnoresWhatServersChangeBetweenPop3AndImap) {
  const std::string base = headerDigest(kHeader);
  // Status/X-UIDL added on one side, CRs dropped, whitespace refolded, 8-bit shown as '?'.
  std::string pop3 =
      "Received: from mx.example.org by old.example.org  \n"
      "  for <bob@example.org>;  Mon, 2 Mar 2020 10:00:00 +0100\n"
      "Status: RO\n"
      "X-UIDL: 000001a3\n"
      "From: Alice <alice@example.org>\n"
      "Subject: Gr??e\n"
      "Message-ID: <1@example.org>\n"
      "\n";
  EXPECT_EQ(headerDigest(pop3), base);
  EXPECT_EQ(headerDigest(kHeader + "body text\r\n"), base) << "the body is not part of it";
  EXPECT_EQ(headerDigest(std::string(kHeader).replace(kHeader.size() - 2, 2, "")), base)
      << "a header without its empty line";
}

TEST(HeaderDigest, DifferentMessagesDiffer) {
  std::string other = kHeader;
  other.replace(other.find("<1@"), 3, "<2@");
  EXPECT_NE(headerDigest(other), headerDigest(kHeader));
  std::string moreTrace = "Received: by relay2.example.org\r\n" + kHeader;
  EXPECT_NE(headerDigest(moreTrace), headerDigest(kHeader)) << "trace headers count (as in Dovecot)";
}

TEST(UsableUidl, Rfc1939Characters) {
  EXPECT_TRUE(usableUidl("000001a3"));
  EXPECT_TRUE(usableUidl(std::string(70, 'x')));
  EXPECT_FALSE(usableUidl(std::string(71, 'x')));
  EXPECT_FALSE(usableUidl(""));
  EXPECT_FALSE(usableUidl("a b"));
  EXPECT_FALSE(usableUidl("caf\xc3\xa9"));
}

Pop3Side pop(uint32_t n, uint64_t size, std::string uidl, std::string digest = "") {
  return Pop3Side{n, size, std::move(uidl), std::move(digest)};
}
ImapSide imap(uint32_t uid, uint64_t size, std::string digest = "") {
  return ImapSide{uid, size, std::move(digest)};
}

TEST(MatchPop3, SameOrderAndSizesPairWithoutHeaders) {
  std::vector<Pop3Side> p = {pop(1, 100, "u1"), pop(2, 200, "u2"), pop(3, 300, "u3")};
  std::vector<ImapSide> i = {imap(7, 100), imap(8, 200), imap(9, 300)};
  EXPECT_EQ(pairedBySize(p, i), 3u);
  Pop3Match m = matchPop3(p, i);
  ASSERT_EQ(m.byUid.size(), 3u);
  EXPECT_EQ(m.byUid[8].uidl, "u2");
  EXPECT_EQ(m.byUid[8].order, 2u);
  EXPECT_TRUE(m.pop3Only.empty());
  EXPECT_TRUE(m.imapOnly.empty());
}

TEST(MatchPop3, EqualNeighbourSizesNeedTheHeaders) {
  std::vector<Pop3Side> p = {pop(1, 100, "u1"), pop(2, 100, "u2", "b"), pop(3, 100, "u3", "a")};
  std::vector<ImapSide> i = {imap(1, 100), imap(2, 100, "a"), imap(3, 100, "b")};
  EXPECT_EQ(pairedBySize(p, i), 0u) << "1 and 2 have the same size: not by size";
  p[0].digest = "c";
  i[0].digest = "c";
  Pop3Match m = matchPop3(p, i);
  EXPECT_EQ(m.byUid[1].uidl, "u1");
  EXPECT_EQ(m.byUid[2].uidl, "u3") << "by header, not by position";
  EXPECT_EQ(m.byUid[3].uidl, "u2");
}

TEST(MatchPop3, DuplicatesPairInOrderAndLeftoversAreNamed) {
  std::vector<Pop3Side> p = {pop(1, 50, "gone", "x"), pop(2, 80, "d1", "dup"), pop(3, 80, "d2", "dup")};
  std::vector<ImapSide> i = {imap(10, 80, "dup"), imap(11, 80, "dup"), imap(12, 99, "new")};
  Pop3Match m = matchPop3(p, i);
  EXPECT_EQ(m.byUid[10].uidl, "d1");
  EXPECT_EQ(m.byUid[11].uidl, "d2");
  EXPECT_EQ(m.pop3Only, std::vector<std::string>{"gone"});
  EXPECT_EQ(m.imapOnly, std::vector<uint32_t>{12});
}

TEST(MatchPop3, UnusableAndRepeatedUidlsAreNotKept) {
  std::vector<Pop3Side> p = {pop(1, 10, "has space"), pop(2, 20, "same"), pop(3, 30, "same")};
  std::vector<ImapSide> i = {imap(1, 10), imap(2, 20), imap(3, 30)};
  Pop3Match m = matchPop3(p, i);
  EXPECT_EQ(m.byUid.size(), 1u);
  EXPECT_EQ(m.byUid[2].uidl, "same");
  EXPECT_EQ(m.unusable, (std::vector<std::string>{"has space", "same"}));
}

}  // namespace
}  // namespace migrate
