// ResponseParser: every transcript is replayed whole, split into two pieces at every position, and
// byte by byte; all runs must give the same responses, literals and status.

#include "imap/parser.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace migrate::imap {
namespace {

using namespace std::string_literals;

std::string escaped(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string dumpValue(const Value& v) {
  switch (v.type) {
    case Value::Type::Atom:
      return v.text;
    case Value::Type::String:
      return (v.size > 0 ? "{" + std::to_string(v.size) + "}" : std::string()) + "\"" + escaped(v.text) +
             "\"";
    case Value::Type::Nil:
      return v.text.empty() ? "NIL" : "NIL?" + v.text;
    case Value::Type::Streamed:
      return "<streamed " + std::to_string(v.size) + ">";
    case Value::Type::List: {
      std::string out = "(";
      for (size_t i = 0; i < v.list.size(); ++i) {
        out += (i > 0 ? " " : "") + dumpValue(v.list[i]);
      }
      return out + ")";
    }
  }
  return "?";
}

std::string dumpArgs(const Response& r) {
  std::string out;
  for (size_t i = 0; i < r.args.size(); ++i) {
    out += (i > 0 ? " " : "") + dumpValue(r.args[i]);
  }
  return out;
}

std::string dump(const Response& r) {
  std::string kind = r.kind == Response::Kind::Tagged     ? "tagged"
                     : r.kind == Response::Kind::Untagged ? "untagged"
                                                          : "continuation";
  return kind + " tag=" + r.tag + " status=" + r.status +
         " number=" + (r.hasNumber ? std::to_string(r.number) : "-") + " code=" + r.code +
         " codeArgs=" + escaped(r.codeArgs) + " text=" + escaped(r.text) + " args=" + dumpArgs(r);
}

struct RecordedLiteral {
  std::string itemName;
  uint32_t fetchNumber = 0;
  uint64_t size = 0;
  std::string partial;  // dump of the response parsed when the literal was claimed
  std::string bytes;
  int finishes = 0;
};

struct Options {
  ParserLimits limits;
  std::function<bool(const LiteralContext&)> claim;  // null: claim none
  bool failAppend = false;
  bool failFinish = false;
};

class RecordingSink : public LiteralSink {
 public:
  RecordingSink(RecordedLiteral* rec, const Options& o) : rec_(rec), opts_(o) {}
  Status append(const char* data, size_t len) override {
    if (opts_.failAppend) {
      return Status(ErrorKind::LocalStorage, "disk full while saving");
    }
    rec_->bytes.append(data, len);
    return Status::ok();
  }
  Status finish() override {
    ++rec_->finishes;
    if (opts_.failFinish) {
      return Status(ErrorKind::Quota, "quota exceeded at commit");
    }
    return Status::ok();
  }

 private:
  RecordedLiteral* rec_;
  const Options& opts_;
};

struct Transcript {
  Status status;
  std::vector<Response> responses;
  std::deque<RecordedLiteral> literals;
  bool idle = false;
  size_t maxBuffered = 0;
};

std::string describe(const Transcript& run) {
  std::string out = run.status.isOk()
                        ? std::string("ok")
                        : std::string(errorKindName(run.status.kind())) + ": " + run.status.message();
  out += "\nidle=" + std::to_string(run.idle);
  for (const Response& r : run.responses) {
    out += "\n" + dump(r);
  }
  for (const RecordedLiteral& l : run.literals) {
    out += "\nliteral item=" + l.itemName + " fetch=" + std::to_string(l.fetchNumber) +
           " size=" + std::to_string(l.size) + " finishes=" + std::to_string(l.finishes) +
           " bytes=" + escaped(l.bytes) + " partial=" + l.partial;
  }
  return out;
}

// Feeds `input` cut at the given ascending positions.
Transcript runWithCuts(const std::string& input, const std::vector<size_t>& cuts, const Options& opts) {
  Transcript run;
  std::vector<std::unique_ptr<RecordingSink>> sinks;
  auto handler = [&](const LiteralContext& ctx) -> LiteralSink* {
    if (!opts.claim || !opts.claim(ctx)) {
      return nullptr;
    }
    RecordedLiteral& rec = run.literals.emplace_back();
    rec.itemName = ctx.itemName;
    rec.fetchNumber = ctx.fetchNumber;
    rec.size = ctx.size;
    rec.partial = ctx.partial != nullptr ? dump(*ctx.partial) : "null";
    sinks.push_back(std::make_unique<RecordingSink>(&rec, opts));
    return sinks.back().get();
  };
  ResponseParser parser(opts.limits, handler);
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    run.status = parser.feed(input.data() + start, end - start, run.responses);
    run.maxBuffered = std::max(run.maxBuffered, parser.bufferedBytes());
    start = end;
    if (!run.status.isOk()) {
      break;
    }
  }
  run.idle = parser.idle();
  return run;
}

// The whole-input run, after checking that every 2-piece split and byte-by-byte feeding agree.
Transcript replay(const std::string& input, const Options& opts = {}) {
  Transcript whole = runWithCuts(input, {}, opts);
  const std::string expected = describe(whole);
  for (size_t cut = 1; cut < input.size(); ++cut) {
    const std::string got = describe(runWithCuts(input, {cut}, opts));
    if (got != expected) {
      ADD_FAILURE() << "split at " << cut << " of \"" << escaped(input) << "\"\nexpected:\n"
                    << expected << "\ngot:\n"
                    << got;
      break;
    }
  }
  std::vector<size_t> every;
  for (size_t cut = 1; cut < input.size(); ++cut) {
    every.push_back(cut);
  }
  const std::string bytewise = describe(runWithCuts(input, every, opts));
  EXPECT_EQ(bytewise, expected) << "byte by byte: \"" << escaped(input) << "\"";
  return whole;
}

Options claimAll() {
  Options o;
  o.claim = [](const LiteralContext&) { return true; };
  return o;
}

Options claimItem(const std::string& item) {
  Options o;
  o.claim = [item](const LiteralContext& ctx) { return ctx.itemName == item; };
  return o;
}

Response single(const std::string& input, const Options& opts = {}) {
  Transcript run = replay(input, opts);
  EXPECT_TRUE(run.status.isOk()) << run.status.describe();
  EXPECT_EQ(run.responses.size(), 1u) << describe(run);
  EXPECT_TRUE(run.idle);
  return run.responses.empty() ? Response() : run.responses[0];
}

Status failure(const std::string& input, const Options& opts = {}) {
  Transcript run = replay(input, opts);
  EXPECT_FALSE(run.status.isOk()) << "accepted: \"" << escaped(input) << "\"\n" << describe(run);
  return run.status;
}

// ---------------------------------------------------------------------------------------------
// Status responses

TEST(ParserStatus, TaggedOkWithCode) {
  Response r = single("A1 OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
  EXPECT_EQ(r.kind, Response::Kind::Tagged);
  EXPECT_EQ(r.tag, "A1");
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.code, "UIDVALIDITY");
  EXPECT_EQ(r.codeArgs, "3857529045");
  EXPECT_EQ(r.text, "UIDs valid");
  EXPECT_FALSE(r.hasNumber);
  EXPECT_TRUE(r.args.empty());
}

TEST(ParserStatus, TaggedNoAndBadAreUpperCasedTagKeptAsSent) {
  Response no = single("a2 no [THROTTLED] Too many commands\r\n");
  EXPECT_EQ(no.tag, "a2");
  EXPECT_EQ(no.status, "NO");
  EXPECT_EQ(no.code, "THROTTLED");
  EXPECT_EQ(no.codeArgs, "");
  EXPECT_EQ(no.text, "Too many commands");

  Response bad = single("17 BAD [CAPABILITY IMAP4rev1 LITERAL+] Unknown command\r\n");
  EXPECT_EQ(bad.tag, "17");
  EXPECT_EQ(bad.status, "BAD");
  EXPECT_EQ(bad.code, "CAPABILITY");
  EXPECT_EQ(bad.codeArgs, "IMAP4rev1 LITERAL+");
  EXPECT_EQ(bad.text, "Unknown command");
}

TEST(ParserStatus, TaggedWithoutTextOrWithCodeOnly) {
  Response bare = single("A3 OK\r\n");
  EXPECT_EQ(bare.status, "OK");
  EXPECT_EQ(bare.text, "");
  EXPECT_EQ(bare.code, "");

  Response codeOnly = single("A4 OK [READ-ONLY]\r\n");
  EXPECT_EQ(codeOnly.code, "READ-ONLY");
  EXPECT_EQ(codeOnly.text, "");
}

TEST(ParserStatus, UntaggedStatusResponses) {
  Transcript run = replay(
      "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited\r\n"
      "* NO [ALERT] Mailbox is at 95% of quota\r\n"
      "* BAD Unexpected\r\n"
      "* BYE Server shutting down\r\n"
      "* PREAUTH [CAPABILITY IMAP4rev1 ID] Logged in as joe\r\n"
      "* OK\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 6u);
  for (const Response& r : run.responses) {
    EXPECT_EQ(r.kind, Response::Kind::Untagged);
    EXPECT_TRUE(r.tag.empty());
    EXPECT_TRUE(r.args.empty());
  }
  EXPECT_EQ(run.responses[0].status, "OK");
  EXPECT_EQ(run.responses[0].code, "PERMANENTFLAGS");
  EXPECT_EQ(run.responses[0].codeArgs, "(\\Seen \\*)");
  EXPECT_EQ(run.responses[0].text, "Limited");
  EXPECT_EQ(run.responses[1].status, "NO");
  EXPECT_EQ(run.responses[1].code, "ALERT");
  EXPECT_EQ(run.responses[1].text, "Mailbox is at 95% of quota");
  EXPECT_EQ(run.responses[2].status, "BAD");
  EXPECT_EQ(run.responses[2].text, "Unexpected");
  EXPECT_EQ(run.responses[3].status, "BYE");
  EXPECT_EQ(run.responses[3].text, "Server shutting down");
  EXPECT_EQ(run.responses[4].status, "PREAUTH");
  EXPECT_EQ(run.responses[4].code, "CAPABILITY");
  EXPECT_EQ(run.responses[4].codeArgs, "IMAP4rev1 ID");
  EXPECT_EQ(run.responses[4].text, "Logged in as joe");
  EXPECT_EQ(run.responses[5].status, "OK");
  EXPECT_EQ(run.responses[5].text, "");
}

TEST(ParserStatus, TextIsNotTokenized) {
  // 8-bit, brackets, unbalanced quotes and parens, and a trailing "{5}" that is not a literal.
  Transcript run = replay(
      "A4 NO \xc3\x9c"
      "bergr\xc3\xb6\xc3\x9f"
      "e [x] \"quote ( {5}\r\n"
      "A5 OK done\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 2u);
  EXPECT_EQ(run.responses[0].text,
            "\xc3\x9c"
            "bergr\xc3\xb6\xc3\x9f"
            "e [x] \"quote ( {5}");
  EXPECT_EQ(run.responses[0].code, "");
  EXPECT_EQ(run.responses[1].tag, "A5");
}

TEST(ParserStatus, UnclosedBracketIsPlainText) {
  Response r = single("A8 OK [ALERT no close\r\n");
  EXPECT_EQ(r.code, "");
  EXPECT_EQ(r.text, "[ALERT no close");
}

TEST(ParserStatus, CodeWithBracketTextAfter) {
  Response r = single("* OK [UIDNEXT 4392] Predicted next UID [approx]\r\n");
  EXPECT_EQ(r.code, "UIDNEXT");
  EXPECT_EQ(r.codeArgs, "4392");
  EXPECT_EQ(r.text, "Predicted next UID [approx]");
}

TEST(ParserStatus, Continuation) {
  Transcript run = replay(
      "+ Ready for literal data\r\n+\r\n+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzNYYP+3VcUC6k2+t\r\n"
      "+ [ALERT] careful\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 4u);
  for (const Response& r : run.responses) {
    EXPECT_EQ(r.kind, Response::Kind::Continuation);
  }
  EXPECT_EQ(run.responses[0].text, "Ready for literal data");
  EXPECT_EQ(run.responses[1].text, "");
  EXPECT_EQ(run.responses[2].text, "YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzNYYP+3VcUC6k2+t");
  EXPECT_EQ(run.responses[3].code, "ALERT");
  EXPECT_EQ(run.responses[3].text, "careful");
}

// ---------------------------------------------------------------------------------------------
// Untagged data

TEST(ParserData, Capability) {
  Response r = single("* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN ID ENABLE UIDPLUS\r\n");
  EXPECT_EQ(r.kind, Response::Kind::Untagged);
  EXPECT_EQ(r.status, "CAPABILITY");
  EXPECT_FALSE(r.hasNumber);
  ASSERT_EQ(r.args.size(), 6u);
  EXPECT_EQ(dumpArgs(r), "IMAP4rev1 LITERAL+ AUTH=PLAIN ID ENABLE UIDPLUS");
  EXPECT_EQ(r.args[2].type, Value::Type::Atom);
}

TEST(ParserData, ListVariants) {
  Transcript run = replay(
      "* LIST (\\HasNoChildren \\Sent) \"/\" \"INBOX\"\r\n"
      "* LIST (\\Noselect) NIL \"\"\r\n"
      "* list () \".\" INBOX.Drafts\r\n"
      "* LIST (\\HasNoChildren) \"/\" {5}\r\nhello\r\n"
      "* LIST () \"/\" \"[Gmail]/All Mail\"\r\n"
      "* LIST () \"/\" [Gmail]/Trash\r\n"
      "* LIST () \"/\" \"quote\\\"back\\\\slash\"\r\n"
      "* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n"
      "* LSUB () \".\" #news.comp.mail.misc\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 9u);
  EXPECT_EQ(run.responses[0].status, "LIST");
  EXPECT_EQ(dumpArgs(run.responses[0]), "(\\HasNoChildren \\Sent) \"/\" \"INBOX\"");
  EXPECT_EQ(run.responses[0].args[0].type, Value::Type::List);
  EXPECT_EQ(run.responses[0].args[1].type, Value::Type::String);
  EXPECT_EQ(dumpArgs(run.responses[1]), "(\\Noselect) NIL \"\"");
  EXPECT_EQ(run.responses[1].args[1].type, Value::Type::Nil);
  EXPECT_EQ(run.responses[1].args[1].str(), "");
  EXPECT_EQ(run.responses[2].status, "LIST");
  EXPECT_EQ(dumpArgs(run.responses[2]), "() \".\" INBOX.Drafts");
  EXPECT_EQ(dumpArgs(run.responses[3]), "(\\HasNoChildren) \"/\" {5}\"hello\"");
  EXPECT_EQ(run.responses[3].args[2].type, Value::Type::String);
  EXPECT_EQ(run.responses[3].args[2].str(), "hello");
  EXPECT_EQ(run.responses[4].args[2].str(), "[Gmail]/All Mail");
  EXPECT_EQ(run.responses[5].args[2].type, Value::Type::Atom);
  EXPECT_EQ(run.responses[5].args[2].str(), "[Gmail]/Trash");
  EXPECT_EQ(run.responses[6].args[2].str(), "quote\"back\\slash");
  EXPECT_EQ(run.responses[7].args[2].str(), "Entw\xc3\xbcrfe");
  EXPECT_EQ(run.responses[8].status, "LSUB");
  EXPECT_EQ(run.responses[8].args[2].str(), "#news.comp.mail.misc");
}

TEST(ParserData, Status) {
  Transcript run = replay(
      "* STATUS \"name\" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 12 HIGHESTMODSEQ 77)\r\n"
      "* STATUS {8}\r\nSent (x) (MESSAGES 0)\r\n"
      "* STATUS Drafts ()\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 3u);
  const Response& r = run.responses[0];
  EXPECT_EQ(r.status, "STATUS");
  ASSERT_EQ(r.args.size(), 2u);
  EXPECT_EQ(r.args[0].str(), "name");
  ASSERT_EQ(r.args[1].list.size(), 8u);
  EXPECT_TRUE(r.args[1].list[0].isAtom("MESSAGES"));
  EXPECT_EQ(r.args[1].list[1].number(), 3u);
  EXPECT_EQ(r.args[1].list[5].number(), 12u);
  EXPECT_EQ(r.args[1].list[7].number(), 77u);
  EXPECT_EQ(dumpArgs(run.responses[1]), "{8}\"Sent (x)\" (MESSAGES 0)");
  EXPECT_EQ(dumpArgs(run.responses[2]), "Drafts ()");
}

TEST(ParserData, Namespace) {
  Transcript run = replay(
      "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
      "* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\n"
      "* NAMESPACE ((\"\" \"/\")(\"#mh/\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\" \"X-P\" (\"a\" "
      "\"b\")))\r\n"
      "* NAMESPACE ((\"\" NIL)) NIL NIL\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 4u);
  EXPECT_EQ(run.responses[0].status, "NAMESPACE");
  EXPECT_EQ(dumpArgs(run.responses[0]), "((\"\" \"/\")) NIL NIL");
  EXPECT_EQ(run.responses[1].args[0].list[0].list[0].str(), "INBOX.");
  EXPECT_EQ(run.responses[1].args[0].list[0].list[1].str(), ".");
  EXPECT_EQ(dumpArgs(run.responses[2]),
            "((\"\" \"/\") (\"#mh/\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\" \"X-P\" (\"a\" \"b\")))");
  EXPECT_EQ(run.responses[3].args[0].list[0].list[1].type, Value::Type::Nil);
}

TEST(ParserData, FlagsSearchEnabledId) {
  Transcript run = replay(
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
      "* SEARCH 1 2\r\n"
      "* SEARCH\r\n"
      "* SEARCH 2 84 882 \r\n"
      "* ENABLED CONDSTORE QRESYNC\r\n"
      "* ID (\"name\" \"Cyrus\" \"version\" NIL)\r\n"
      "* ID NIL\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 7u);
  EXPECT_EQ(run.responses[0].status, "FLAGS");
  EXPECT_EQ(dumpArgs(run.responses[0]), "(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)");
  EXPECT_EQ(run.responses[1].status, "SEARCH");
  EXPECT_EQ(dumpArgs(run.responses[1]), "1 2");
  EXPECT_TRUE(run.responses[2].args.empty());
  EXPECT_EQ(dumpArgs(run.responses[3]), "2 84 882");
  EXPECT_EQ(run.responses[4].status, "ENABLED");
  EXPECT_EQ(dumpArgs(run.responses[4]), "CONDSTORE QRESYNC");
  EXPECT_EQ(run.responses[5].status, "ID");
  EXPECT_EQ(dumpArgs(run.responses[5]), "(\"name\" \"Cyrus\" \"version\" NIL)");
  EXPECT_EQ(dumpArgs(run.responses[6]), "NIL");
  EXPECT_EQ(run.responses[6].args[0].type, Value::Type::Nil);
}

TEST(ParserData, NumberedResponses) {
  Transcript run = replay("* 12 EXISTS\r\n* 3 EXPUNGE\r\n* 0 RECENT\r\n* 4294967295 exists\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 4u);
  EXPECT_EQ(run.responses[0].status, "EXISTS");
  EXPECT_TRUE(run.responses[0].hasNumber);
  EXPECT_EQ(run.responses[0].number, 12u);
  EXPECT_EQ(run.responses[1].status, "EXPUNGE");
  EXPECT_EQ(run.responses[1].number, 3u);
  EXPECT_EQ(run.responses[2].status, "RECENT");
  EXPECT_TRUE(run.responses[2].hasNumber);
  EXPECT_EQ(run.responses[2].number, 0u);
  EXPECT_EQ(run.responses[3].status, "EXISTS");
  EXPECT_EQ(run.responses[3].number, 4294967295u);
  for (const Response& r : run.responses) {
    EXPECT_TRUE(r.args.empty());
  }
}

TEST(ParserData, QuotedStringEscapesAnd8Bit) {
  Response r = single("* X \"a\\\"b\" \"c\\\\d\" \"C:\\mail\" \"\xe6\x97\xa5\xff\" \"\t\x01\"\r\n");
  ASSERT_EQ(r.args.size(), 5u);
  EXPECT_EQ(r.args[0].str(), "a\"b");
  EXPECT_EQ(r.args[1].str(), "c\\d");
  EXPECT_EQ(r.args[2].str(), "C:\\mail");  // not a valid escape: the backslash is kept
  EXPECT_EQ(r.args[3].str(), "\xe6\x97\xa5\xff");
  EXPECT_EQ(r.args[4].str(), "\t\x01");
  EXPECT_EQ(r.args[0].size, 0u);  // quoted, not a literal
}

TEST(ParserData, UnclosedBracketInAtomIsAnOrdinaryCharacter) {
  Response r = single("* LIST () \"/\" foo[bar\r\n");
  ASSERT_EQ(r.args.size(), 3u);
  EXPECT_EQ(r.args[2].str(), "foo[bar");
  Response spaced = single("* X a[b c]d e\r\n");
  EXPECT_EQ(dumpArgs(spaced), "a[b c]d e");
  // Many "[" without "]" on one long line stay linear (a quadratic scan would take minutes).
  ResponseParser parser;
  std::vector<Response> out;
  const std::string brackets = "* X " + std::string(1000000, '[') + " y\r\n";
  ASSERT_TRUE(parser.feed(brackets.data(), brackets.size(), out).isOk());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].args.size(), 2u);
  EXPECT_EQ(out[0].args[0].text.size(), 1000000u);
}

TEST(ParserData, NilIsCaseInsensitiveButQuotedNilIsAString) {
  Response r = single("* X NIL nil \"NIL\" NILS\r\n");
  ASSERT_EQ(r.args.size(), 4u);
  EXPECT_EQ(r.args[0].type, Value::Type::Nil);
  EXPECT_EQ(r.args[1].type, Value::Type::Nil);
  EXPECT_EQ(r.args[2].type, Value::Type::String);
  EXPECT_EQ(r.args[2].str(), "NIL");
  EXPECT_EQ(r.args[3].type, Value::Type::Atom);
}

TEST(ParserData, BareLfLineEndings) {
  Transcript run = replay("* 1 EXISTS\nA1 OK done\n* 1 FETCH (BODY[] {3}\nabc)\n* LIST () \"/\" x\r\n");
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 4u);
  EXPECT_EQ(run.responses[1].text, "done");
  EXPECT_EQ(dumpArgs(run.responses[2]), "(BODY[] {3}\"abc\")");
  EXPECT_EQ(run.responses[3].args[2].str(), "x");
}

// ---------------------------------------------------------------------------------------------
// FETCH

// A message with the bytes that would confuse a parser that looked inside literals.
const std::string& messageBytes() {
  static const std::string m =
      "From: a@example.org\r\nSubject: ( \"{3}\r\n\r\nbody ) with \x00 NUL and \xff\r\n"s;
  return m;
}

std::string fetchTranscript() {
  const std::string& msg = messageBytes();
  return "* 12 FETCH (UID 5 FLAGS (\\Seen $Forwarded) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
         "RFC822.SIZE " +
         std::to_string(msg.size()) + " BODY[] {" + std::to_string(msg.size()) + "}\r\n" + msg +
         ")\r\nA7 OK Fetch completed\r\n";
}

TEST(ParserFetch, InMemoryLiteral) {
  const std::string& msg = messageBytes();
  Transcript run = replay(fetchTranscript());
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 2u);
  const Response& r = run.responses[0];
  EXPECT_EQ(r.kind, Response::Kind::Untagged);
  EXPECT_EQ(r.status, "FETCH");
  EXPECT_TRUE(r.hasNumber);
  EXPECT_EQ(r.number, 12u);
  ASSERT_EQ(r.args.size(), 1u);
  const std::vector<Value>& items = r.args[0].list;
  ASSERT_EQ(items.size(), 10u);
  EXPECT_TRUE(items[0].isAtom("UID"));
  EXPECT_EQ(items[1].number(), 5u);
  EXPECT_TRUE(items[2].isAtom("FLAGS"));
  EXPECT_EQ(dumpValue(items[3]), "(\\Seen $Forwarded)");
  EXPECT_EQ(items[5].str(), "17-Jul-1996 02:44:25 -0700");
  EXPECT_EQ(items[7].number(), msg.size());
  EXPECT_TRUE(items[8].isAtom("BODY[]"));
  EXPECT_EQ(items[9].type, Value::Type::String);
  EXPECT_EQ(items[9].size, msg.size());
  EXPECT_EQ(items[9].text, msg);
  EXPECT_EQ(run.responses[1].tag, "A7");
}

TEST(ParserFetch, StreamedLiteral) {
  const std::string& msg = messageBytes();
  Transcript run = replay(fetchTranscript(), claimItem("BODY[]"));
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 2u);
  const std::vector<Value>& items = run.responses[0].args[0].list;
  ASSERT_EQ(items.size(), 10u);
  EXPECT_EQ(items[9].type, Value::Type::Streamed);
  EXPECT_EQ(items[9].size, msg.size());
  EXPECT_TRUE(items[9].text.empty());
  ASSERT_EQ(run.literals.size(), 1u);
  const RecordedLiteral& lit = run.literals[0];
  EXPECT_EQ(lit.itemName, "BODY[]");
  EXPECT_EQ(lit.fetchNumber, 12u);
  EXPECT_EQ(lit.size, msg.size());
  EXPECT_EQ(lit.bytes, msg);
  EXPECT_EQ(lit.finishes, 1);
  // The handler sees what came before the literal, e.g. the UID.
  EXPECT_NE(lit.partial.find("status=FETCH number=12"), std::string::npos) << lit.partial;
  EXPECT_NE(lit.partial.find("args=(UID 5 FLAGS"), std::string::npos) << lit.partial;
  EXPECT_EQ(lit.partial.find("<streamed"), std::string::npos) << lit.partial;
}

TEST(ParserFetch, SectionItemNamesAreOneAtomUpperCasedInContext) {
  const std::string hdr = "Message-ID: <1234@example.org>\r\n\r\n";
  const std::string input = "* 3 FETCH (UID 8 body[header.fields (message-id date)] {" +
                            std::to_string(hdr.size()) + "}\r\n" + hdr +
                            " BODY[]<0> {5}\r\nhello BINARY[1]<0.10> ~{2}\r\n\x00\x01)\r\n"s;
  Transcript run = replay(input, claimAll());
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 1u);
  const std::vector<Value>& items = run.responses[0].args[0].list;
  ASSERT_EQ(items.size(), 8u);
  EXPECT_EQ(items[2].type, Value::Type::Atom);
  EXPECT_EQ(items[2].text, "body[header.fields (message-id date)]");  // as sent
  EXPECT_TRUE(items[2].isAtom("BODY[HEADER.FIELDS (MESSAGE-ID DATE)]"));
  ASSERT_EQ(run.literals.size(), 3u);
  EXPECT_EQ(run.literals[0].itemName, "BODY[HEADER.FIELDS (MESSAGE-ID DATE)]");
  EXPECT_EQ(run.literals[0].bytes, hdr);
  EXPECT_EQ(run.literals[0].fetchNumber, 3u);
  EXPECT_EQ(run.literals[1].itemName, "BODY[]<0>");
  EXPECT_EQ(run.literals[1].bytes, "hello");
  EXPECT_EQ(run.literals[2].itemName, "BINARY[1]<0.10>");
  EXPECT_EQ(run.literals[2].bytes, "\x00\x01"s);
}

TEST(ParserFetch, ModseqAndNilAndNestedLiterals) {
  Transcript run = replay(
      "* 4 FETCH (UID 9 MODSEQ (12345) FLAGS ())\r\n"
      "* 5 FETCH (ENVELOPE (\"Wed, 1 Jan 2020 00:00:00 +0000\" {4}\r\nsubj NIL NIL NIL NIL NIL NIL NIL "
      "NIL) UID 10)\r\n",
      claimAll());
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.responses.size(), 2u);
  EXPECT_EQ(dumpArgs(run.responses[0]), "(UID 9 MODSEQ (12345) FLAGS ())");
  EXPECT_EQ(run.responses[0].args[0].list[3].list[0].number(), 12345u);
  EXPECT_EQ(dumpArgs(run.responses[1]),
            "(ENVELOPE (\"Wed, 1 Jan 2020 00:00:00 +0000\" <streamed 4> NIL NIL NIL NIL NIL NIL NIL NIL) UID "
            "10)");
  ASSERT_EQ(run.literals.size(), 1u);
  EXPECT_EQ(run.literals[0].itemName, "");  // not directly after an item name
  EXPECT_EQ(run.literals[0].fetchNumber, 5u);
  EXPECT_EQ(run.literals[0].bytes, "subj");
}

TEST(ParserFetch, LiteralFormsAndEmptyLiterals) {
  const std::string input =
      "* 1 FETCH (BODY[] {5+}\r\nhello RFC822 {0}\r\n BINARY[] ~{3}\r\na\x00z BODY[TEXT] {0}\r\n)\r\n"s;
  Transcript mem = replay(input);
  ASSERT_TRUE(mem.status.isOk()) << mem.status.describe();
  ASSERT_EQ(mem.responses.size(), 1u);
  EXPECT_EQ(dumpArgs(mem.responses[0]),
            "(BODY[] {5}\"hello\" RFC822 \"\" BINARY[] {3}\"a\\x00z\" BODY[TEXT] \"\")");
  EXPECT_EQ(mem.responses[0].args[0].list[3].type, Value::Type::String);

  Transcript streamed = replay(input, claimAll());
  ASSERT_TRUE(streamed.status.isOk()) << streamed.status.describe();
  EXPECT_EQ(dumpArgs(streamed.responses[0]),
            "(BODY[] <streamed 5> RFC822 <streamed 0> BINARY[] <streamed 3> BODY[TEXT] <streamed 0>)");
  ASSERT_EQ(streamed.literals.size(), 4u);
  EXPECT_EQ(streamed.literals[1].itemName, "RFC822");
  EXPECT_EQ(streamed.literals[1].bytes, "");
  EXPECT_EQ(streamed.literals[1].finishes, 1);  // finish() even without bytes
  EXPECT_EQ(streamed.literals[2].bytes, "a\x00z"s);
  EXPECT_EQ(streamed.literals[3].finishes, 1);
}

TEST(ParserFetch, LiteralsOutsideFetchHaveNoItemName) {
  Transcript run = replay("* LIST () \"/\" {3}\r\nabc\r\n", claimAll());
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  ASSERT_EQ(run.literals.size(), 1u);
  EXPECT_EQ(run.literals[0].itemName, "");
  EXPECT_EQ(run.literals[0].fetchNumber, 0u);
  EXPECT_EQ(run.literals[0].bytes, "abc");
  EXPECT_NE(run.literals[0].partial.find("status=LIST"), std::string::npos);
}

TEST(ParserFetch, SinkErrorsAreReturnedUnchanged) {
  Options failAppend = claimAll();
  failAppend.failAppend = true;
  Transcript a = replay("* 1 EXISTS\r\n" + fetchTranscript(), failAppend);
  ASSERT_FALSE(a.status.isOk());
  EXPECT_EQ(a.status.kind(), ErrorKind::LocalStorage);
  EXPECT_EQ(a.status.message(), "disk full while saving");
  EXPECT_EQ(a.responses.size(), 1u);  // the EXISTS before it

  Options failFinish = claimAll();
  failFinish.failFinish = true;
  Transcript f = replay(fetchTranscript(), failFinish);
  ASSERT_FALSE(f.status.isOk());
  EXPECT_EQ(f.status.kind(), ErrorKind::Quota);
  EXPECT_EQ(f.status.message(), "quota exceeded at commit");
  ASSERT_EQ(f.literals.size(), 1u);
  EXPECT_EQ(f.literals[0].bytes, messageBytes());

  Transcript empty = replay("* 1 FETCH (BODY[] {0}\r\n)\r\n", failFinish);
  ASSERT_FALSE(empty.status.isOk());
  EXPECT_EQ(empty.status.kind(), ErrorKind::Quota);
}

TEST(ParserFetch, LargeLiteralIsStreamedFromTheFeedBufferWithBoundedMemory) {
  const size_t size = 5u << 20;
  std::string body(size, '\0');
  std::mt19937 rng(42);
  for (char& c : body) {
    c = static_cast<char>(rng() & 0xff);
  }
  body.replace(1000, 14, "\r\n)\r\nA1 OK x\r\n");
  const std::string input = "* 7 FETCH (UID 42 BODY[] {" + std::to_string(size) + "}\r\n" + body +
                            " FLAGS (\\Seen))\r\nA9 OK done\r\n";

  struct CheckingSink : LiteralSink {
    std::string bytes;
    const char* chunkBegin = nullptr;
    const char* chunkEnd = nullptr;
    size_t appends = 0;
    size_t maxAppend = 0;
    bool outsideFeedBuffer = false;
    int finishes = 0;
    Status append(const char* data, size_t len) override {
      // Zero copy: the bytes come straight from the buffer given to feed().
      outsideFeedBuffer = outsideFeedBuffer || data < chunkBegin || data + len > chunkEnd;
      bytes.append(data, len);
      ++appends;
      maxAppend = std::max(maxAppend, len);
      return Status::ok();
    }
    Status finish() override {
      ++finishes;
      return Status::ok();
    }
  } sink;
  ResponseParser parser({}, [&](const LiteralContext& ctx) -> LiteralSink* {
    return ctx.itemName == "BODY[]" ? &sink : nullptr;
  });
  std::vector<Response> out;
  size_t maxBuffered = 0;
  for (size_t pos = 0; pos < input.size(); pos += 4096) {
    const size_t n = std::min<size_t>(4096, input.size() - pos);
    sink.chunkBegin = input.data() + pos;
    sink.chunkEnd = input.data() + pos + n;
    ASSERT_TRUE(parser.feed(input.data() + pos, n, out).isOk());
    maxBuffered = std::max(maxBuffered, parser.bufferedBytes());
    if (pos > 8192 && pos + 8192 < size) {
      EXPECT_FALSE(parser.idle());
      EXPECT_TRUE(out.empty());
    }
  }
  EXPECT_TRUE(parser.idle());
  EXPECT_LT(maxBuffered, 256u);
  EXPECT_FALSE(sink.outsideFeedBuffer);
  EXPECT_EQ(sink.finishes, 1);
  EXPECT_GE(sink.appends, size / 4096);
  EXPECT_LE(sink.maxAppend, 4096u);
  EXPECT_TRUE(sink.bytes == body);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(dumpArgs(out[0]), "(UID 42 BODY[] <streamed 5242880> FLAGS (\\Seen))");
  EXPECT_EQ(out[1].tag, "A9");
}

TEST(ParserFetch, UnclaimedLiteralCountsAsBuffered) {
  ResponseParser parser;
  std::vector<Response> out;
  const std::string head = "* 1 FETCH (BODY[] {1000}\r\n";
  ASSERT_TRUE(parser.feed(head.data(), head.size(), out).isOk());
  EXPECT_GE(parser.bufferedBytes(), 1000u);
  EXPECT_FALSE(parser.idle());
  const std::string rest = std::string(1000, 'x') + ")\r\n";
  ASSERT_TRUE(parser.feed(rest.data(), rest.size(), out).isOk());
  EXPECT_EQ(parser.bufferedBytes(), 0u);
  EXPECT_TRUE(parser.idle());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].args[0].list[1].text, std::string(1000, 'x'));
}

// ---------------------------------------------------------------------------------------------
// Parser state

TEST(ParserState, IdleAndBufferedBytes) {
  ResponseParser parser;
  std::vector<Response> out;
  EXPECT_TRUE(parser.idle());
  EXPECT_EQ(parser.bufferedBytes(), 0u);
  ASSERT_TRUE(parser.feed("* 1 EX", 6, out).isOk());
  EXPECT_FALSE(parser.idle());
  EXPECT_EQ(parser.bufferedBytes(), 6u);
  ASSERT_TRUE(parser.feed("ISTS\r\n", 6, out).isOk());
  EXPECT_TRUE(parser.idle());
  EXPECT_EQ(parser.bufferedBytes(), 0u);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(parser.feed("", 0, out).isOk());
  EXPECT_EQ(out.size(), 1u);
}

TEST(ParserState, MovedParserKeepsState) {
  ResponseParser a;
  std::vector<Response> out;
  ASSERT_TRUE(a.feed("* 2 EXI", 7, out).isOk());
  ResponseParser b(std::move(a));
  ASSERT_TRUE(b.feed("STS\r\n", 5, out).isOk());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].number, 2u);
  ResponseParser c;
  c = std::move(b);
  ASSERT_TRUE(c.feed("A1 OK x\r\n", 9, out).isOk());
  EXPECT_EQ(out.size(), 2u);
}

TEST(ParserState, ErrorIsFinal) {
  ResponseParser parser;
  std::vector<Response> out;
  Status first = parser.feed("A1 BOGUS\r\n", 10, out);
  ASSERT_FALSE(first.isOk());
  Status again = parser.feed("* 1 EXISTS\r\n", 12, out);
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.message(), first.message());
  EXPECT_TRUE(out.empty());
}

TEST(ParserState, ValueHelpers) {
  Value atom;
  atom.text = "Uid";
  EXPECT_TRUE(atom.isAtom("UID"));
  EXPECT_TRUE(atom.isAtom("uid"));
  EXPECT_FALSE(atom.isAtom("UIDS"));
  EXPECT_FALSE(atom.isAtom("UI"));
  EXPECT_FALSE(atom.isNumber());
  EXPECT_EQ(atom.number(), 0u);

  Value str;
  str.type = Value::Type::String;
  str.text = "UID";
  EXPECT_FALSE(str.isAtom("UID"));
  str.text = "12";
  EXPECT_FALSE(str.isNumber());

  Value num;
  num.text = "3857529045";
  EXPECT_TRUE(num.isNumber());
  EXPECT_EQ(num.number(), 3857529045u);
  num.text = "0";
  EXPECT_TRUE(num.isNumber());
  num.text = "18446744073709551615";
  EXPECT_TRUE(num.isNumber());
  EXPECT_EQ(num.number(), UINT64_MAX);
  num.text = "18446744073709551616";
  EXPECT_FALSE(num.isNumber());
  EXPECT_EQ(num.number(), 0u);
  num.text = "12a";
  EXPECT_FALSE(num.isNumber());
  num.text = "";
  EXPECT_FALSE(num.isNumber());
  num.text = "-1";
  EXPECT_FALSE(num.isNumber());
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(ParserLimit, LineLength) {
  Options o;
  o.limits.maxLineLength = 32;
  const std::string exact = "A1 OK " + std::string(26, 'x');  // 32 bytes
  Response r = single(exact + "\r\n", o);
  EXPECT_EQ(r.text.size(), 26u);

  Status st = failure(exact + "y\r\n", o);
  EXPECT_EQ(st.kind(), ErrorKind::Protocol);
  EXPECT_EQ(st.message().rfind("IMAP response line longer than 32 bytes at \"A1 OK xxx", 0), 0u)
      << st.message();

  // Found before the line ends, so memory stays bounded against a server that never sends LF.
  ResponseParser parser(o.limits);
  std::vector<Response> out;
  const std::string endless(100, 'z');
  EXPECT_FALSE(parser.feed(endless.data(), endless.size(), out).isOk());
}

TEST(ParserLimit, LineLengthCountsSegmentsButNotLiterals) {
  Options o;
  o.limits.maxLineLength = 30;
  // Literal bytes do not count.
  Response r = single("* 1 FETCH (BODY[] {100}\r\n" + std::string(100, 'b') + ")\r\n", o);
  EXPECT_EQ(r.args[0].list[1].size, 100u);
  // The text around several literals does: 16 + 6 + 6 + 1 bytes, then 16 + 6 + 6 + 6 + 1.
  single("* 1 FETCH (A {1}\r\nx B {1}\r\ny C {1}\r\nz)\r\n", o);
  Status st = failure("* 1 FETCH (A {1}\r\nx B {1}\r\ny C {1}\r\nz D {1}\r\nw)\r\n", o);
  EXPECT_NE(st.message().find("longer than 30 bytes"), std::string::npos) << st.message();
}

TEST(ParserLimit, Nesting) {
  Options o;
  o.limits.maxNesting = 3;
  Response ok = single("* X (((a)))\r\n", o);
  EXPECT_EQ(dumpArgs(ok), "(((a)))");
  Status st = failure("* X ((((a))))\r\n", o);
  EXPECT_NE(st.message().find("IMAP response nested deeper than 3 lists"), std::string::npos) << st.message();

  ResponseParser parser;  // default limit: 64
  std::vector<Response> out;
  const std::string deep64 = "* X " + std::string(64, '(') + std::string(64, ')') + "\r\n";
  EXPECT_TRUE(parser.feed(deep64.data(), deep64.size(), out).isOk());
  const std::string deep65 = "* X " + std::string(65, '(') + std::string(65, ')') + "\r\n";
  Status st65 = parser.feed(deep65.data(), deep65.size(), out);
  ASSERT_FALSE(st65.isOk());
  EXPECT_NE(st65.message().find("nested deeper than 64 lists"), std::string::npos);
}

TEST(ParserLimit, LiteralSize) {
  Status st = failure("* 1 FETCH (BODY[] {5000000000}\r\n", claimAll());
  EXPECT_EQ(st.kind(), ErrorKind::Protocol);
  EXPECT_NE(st.message().find("literal of 5000000000 bytes exceeds the limit of 4294967296 bytes"),
            std::string::npos)
      << st.message();

  Status huge = failure("* 1 FETCH (BODY[] {99999999999999999999999}\r\n", claimAll());
  EXPECT_NE(huge.message().find("literal of 99999999999999999999999 bytes exceeds the limit"),
            std::string::npos)
      << huge.message();

  Options o = claimAll();
  o.limits.maxLiteralSize = 10;
  Response r = single("* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n", o);
  EXPECT_EQ(dumpArgs(r), "(BODY[] <streamed 10>)");
  EXPECT_NE(failure("* 1 FETCH (BODY[] {11}\r\n01234567890)\r\n", o).message().find("literal of 11 bytes"),
            std::string::npos);
}

TEST(ParserLimit, InMemoryLiteral) {
  Options o;
  o.limits.maxInMemoryLiteral = 10;
  Response r = single("* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n", o);
  EXPECT_EQ(r.args[0].list[1].text, "0123456789");
  Status st = failure("* 1 FETCH (BODY[] {11}\r\n01234567890)\r\n", o);
  EXPECT_NE(
      st.message().find("literal of 11 bytes exceeds the limit of 10 bytes for literals kept in memory"),
      std::string::npos)
      << st.message();
  // A claimed literal is not held in memory, so the limit does not apply.
  Options claimed = claimAll();
  claimed.limits.maxInMemoryLiteral = 10;
  Transcript run = replay("* 1 FETCH (BODY[] {11}\r\n01234567890)\r\n", claimed);
  ASSERT_TRUE(run.status.isOk()) << run.status.describe();
  EXPECT_EQ(run.literals.at(0).bytes, "01234567890");
}

TEST(ParserLimit, InMemoryTotal) {
  Options o;
  o.limits.maxInMemoryTotal = 15;
  single("* 1 FETCH (A {8}\r\n01234567 B {7}\r\n0123456)\r\n", o);
  Status st = failure("* 1 FETCH (A {8}\r\n01234567 B {8}\r\n01234567)\r\n", o);
  EXPECT_NE(st.message().find("exceed the limit of 15 bytes kept in memory"), std::string::npos)
      << st.message();
  // The budget is per response.
  Transcript run = replay("* 1 FETCH (A {8}\r\n01234567)\r\n* 2 FETCH (A {8}\r\n01234567)\r\n", o);
  EXPECT_TRUE(run.status.isOk()) << run.status.describe();
}

TEST(ParserLimit, Values) {
  Options o;
  o.limits.maxValues = 5;
  Response r = single("* SEARCH 1 2 3 4 5\r\n", o);
  EXPECT_EQ(r.args.size(), 5u);
  Status st = failure("* SEARCH 1 2 3 4 5 6\r\n", o);
  EXPECT_NE(st.message().find("IMAP response has more than 5 values"), std::string::npos) << st.message();
  // Lists and literals count too.
  EXPECT_NE(failure("* X (1 2) (3 4)\r\n", o).message().find("more than 5 values"), std::string::npos);
  EXPECT_NE(failure("* X 1 2 3 4 5 {1}\r\nx\r\n", o).message().find("more than 5 values"), std::string::npos);
  // Per response, not per parser.
  Transcript run = replay("* SEARCH 1 2 3 4 5\r\n* SEARCH 1 2 3 4 5\r\n", o);
  EXPECT_TRUE(run.status.isOk()) << run.status.describe();
}

// ---------------------------------------------------------------------------------------------
// Malformed input

struct Malformed {
  std::string input;
  std::string expected;  // part of the error message
};

TEST(ParserMalformed, EachIsAProtocolErrorAtEverySplit) {
  const std::vector<Malformed> cases = {
      {"\r\n", "empty response line"},
      {"\n", "empty response line"},
      {"*\r\n", "expected a space after \"*\""},
      {"*X OK\r\n", "expected a space after \"*\""},
      {"* \r\n", "missing response name"},
      {"*  OK\r\n", "missing response name"},
      {"* 12\r\n", "missing response name after the message number"},
      {"* 12 \r\n", "missing response name after the message number"},
      {"* 4294967296 EXISTS\r\n", "message number out of range"},
      {"* 99999999999999999999999 EXISTS\r\n", "message number out of range"},
      {"* FE(TCH 1\r\n", "invalid response name"},
      {"* {3}\r\nabc\r\n", "invalid response name"},
      {"A1\r\n", "tagged response without status"},
      {"A1 \r\n", "tagged response without OK/NO/BAD status"},
      {"A1 FOO bar\r\n", "tagged response without OK/NO/BAD status"},
      {"A1 BYE bar\r\n", "tagged response without OK/NO/BAD status"},
      {"A1 PREAUTH x\r\n", "tagged response without OK/NO/BAD status"},
      {"A1 OKAY\r\n", "tagged response without OK/NO/BAD status"},
      {" A1 OK\r\n", "missing tag"},
      {"(A1 OK x\r\n", "invalid character in tag"},
      {"\"A1\" OK x\r\n", "invalid character in tag"},
      {"A\\1 OK x\r\n", "invalid character in tag"},
      {"A{1 OK x\r\n", "invalid character in tag"},
      {"A+1 OK x\r\n", "invalid character in tag"},
      {"A\x80 OK x\r\n", "invalid character in tag"},
      {"A\x01 OK x\r\n", "invalid character in tag"},
      {"* LIST (\\Noselect \"/\" foo\r\n", "1 list(s) not closed"},
      {"* X ((a)\r\n", "1 list(s) not closed"},
      {"* X (((\r\n", "3 list(s) not closed"},
      {"* LIST ) \"/\" foo\r\n", "\")\" without \"(\""},
      {"* SEARCH 1 2)\r\n", "\")\" without \"(\""},
      {"* 1 FETCH (BODY[] {abc}\r\nabc)\r\n", "invalid literal size"},
      {"* 1 FETCH (BODY[] {}\r\n", "invalid literal size"},
      {"* 1 FETCH (BODY[] {3\r\nabc)\r\n", "invalid literal size"},
      {"* 1 FETCH (BODY[] {3+3}\r\nabc)\r\n", "invalid literal size"},
      {"* 1 FETCH (BODY[] {-3}\r\nabc)\r\n", "invalid literal size"},
      {"* 1 FETCH (BODY[] {3}abc)\r\n", "missing CRLF after literal size"},
      {"* 1 FETCH (BODY[] {3} \r\nabc)\r\n", "missing CRLF after literal size"},
      {"* 1 FETCH (BODY[] {3}\r\nabcd)\r\n", "expected a space or \")\" after a string"},
      {"* 1 FETCH (BODY[] {3}\r\nab)\r\n", "1 list(s) not closed"},
      {"* LIST () \"/\" \"a\"\"b\"\r\n", "expected a space or \")\" after a string"},
      {"* LIST () \"/\" \"a\"b\r\n", "expected a space or \")\" after a string"},
      {"* LIST () \"/\" \"unterminated\r\n", "unterminated quoted string"},
      {"* LIST () \"/\" \"ends with backslash\\\r\n", "unterminated quoted string"},
      {"* OK hello\x00world\r\n"s, "NUL byte outside a literal"},
      {"* SEARCH 1\x00\r\n"s, "NUL byte outside a literal"},
      {"A1 OK \"\x00\"\r\n"s, "NUL byte outside a literal"},
      {"* OK bare\rCR\r\n", "CR without LF inside a response line"},
      {"* SEARCH 1\r\r\n", "CR without LF inside a response line"},
      {"* SEARCH 1 \x01\r\n", "unexpected control character"},
      {"* SEARCH 1 \x7f\r\n", "unexpected control character"},
      {"* SEARCH\t1\r\n", "invalid response name"},
      {"* 1 FETCH (A {1}\r\nx{1}\r\ny)\r\n", "expected a space or \")\" after a string"},
  };
  for (const Malformed& c : cases) {
    SCOPED_TRACE("input: \"" + escaped(c.input) + "\"");
    Status st = failure(c.input);
    if (st.isOk()) {
      continue;
    }
    EXPECT_EQ(st.kind(), ErrorKind::Protocol);
    EXPECT_NE(st.message().find(c.expected), std::string::npos) << st.message();
    EXPECT_FALSE(st.hint().empty());
  }
}

TEST(ParserMalformed, EarlierResponsesSurviveTheError) {
  Transcript run = replay("* 1 EXISTS\r\nA1 OK done\r\n* SEARCH 1 2)\r\n* 2 EXISTS\r\n");
  ASSERT_FALSE(run.status.isOk());
  ASSERT_EQ(run.responses.size(), 2u);
  EXPECT_EQ(run.responses[1].tag, "A1");
}

TEST(ParserMalformed, ErrorExcerptIsShortAndSanitized) {
  const std::string input =
      "* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] " + std::string(200, '\x01') + "\x1b[31m\xff) trailing\r\n";
  Status st = failure(input);
  ASSERT_FALSE(st.isOk());
  const std::string& m = st.message();
  for (char c : m) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "raw byte " << static_cast<int>(u) << " in: " << m;
  }
  EXPECT_LT(m.size(), 160u) << m;
  // Starts shortly before the offending byte.
  EXPECT_NE(m.find("BODY[] \\x01\\x01"), std::string::npos) << m;
  EXPECT_NE(m.find("..."), std::string::npos) << m;
}

TEST(ParserMalformed, RandomInputIsSplitInvariantAndBounded) {
  const std::vector<std::string> pieces = {
      "* ",       "A1 ",  "+ ",  "OK ",  "FETCH ", "1 ", "(",     ")",     "{3}\r\n", "{0}\r\n",
      "~{2}\r\n", "\"",   "\\",  "\r\n", "\n",     "\r", "BODY[", "]",     " ",       "NIL",
      "\x00"s,    "\xff", "abc", "[",    "{",      "}",  "12",    "LIST ", "<0>",     "{9999999}\r\n"};
  Options o;
  o.limits.maxLineLength = 200;
  o.limits.maxInMemoryLiteral = 64;
  o.limits.maxInMemoryTotal = 64;
  o.claim = [](const LiteralContext& ctx) { return !ctx.itemName.empty(); };
  std::mt19937 rng(7);
  for (int iter = 0; iter < 5000; ++iter) {
    std::string input;
    const size_t count = 1 + rng() % 40;
    for (size_t i = 0; i < count; ++i) {
      input += pieces[rng() % pieces.size()];
    }
    Transcript whole = runWithCuts(input, {}, o);
    std::vector<size_t> every;
    for (size_t cut = 1; cut < input.size(); ++cut) {
      every.push_back(cut);
    }
    Transcript bytewise = runWithCuts(input, every, o);
    ASSERT_EQ(describe(bytewise), describe(whole)) << "input: \"" << escaped(input) << "\"";
    std::vector<size_t> middle = {input.size() / 2};
    ASSERT_EQ(describe(runWithCuts(input, middle, o)), describe(whole))
        << "input: \"" << escaped(input) << "\"";
    EXPECT_LE(bytewise.maxBuffered, 202u + 64);
    EXPECT_LE(whole.maxBuffered, 200u + 202 + 64);
    if (!whole.status.isOk()) {
      EXPECT_EQ(whole.status.kind(), ErrorKind::Protocol);
    }
  }
}

TEST(ParserMalformed, MutatedTranscriptsAreSplitInvariant) {
  const std::vector<std::string> lines = {
      "* 12 FETCH (UID 5 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n",
      "* 3 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {4}\r\nab\r\n UID 9)\r\n",
      "* LIST (\\HasNoChildren) \"/\" \"a \\\"b\\\"\"\r\n",
      "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
      "A1 OK [UIDVALIDITY 3] done\r\n",
      "+ go ahead\r\n",
      "* 4 EXISTS\n",
      "* STATUS {3}\r\nabc (MESSAGES 1)\r\n",
      "* 1 FETCH (BINARY[] ~{2}\r\n\x00\x01)\r\n"s,
  };
  Options o;
  o.limits.maxNesting = 4;
  o.limits.maxInMemoryLiteral = 8;
  o.limits.maxInMemoryTotal = 8;
  o.claim = [](const LiteralContext& ctx) { return ctx.itemName == "BODY[]"; };
  std::mt19937 rng(11);
  int ok = 0;
  int failed = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    // Alternate a roomy and a tight line limit, so that limit errors meet every split too.
    o.limits.maxLineLength = iter % 2 == 0 ? 120 : 12 + rng() % 30;
    std::string input;
    const size_t count = 1 + rng() % 5;
    for (size_t i = 0; i < count; ++i) {
      input += lines[rng() % lines.size()];
    }
    const size_t mutations = rng() % 3;
    for (size_t m = 0; m < mutations && !input.empty(); ++m) {
      const size_t at = rng() % input.size();
      const char byte = "(){}[]\"\\ \r\n\x00\x80~+*9"[rng() % 17];
      switch (rng() % 3) {
        case 0:
          input[at] = byte;
          break;
        case 1:
          input.insert(at, 1, byte);
          break;
        default:
          input.erase(at, 1);
          break;
      }
    }
    const Transcript whole = runWithCuts(input, {}, o);
    std::vector<size_t> every;
    for (size_t cut = 1; cut < input.size(); ++cut) {
      every.push_back(cut);
    }
    ASSERT_EQ(describe(runWithCuts(input, every, o)), describe(whole))
        << "input: \"" << escaped(input) << "\"";
    const std::vector<size_t> third = {input.size() / 3};
    ASSERT_EQ(describe(runWithCuts(input, third, o)), describe(whole))
        << "input: \"" << escaped(input) << "\"";
    (whole.status.isOk() ? ok : failed)++;
  }
  // The generator must exercise both paths for this test to mean anything.
  EXPECT_GT(ok, 2000);
  EXPECT_GT(failed, 2000);
}

}  // namespace
}  // namespace migrate::imap
