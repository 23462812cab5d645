#include "imap/mutf7.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migrate::imap {
namespace {

using namespace std::string_literals;

struct Vector {
  std::string utf8;
  std::string mutf7;
};

const std::vector<Vector>& knownVectors() {
  static const std::vector<Vector> v = {
      {"", ""},
      {"INBOX", "INBOX"},
      {"&", "&-"},
      {"Tom & Jerry", "Tom &- Jerry"},
      {"&&", "&-&-"},
      {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
      {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
      // RFC 3501 5.1.3 example: ~peter/mail/<taipei>/<japanese>
      {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
      {"\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-"},
      {"Gel\xc3\xb6scht", "Gel&APY-scht"},
      {"\xd0\x92\xd1\x85\xd0\xbe\xd0\xb4\xd1\x8f\xd1\x89\xd0\xb8\xd0\xb5", "&BBIERQQ+BDQETwRJBDgENQ-"},
      // Non-BMP: U+1F600 as the surrogate pair D83D DE00.
      {"\xf0\x9f\x98\x80", "&2D3eAA-"},
      {"a\xf0\x9f\x98\x80z", "a&2D3eAA-z"},
      // The last code point, U+10FFFF = DBFF DFFF.
      {"\xf4\x8f\xbf\xbf", "&2,,f,w-"},
      // Control characters cannot represent themselves.
      {"a\tb", "a&AAk-b"},
      {"\x7f", "&AH8-"},
      {"\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-"},
  };
  return v;
}

TEST(Mutf7Vectors, Decode) {
  for (const Vector& v : knownVectors()) {
    Result<std::string> r = mutf7Decode(v.mutf7);
    ASSERT_TRUE(r.isOk()) << v.mutf7 << ": " << r.status().describe();
    EXPECT_EQ(r.value(), v.utf8) << v.mutf7;
  }
}

TEST(Mutf7Vectors, Encode) {
  for (const Vector& v : knownVectors()) {
    Result<std::string> r = mutf7Encode(v.utf8);
    ASSERT_TRUE(r.isOk()) << v.mutf7 << ": " << r.status().describe();
    EXPECT_EQ(r.value(), v.mutf7);
  }
}

TEST(Mutf7RoundTrip, EncodeThenDecode) {
  std::vector<std::string> names = {
      "INBOX/Entw\xc3\xbcrfe/2024 & more",
      "\xe2\x82\xac uro",
      "\xf0\x9f\x93\xa7 Mail \xf0\x9f\x93\xa8\xf0\x9f\x93\xa9",
      "x\xc3\xa9y\xc3\xa9z",
      "\xe4\xb8\xad\xe6\x96\x87/\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
      "a-b&-c",
  };
  // Every code point boundary class, one at a time and in runs of 1..4 (all base64 paddings).
  for (uint32_t cp :
       {0x01u, 0x1fu, 0x80u, 0x7ffu, 0x800u, 0xd7ffu, 0xe000u, 0xfffdu, 0xffffu, 0x10000u, 0x10ffffu}) {
    std::string one;
    if (cp < 0x80) {
      one = std::string(1, static_cast<char>(cp));
    } else if (cp < 0x800) {
      one = {static_cast<char>(0xc0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3f))};
    } else if (cp < 0x10000) {
      one = {static_cast<char>(0xe0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3f)),
             static_cast<char>(0x80 | (cp & 0x3f))};
    } else {
      one = {static_cast<char>(0xf0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3f)),
             static_cast<char>(0x80 | ((cp >> 6) & 0x3f)), static_cast<char>(0x80 | (cp & 0x3f))};
    }
    std::string run;
    for (int i = 0; i < 4; ++i) {
      run += one;
      names.push_back(run);
      names.push_back("x" + run + "y");
    }
  }
  for (const std::string& name : names) {
    Result<std::string> enc = mutf7Encode(name);
    ASSERT_TRUE(enc.isOk()) << enc.status().describe();
    for (char c : enc.value()) {
      EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << enc.value();
    }
    Result<std::string> dec = mutf7Decode(enc.value());
    ASSERT_TRUE(dec.isOk()) << enc.value() << ": " << dec.status().describe();
    EXPECT_EQ(dec.value(), name) << enc.value();
  }
}

struct Bad {
  std::string input;
  std::string expected;  // part of the message
};

TEST(Mutf7Decode, MalformedIsAProtocolErrorNamingTheName) {
  const std::vector<Bad> cases = {
      {"&", "not closed"},
      {"abc&", "not closed"},
      {"&ZeVnLIqe", "not closed"},
      {"&AOQ", "not closed"},
      {"&AOQ!-", "not allowed in a \"&\" sequence"},
      {"&AO/-", "not allowed in a \"&\" sequence"},  // "/" is "," in modified base64
      {"&AO=-", "not allowed in a \"&\" sequence"},
      {"&A-", "too short"},
      {"&AO-", "too short"},
      {"&AOQA-", "extra base64"},     // one 16-bit unit plus a stray sextet
      {"&AOR-", "non-zero padding"},  // AOR = 0x00E4 with a 1 in the padding bits
      {"&AEE-", "printable character \"A\""},
      {"&ACY-", "printable character \"&\""},  // "&" must be "&-"
      {"&ACA-", "printable character \" \""},
      {"&AOQAQQ-", "printable character \"A\""},
      {"&2D0-", "unpaired UTF-16 high surrogate"},
      {"&2D3YPQ-", "unpaired UTF-16 high surrogate"},
      {"&2D0AQQ-", "unpaired UTF-16 high surrogate"},
      {"&3gA-", "unpaired UTF-16 low surrogate"},
      {"&AAA-", "NUL"},
      {"&AOQ-&APY-", "two adjacent"},
      {"Entw\xc3\xbcrfe", "not printable US-ASCII"},
      {"a\tb", "not printable US-ASCII"},
      {"a\x7f", "not printable US-ASCII"},
      {"a\x00"s, "not printable US-ASCII"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.input);
    Result<std::string> r = mutf7Decode(c.input);
    ASSERT_FALSE(r.isOk()) << "decoded to " << r.value();
    EXPECT_EQ(r.status().kind(), ErrorKind::Protocol);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("mailbox name"), std::string::npos) << r.status().message();
  }
}

TEST(Mutf7Decode, MessageQuotesTheSanitizedName) {
  Result<std::string> r = mutf7Decode("Sent\x01&AOQ");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("\"Sent\\x01&AOQ\""), std::string::npos) << r.status().message();
  Result<std::string> r2 = mutf7Decode("Projekt &AOQ");
  ASSERT_FALSE(r2.isOk());
  EXPECT_NE(r2.status().message().find("\"Projekt &AOQ\""), std::string::npos) << r2.status().message();
}

TEST(Mutf7Decode, AmpersandDashAfterSequenceIsFine) {
  Result<std::string> r = mutf7Decode("&AOQ-&-x");
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_EQ(r.value(), "\xc3\xa4&x");
}

TEST(Mutf7Encode, InvalidUtf8IsAConfigError) {
  for (const std::string& bad : {"Entw\xfcrfe"s, "\xc0\xaf"s, "\xed\xa0\x80"s, "\xe2\x82"s}) {
    Result<std::string> r = mutf7Encode(bad);
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().kind(), ErrorKind::Config);
    EXPECT_NE(r.status().message().find("not valid UTF-8"), std::string::npos) << r.status().message();
  }
  Result<std::string> nul = mutf7Encode("a\x00"s);
  ASSERT_FALSE(nul.isOk());
  EXPECT_EQ(nul.status().kind(), ErrorKind::Config);
}

TEST(Mutf7Utf8, Validation) {
  const std::vector<std::string> valid = {
      "",
      "plain",
      "\x00"s,
      "\xc2\x80",
      "\xdf\xbf",
      "\xe0\xa0\x80",
      "\xed\x9f\xbf",      // U+D7FF
      "\xee\x80\x80",      // U+E000
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x90\x80\x80",  // U+10000
      "\xf4\x8f\xbf\xbf",  // U+10FFFF
  };
  const std::vector<std::string> invalid = {
      "\x80",  // lone continuation
      "\xbf",
      "\xc0\x80",          // overlong NUL
      "\xc1\xbf",          // overlong
      "\xe0\x80\x80",      // overlong
      "\xe0\x9f\xbf",      // overlong
      "\xf0\x80\x80\x80",  // overlong
      "\xf0\x8f\xbf\xbf",  // overlong
      "\xed\xa0\x80",      // U+D800 surrogate
      "\xed\xbf\xbf",      // U+DFFF surrogate
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",
      "\xff",
      "\xfe",
      "\xc3",  // truncated
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\xc3\x28",  // bad continuation
      "a\xe2\x28\xa1",
  };
  for (const std::string& s : valid) {
    EXPECT_TRUE(isValidUtf8(s)) << s.size();
  }
  for (const std::string& s : invalid) {
    EXPECT_FALSE(isValidUtf8(s)) << s.size() << " bytes starting with " << static_cast<int>(s[0] & 0xff);
    EXPECT_FALSE(isValidUtf8("ok " + s + " ok"));
  }
}

}  // namespace
}  // namespace migrate::imap
