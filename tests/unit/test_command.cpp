#include "imap/command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migrate::imap {
namespace {

using namespace std::string_literals;

TEST(CommandQuote, AtomWhenSafe) {
  EXPECT_EQ(quoteAstring("INBOX", false), "INBOX");
  EXPECT_EQ(quoteAstring("INBOX.Sent-Items_2024", false), "INBOX.Sent-Items_2024");
  EXPECT_EQ(quoteAstring("user@example.org", false), "user@example.org");
  EXPECT_EQ(quoteAstring("&ZeVnLIqe-", false), "&ZeVnLIqe-");
  EXPECT_EQ(quoteAstring("a[b", false), "a[b");
  EXPECT_EQ(quoteAstring("~/x+y=z!#$&',.:;<>?@^`|", false), "~/x+y=z!#$&',.:;<>?@^`|");
}

TEST(CommandQuote, EmptyAndNilAreQuoted) {
  EXPECT_EQ(quoteAstring("", false), "\"\"");
  EXPECT_EQ(quoteAstring("NIL", false), "\"NIL\"");
  EXPECT_EQ(quoteAstring("nil", false), "\"nil\"");
  EXPECT_EQ(quoteAstring("NILS", false), "NILS");
}

TEST(CommandQuote, EveryAtomSpecialForcesQuoting) {
  for (const char c : std::string("()%*\"\\] {")) {
    const std::string s = std::string("a") + c + "b";
    const std::string q = quoteAstring(s, false);
    SCOPED_TRACE(s);
    ASSERT_FALSE(q.empty());
    EXPECT_EQ(q.front(), '"');
    EXPECT_EQ(q.back(), '"');
  }
  EXPECT_EQ(quoteAstring("Sent Items", false), "\"Sent Items\"");
  EXPECT_EQ(quoteAstring("[Gmail]/All Mail", false), "\"[Gmail]/All Mail\"");
  EXPECT_EQ(quoteAstring("a]b", false), "\"a]b\"");
  EXPECT_EQ(quoteAstring("50%", false), "\"50%\"");
  EXPECT_EQ(quoteAstring("*", false), "\"*\"");
  EXPECT_EQ(quoteAstring("{5}", false), "\"{5}\"");
}

TEST(CommandQuote, QuotedEscapesQuoteAndBackslash) {
  EXPECT_EQ(quoteAstring("pa\"ss\\word", false), "\"pa\\\"ss\\\\word\"");
  EXPECT_EQ(quoteString("\"", false), "\"\\\"\"");
  EXPECT_EQ(quoteString("\\\\", false), "\"\\\\\\\\\"");
  // Other control characters are valid QUOTED-CHARs (RFC 3501 TEXT-CHAR).
  EXPECT_EQ(quoteAstring("a\tb", false), "\"a\tb\"");
  EXPECT_EQ(quoteAstring("a\x7f"
                         "b",
                         false),
            "\"a\x7f"
            "b\"");
}

TEST(CommandQuote, LiteralForCrLfNulAnd8Bit) {
  EXPECT_EQ(quoteAstring("a\r\nb", false), "{4}\r\na\r\nb");
  EXPECT_EQ(quoteAstring("a\rb", false), "{3}\r\na\rb");
  EXPECT_EQ(quoteAstring("a\nb", true), "{3+}\r\na\nb");
  EXPECT_EQ(quoteAstring("a\x00z"s, false), "{3}\r\na\x00z"s);
  EXPECT_EQ(quoteAstring("Entw\xc3\xbcrfe", false), "{9}\r\nEntw\xc3\xbcrfe");
  EXPECT_EQ(quoteString("p\xe4ss \"w\"", true), "{8+}\r\np\xe4ss \"w\"");
  EXPECT_EQ(quoteAstring("\xff", false), "{1}\r\n\xff");
}

TEST(CommandQuote, QuoteStringIsNeverAnAtom) {
  EXPECT_EQ(quoteString("INBOX", false), "\"INBOX\"");
  EXPECT_EQ(quoteString("", false), "\"\"");
  EXPECT_EQ(quoteString("secret", true), "\"secret\"");
  EXPECT_EQ(quoteString("two words", false), "\"two words\"");
}

TEST(CommandQuote, NeedsContinuation) {
  EXPECT_TRUE(needsContinuation(quoteAstring("a\r\nb", false)));
  EXPECT_FALSE(needsContinuation(quoteAstring("a\r\nb", true)));
  EXPECT_FALSE(needsContinuation(quoteAstring("INBOX", false)));
  EXPECT_FALSE(needsContinuation(quoteString("{3}", false)));     // quoted: "{3}"
  EXPECT_TRUE(needsContinuation(quoteString("{3}\r\n", false)));  // a literal holding "{3}\r\n"
  EXPECT_TRUE(needsContinuation("{0}\r\n"));
  EXPECT_FALSE(needsContinuation("{}\r\n"));
  EXPECT_FALSE(needsContinuation("{3}xabc"));
  EXPECT_FALSE(needsContinuation(""));
}

TEST(CommandQuote, SyncLiteralCutsSkipLiteralBytesAndQuotedStrings) {
  EXPECT_TRUE(syncLiteralCuts("A1 SELECT INBOX\r\n").empty());
  EXPECT_TRUE(syncLiteralCuts("A1 LOGIN \"{3}\" \"a\\\"{1}\"\r\n").empty());
  EXPECT_TRUE(syncLiteralCuts("A1 LOGIN joe {4+}\r\nab\r\n\r\n").empty());

  const std::string pass = "p\r\n{2}\r\nw";  // CRLF and a fake literal header inside the literal
  const std::string line =
      "A1 LOGIN " + quoteString("j\xc3\xb6rg", false) + " " + quoteString(pass, false) + "\r\n";
  const std::vector<size_t> cuts = syncLiteralCuts(line);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_EQ(line.substr(0, cuts[0]), "A1 LOGIN {5}\r\n");
  EXPECT_EQ(line.substr(cuts[0], cuts[1] - cuts[0]), "j\xc3\xb6rg {9}\r\n");
  EXPECT_EQ(line.substr(cuts[1]), pass + "\r\n");

  // Mixed: the non-synchronizing literal is skipped, not cut.
  const std::string mixed = "A2 X {3+}\r\n{1} ~{2}\r\nab {0}\r\n\r\n";
  EXPECT_EQ(syncLiteralCuts(mixed), (std::vector<size_t>{21, 29}));
  // A literal that claims more bytes than the line has ends the scan.
  EXPECT_EQ(syncLiteralCuts("A3 X {99}\r\nab {1}\r\nc\r\n"), (std::vector<size_t>{11}));
}

TEST(CommandUidSet, Ranges) {
  EXPECT_EQ(uidSet(1, 5), "1:5");
  EXPECT_EQ(uidSet(7, 7), "7");
  EXPECT_EQ(uidSet(9, 0), "9:*");
  EXPECT_EQ(uidSet(1, 4294967295u), "1:4294967295");
  EXPECT_EQ(uidSet(9, 5), "9:5");
}

TEST(CommandUidSet, Compress) {
  EXPECT_EQ(compressUidSet({}), "");
  EXPECT_EQ(compressUidSet({4}), "4");
  EXPECT_EQ(compressUidSet({1, 2, 3, 4, 5, 7, 9, 10}), "1:5,7,9:10");
  EXPECT_EQ(compressUidSet({10, 9, 3, 1, 2, 2, 3}), "1:3,9:10");
  EXPECT_EQ(compressUidSet({4294967294u, 4294967295u, 1}), "1,4294967294:4294967295");
  EXPECT_EQ(compressUidSet({2, 4, 6}), "2,4,6");
}

}  // namespace
}  // namespace migrate::imap
