#include "batch/input_formats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace migrate::batch {
namespace {

// The full CSV header, in the documented order.
std::string header() {
  return "source_server,source_user,source_password,source_port,source_tls,target_user,target_password,"
         "create_mailbox";
}

// Every problem as the admin reads it, warnings marked.
std::vector<std::string> messages(const ParseResult& r) {
  std::vector<std::string> out;
  for (const Problem& p : r.problems) {
    out.push_back((p.fatal ? "" : "warning: ") + p.message);
  }
  return out;
}

using Lines = std::vector<std::string>;
using namespace std::string_literals;

TEST(BatchPairs, GoodFileWithBomCrlfCommentsBlankLinesAndPasswordsWithSpaces) {
  const ParseResult r = parse(
      "\xEF\xBB\xBF# customers of reseller 17\r\n"
      "\r\n"
      "alice@example.org s3cret\r\n"
      "   # indented comment\r\n"
      "bob@example.org\t\tcorrect horse battery staple\r\n"
      "carol@example.org pa;ss,wo\"rd#1\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.format, Format::Pairs);
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].line, 3u);
  EXPECT_EQ(r.entries[0].localUser, "alice@example.org");
  EXPECT_EQ(r.entries[0].remoteUser, "alice@example.org");
  EXPECT_EQ(r.entries[0].password, "s3cret");
  EXPECT_TRUE(r.entries[0].host.empty());
  EXPECT_FALSE(r.entries[0].port.has_value());
  EXPECT_FALSE(r.entries[0].tlsMode.has_value());
  EXPECT_EQ(r.entries[1].line, 5u);
  EXPECT_EQ(r.entries[1].password, "correct horse battery staple");
  EXPECT_EQ(r.entries[2].password, "pa;ss,wo\"rd#1");
}

TEST(BatchPairs, TrailingBlankInAPasswordIsKeptWithAWarning) {
  const ParseResult r = parse("alice pw \nbob pw\t\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.entries[0].password, "pw ");
  EXPECT_EQ(r.entries[1].password, "pw\t");
  EXPECT_EQ(messages(r),
            (Lines{
                "warning: line 1: the password ends with a space or tab, which is kept as part of it: "
                "remove it if it is not part of the password",
                "warning: line 2: the password ends with a space or tab, which is kept as part of it: "
                "remove it if it is not part of the password",
            }));
}

TEST(BatchPairs, BrokenLinesNameTheLineAndTheLikelyCause) {
  const ParseResult r = parse(
      "alice pw1\n"
      "carol\n"
      "dave:pw\n"
      "eve,pw\n"
      "alice pw2\n"
      "frank;imap.old.example;frank;pw\n"
      "gr\xE9ta pw\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.entries.empty());
  EXPECT_EQ(
      messages(r),
      (Lines{
          "line 2: login \"carol\" has no password after it (expected `login password`, separated by "
          "spaces or tabs)",
          "line 3: no password after \"dave:pw\": is ':' the separator? put a space or tab between login "
          "and password",
          "line 4: no password after \"eve,pw\": this looks like CSV, and a CSV file starts with the header "
          "line " +
              header(),
          "line 5: duplicate of line 1 (\"alice\"): remove one of the two lines",
          "line 6: this looks like a local-user;remote-imap-host;remote-user;remote-password line, but the "
          "file's first line (line 1) is in the `login password` format: one file holds one format",
          "line 7: login \"gr\\xe9ta\" is not valid UTF-8: save the file as UTF-8 (was it exported as "
          "Latin-1 or Windows-1252?)",
      }));
}

TEST(Batch, AHeaderRowInAFormatWithoutOneIsRefused) {
  EXPECT_EQ(
      messages(parse("Username\tPassword\nalice s3cret\n")),
      (Lines{"line 1: this looks like a header row (\"Username\\x09Password\"); the `login password` format "
             "has none: remove the line"}));
  EXPECT_EQ(
      messages(parse("local-user;remote-imap-host;remote-user;remote-password\nalice;imap.x;alice;pw\n")),
      (Lines{
          "line 1: this looks like a header row "
          "(\"local-user;remote-imap-host;remote-user;remote-password\"); "
          "the local-user;remote-imap-host;remote-user;remote-password format has none: remove the line"}));
  // ... and serialize() does not write one.
  const ParseResult csv = parse(header() + "\nimap.x,user,pw,,,user,,\n");
  ASSERT_TRUE(csv.ok());
  EXPECT_FALSE(serialize(Format::Semicolon, csv.entries).has_value());
  EXPECT_TRUE(serialize(Format::Csv, csv.entries).has_value());
  // A user who is really called "mail" with a real password is fine.
  EXPECT_TRUE(parse("mail Xq7-not-a-header\n").ok());
}

TEST(BatchCsv, GoodFileWithQuotingDefaultsAndBomCrlf) {
  const ParseResult r = parse("\xEF\xBB\xBF" + header() +
                              "\r\n"
                              "imap.old.example,alice,\"pa,ss\"\"word\",993,imaps,alice@example.org,,1\r\n"
                              "# moved later\r\n"
                              "IMAP.old.example , bob ,  \"  spaced  \" ,143,STARTTLS,bob@example.org,,no\r\n"
                              "192.0.2.7,carol,plain,,,carol@example.org,,\r\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.format, Format::Csv);
  EXPECT_TRUE(r.problems.empty()) << ::testing::PrintToString(messages(r));
  ASSERT_EQ(r.entries.size(), 3u);
  const Entry& a = r.entries[0];
  EXPECT_EQ(a.line, 2u);
  EXPECT_EQ(a.host, "imap.old.example");
  EXPECT_EQ(a.remoteUser, "alice");
  EXPECT_EQ(a.password, "pa,ss\"word");
  EXPECT_EQ(a.port, std::optional<uint16_t>(993));
  EXPECT_EQ(a.tlsMode, std::optional<TlsMode>(TlsMode::Imaps));
  EXPECT_EQ(a.localUser, "alice@example.org");
  EXPECT_TRUE(a.createMailbox);
  EXPECT_FALSE(a.targetPasswordIgnored);
  const Entry& b = r.entries[1];
  EXPECT_EQ(b.line, 4u);
  EXPECT_EQ(b.host, "IMAP.old.example");
  EXPECT_EQ(b.remoteUser, "bob");
  EXPECT_EQ(b.password, "  spaced  ");  // quoted: exactly what is between the quotes
  EXPECT_EQ(b.tlsMode, std::optional<TlsMode>(TlsMode::StartTls));
  EXPECT_FALSE(b.createMailbox);
  const Entry& c = r.entries[2];
  EXPECT_FALSE(c.port.has_value());
  EXPECT_FALSE(c.tlsMode.has_value());
}

TEST(BatchCsv, ColumnsInAnyOrderOptionalOnesLeftOutAndExcelSemicolons) {
  const ParseResult r = parse(
      "\"Target_User\";\"Source_Server\";\"Source_User\";\"Source_Password\"\n"
      "alice@example.org;imap.old.example;alice;\"pa;ss\"\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.format, Format::Csv);
  EXPECT_EQ(r.csvSeparator, ';');
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].localUser, "alice@example.org");
  EXPECT_EQ(r.entries[0].host, "imap.old.example");
  EXPECT_EQ(r.entries[0].password, "pa;ss");
}

TEST(BatchCsv, TargetPasswordIsAcceptedAndIgnoredWithOneNote) {
  const ParseResult r = parse(header() +
                              "\n"
                              "imap.old.example,alice,pw,,,alice,newpw,\n"
                              "imap.old.example,bob,pw,,,bob,newpw2,\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.entries[0].targetPasswordIgnored);
  EXPECT_TRUE(r.entries[1].targetPasswordIgnored);
  EXPECT_EQ(messages(r),
            (Lines{
                "warning: line 2: target_password is ignored, here and on every other line that "
                "sets it: the Dovecot user logs in through Dovecot's own passdb, which this tool "
                "never changes",
            }));
}

TEST(BatchCsv, BrokenLinesNameTheFieldAndTheLikelyCause) {
  const ParseResult r = parse(header() +
                              "\r\n"
                              "imap.old.example,alice,pa,ss,993,imaps,alice,,\r\n"
                              "imap.old.example:993,bob,pw,99999,ssl3,bob,,maybe\r\n"
                              "imap.old.example,carol,\"multi\r\n"
                              "line\",993,imaps,carol,,\r\n"
                              "imap.old.example,dave,\"pw\"x,,,dave,,\r\n"
                              "imap.old.example,eve,,,,eve,,\r\n"
                              "imap.old.example,frank,pw,,,frank\r\n"
                              "imap.old.example,gina,pw,,,,,\r\n"
                              "imap old,hank,pw,,,hank,,\r\n"
                              "imap.old.example,ida,pw,0,,ida,,\r\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.entries.empty());
  EXPECT_EQ(
      messages(r),
      (Lines{
          "line 2: 9 fields, but the header has 8: is there a ',' in an unquoted field, such as "
          "source_password? put that field in double quotes (\"pa,ss\"), writing a '\"' inside it twice",
          "line 3: source_server \"imap.old.example:993\" contains a port: put the port in source_port",
          "line 3: source_port \"99999\" is not a port (1-65535; empty: 993 for imaps, 143 otherwise)",
          "line 3: source_tls \"ssl3\" is not a TLS mode: use imaps (implicit TLS, port 993), starttls "
          "(port 143) or none (plaintext), or true/false; empty: imaps, or starttls when source_port is not "
          "993",
          "line 3: create_mailbox \"maybe\" is not a yes/no value (yes, true, on, 1, no, false, off, 0 or "
          "empty)",
          "line 4: source_password: the quoted field does not end on this line (a missing closing '\"'?); "
          "a field cannot contain a line break",
          "line 5: the rest of line 4, whose quoted field continues here: a field cannot contain a line "
          "break",
          "line 6: source_password: text after the closing '\"'; inside a quoted field write '\"' twice "
          "(\"\")",
          "line 7: source_password is empty",
          "line 8: 6 fields, but the header has 8: target_password and the columns after it are missing",
          "line 9: target_user is empty (the Dovecot user to migrate into)",
          "line 10: source_server \"imap old\" is not a host name or IP address",
          "line 11: source_port \"0\" is not a port (1-65535; empty: 993 for imaps, 143 otherwise)",
      }));
}

TEST(BatchCsv, HeaderProblemsStopBeforeTheData) {
  EXPECT_EQ(messages(parse("source_server,source_user,password,target_user\nimap.x,a,b,c\n")),
            (Lines{
                "line 1: unknown column \"password\" in the CSV header; the columns are " + header(),
                "line 1: the CSV header has no source_password column (required: source_server, source_user, "
                "source_password, target_user)",
            }));
  EXPECT_EQ(messages(parse("source_server,source_user,source_user,source_password,target_user,\n")),
            (Lines{
                "line 1: column source_user appears twice in the CSV header (columns 2 and 3)",
                "line 1: column 6 of the CSV header is empty (a separator too many?)",
            }));
  EXPECT_EQ(
      messages(parse("# export\n" + header() + "\n" + header() + "\nimap.x,a,b,,,c,,\n")),
      (Lines{"line 3: a second CSV header line (the first is line 2): were two files joined? remove this "
             "line"}));
  EXPECT_EQ(messages(parse(header() + "\n\n# nobody yet\n")),
            (Lines{"the file has the CSV header (line 1) but no mailbox lines"}));
}

// vshosting CloudMail's help page, verbatim: its example line (with and without the header it
// shows as the format), source_tls as "true / false", and create_target_mailbox.
const char* const kVshostingExample =
    "imap.example.com,user@example.com,password123,993,true,user@example.com,xahtaiTeemieF5eeCaed,true";

TEST(BatchCsv, VshostingExampleLineWithAndWithoutItsHeader) {
  for (const std::string& text :
       {header() + "\n" + kVshostingExample + "\n", std::string(kVshostingExample) + "\n"}) {
    const ParseResult r = parse(text);
    ASSERT_TRUE(r.ok()) << text << ::testing::PrintToString(messages(r));
    EXPECT_EQ(r.format, Format::Csv);
    ASSERT_EQ(r.entries.size(), 1u);
    const Entry& e = r.entries[0];
    EXPECT_EQ(e.line, text[0] == 's' ? 2u : 1u);
    EXPECT_EQ(e.host, "imap.example.com");
    EXPECT_EQ(e.remoteUser, "user@example.com");
    EXPECT_EQ(e.password, "password123");
    EXPECT_EQ(e.port, std::optional<uint16_t>(993));
    EXPECT_EQ(e.tlsMode, std::optional<TlsMode>(TlsMode::Imaps));
    EXPECT_EQ(e.localUser, "user@example.com");
    EXPECT_TRUE(e.createMailbox);
    EXPECT_TRUE(e.targetPasswordIgnored);
  }
  EXPECT_EQ(detectFormat(std::string(kVshostingExample) + "\n"), Format::Csv);
  const ParseResult forced = parse(std::string(kVshostingExample) + "\n", Format::Csv);
  EXPECT_TRUE(forced.ok()) << ::testing::PrintToString(messages(forced));
}

TEST(BatchCsv, SourceTlsTrueFalseFollowsThePort) {
  const ParseResult r = parse(header() +
                              "\n"
                              "imap.old.example,a,pw,993,true,a,,\n"
                              "imap.old.example,b,pw,,TRUE,b,,\n"
                              "imap.old.example,c,pw,143,true,c,,\n"
                              "imap.old.example,d,pw,587,yes,d,,\n"
                              "imap.old.example,e,pw,143,false,e,,\n"
                              "imap.old.example,f,pw,993,0,f,,\n"
                              "imap.old.example,g,pw,,1,g,,\n"
                              "imap.old.example,h,pw,143,no,h,,\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  const std::vector<TlsMode> want = {TlsMode::Imaps, TlsMode::Imaps, TlsMode::StartTls, TlsMode::StartTls,
                                     TlsMode::None,  TlsMode::None,  TlsMode::Imaps,    TlsMode::None};
  ASSERT_EQ(r.entries.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_EQ(r.entries[i].tlsMode, std::optional<TlsMode>(want[i])) << r.entries[i].localUser;
  }
  // The port may come after source_tls: the mode is decided once the whole line is read.
  const ParseResult reordered = parse(
      "source_tls,source_server,source_user,source_password,target_user,source_port\n"
      "true,imap.old.example,a,pw,a,143\n");
  ASSERT_TRUE(reordered.ok()) << ::testing::PrintToString(messages(reordered));
  EXPECT_EQ(reordered.entries[0].tlsMode, std::optional<TlsMode>(TlsMode::StartTls));
}

TEST(BatchCsv, CreateTargetMailboxIsAnotherNameForCreateMailbox) {
  const ParseResult r = parse(
      "source_server,source_user,source_password,source_port,source_tls,target_user,target_password,"
      "create_target_mailbox\n" +
      std::string(kVshostingExample) + "\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_TRUE(r.entries[0].createMailbox);
  EXPECT_EQ(
      messages(parse("create_mailbox,source_server,source_user,source_password,target_user,"
                     "create_target_mailbox\n")),
      (Lines{"line 1: column create_target_mailbox appears twice in the CSV header (columns 1 and 6)"}));
}

TEST(BatchCsv, AHeaderlessFileIsCheckedAsCsvAndItsLaterHeaderIsNamed) {
  EXPECT_EQ(
      messages(parse(std::string(kVshostingExample) + "\nimap.example.com,bob,pw,99999,maybe,bob,,\n" +
                     header() + "\n")),
      (Lines{
          "warning: line 1: target_password is ignored, here and on every other line that sets it: the "
          "Dovecot user logs in through Dovecot's own passdb, which this tool never changes",
          "line 2: source_port \"99999\" is not a port (1-65535; empty: 993 for imaps, 143 otherwise)",
          "line 2: source_tls \"maybe\" is not a TLS mode: use imaps (implicit TLS, port 993), starttls "
          "(port 143) or none (plaintext), or true/false; empty: imaps, or starttls when source_port is "
          "not 993",
          "line 3: a CSV header line after the first mailbox line (line 1): move it to the top, or remove "
          "it",
      }));
  // Seven or nine fields, or a first field that is no host: not this CSV (the old rules apply).
  EXPECT_EQ(detectFormat("imap.example.com,user,pw,993,true,user,x\n"), Format::Pairs);
  EXPECT_EQ(detectFormat("user@example.com pass,993,true,a,b,c,d,e\n"), Format::Pairs);
  EXPECT_EQ(detectFormat("alice;imap.example.com;alice;a,b,c,d,e,f,g\n"), Format::Semicolon);
  EXPECT_EQ(detectFormat("imap.example.com,user,pw,imaps,true,user,x,y\n"), Format::Pairs);
}

TEST(BatchCsv, ALineInAnotherFormatSaysSo) {
  EXPECT_EQ(
      messages(parse(header() + "\nalice;imap.old.example;alice;pw\n")),
      (Lines{
          "line 2: 1 field, but the header has 8: source_user and the columns after it are missing; this "
          "looks like a local-user;remote-imap-host;remote-user;remote-password line, but the file's first "
          "line (line 1) is in the CSV format: one file holds one format"}));
}

TEST(BatchSemicolon, GoodFileThePasswordIsTheRestOfTheLine) {
  const ParseResult r = parse(
      "# local;host;remote;password\r\n"
      "alice@example.org;imap.old.example;alice;pa;ss word\r\n"
      " bob@example.org ; [2001:db8::1] ; bob ;pw\r\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.format, Format::Semicolon);
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].localUser, "alice@example.org");
  EXPECT_EQ(r.entries[0].host, "imap.old.example");
  EXPECT_EQ(r.entries[0].remoteUser, "alice");
  EXPECT_EQ(r.entries[0].password, "pa;ss word");
  EXPECT_EQ(r.entries[1].line, 3u);
  EXPECT_EQ(r.entries[1].localUser, "bob@example.org");
  EXPECT_EQ(r.entries[1].host, "[2001:db8::1]");
  EXPECT_EQ(r.entries[1].remoteUser, "bob");
}

TEST(BatchSemicolon, APasswordThatReadsLikeTheCsvHeaderIsJustAPassword) {
  // Found by fuzz_batch: the password made the file look like CSV, and the same entry written as
  // CSV looked like a second header line.
  const ParseResult r = parse("alice;imap.old.example;alice;x,source_user,y\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(messages(r));
  EXPECT_EQ(r.format, Format::Semicolon);
  EXPECT_EQ(r.entries[0].password, "x,source_user,y");
  const std::optional<std::string> csv = serialize(Format::Csv, r.entries);
  ASSERT_TRUE(csv.has_value());
  const ParseResult again = parse(*csv);
  ASSERT_TRUE(again.ok()) << ::testing::PrintToString(messages(again));
  EXPECT_EQ(again.entries[0].password, "x,source_user,y");
}

TEST(BatchSemicolon, BrokenLines) {
  const ParseResult r = parse(
      "alice;imap.old.example;alice;pw\n"
      "bob;imap.old.example;bob\n"
      "carol;imap.old.example:993;carol;pw\n"
      "dave;imap.old.example;dave;\n"
      "eve pw\n"
      ";imap.old.example;frank;pw\n"
      "ALICE;imap.old.example;alice;pw\n"
      "alice;IMAP.OLD.EXAMPLE;alice;other\n"
      "alice;imap.other.example;alice;pw \n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      messages(r),
      (Lines{
          "line 2: 3 fields separated by ';', expected 4: local-user;remote-imap-host;remote-user;"
          "remote-password",
          "line 3: remote-imap-host \"imap.old.example:993\" contains a port: this format has no port; give "
          "it with --source-port for every line, or use the CSV format for a port per line",
          "line 4: remote-password is empty",
          "line 5: this looks like a `login password` line, but the file's first line (line 1) is in the "
          "local-user;remote-imap-host;remote-user;remote-password format: one file holds one format",
          "line 6: local-user is empty (the Dovecot user to migrate into)",
          "line 7: duplicate of line 1 (\"ALICE from alice at imap.old.example\", which differs from it only "
          "in upper/lower case): remove one of the two lines",
          "line 8: duplicate of line 1 (\"alice from alice at IMAP.OLD.EXAMPLE\"): remove one of the two "
          "lines",
          "warning: line 9: remote-password starts or ends with a space or tab, which is kept as part of the "
          "password: remove it if it is not part of the password",
          "warning: line 9: \"alice\" is also the target of line 1 (another source account): both accounts "
          "are merged into the same mailbox",
      }));
}

TEST(Batch, EmptyFilesAndFilesOfOnlyCommentsHaveNothingToRun) {
  for (const std::string& empty : {std::string(), std::string("\xEF\xBB\xBF")}) {
    const ParseResult r = parse(empty);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(messages(r), (Lines{"the file is empty: expected one mailbox a line"}));
  }
  const ParseResult r = parse("# nothing here yet\r\n\r\n   \r\n\t# really\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(messages(r), (Lines{"the file has no mailbox lines, only blank lines and comments"}));
}

TEST(Batch, BinaryAndWronglyEncodedFiles) {
  EXPECT_EQ(messages(parse("\xFF\xFE"
                           "a\0l\0"s)),
            (Lines{"the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8"}));
  EXPECT_EQ(
      messages(parse("alice pw\nbob p\0w\ncarol pw\rdave pw\r\n"s)),
      (Lines{
          "line 2: contains a NUL byte (is this a text file? UTF-16 must be saved as UTF-8)",
          "line 3: contains a carriage return (CR) inside the line; lines end with LF or CRLF (old Mac line "
          "endings?)",
      }));
  EXPECT_EQ(messages(parse("alice pw\nb\x01ob pw\n")),
            (Lines{"line 2: login \"b\\x01ob\" contains a control character"}));
}

TEST(Batch, AHugeLineIsReportedWithoutBeingCopiedAndTheRestIsStillChecked) {
  const std::string huge(1'000'000, 'x');
  const ParseResult r = parse("alice pw\nbob " + huge + "\ncarol\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      messages(r),
      (Lines{
          "line 2: 1000004 bytes long, more than the 16384 a line may have (is this the right file?)",
          "line 3: login \"carol\" has no password after it (expected `login password`, separated by spaces "
          "or tabs)",
      }));
  // A huge value elsewhere in a message is cut.
  const std::string longLogin(500, 'a');
  const ParseResult cut = parse(longLogin + "\n");
  ASSERT_EQ(cut.problems.size(), 1u);
  EXPECT_EQ(cut.problems[0].message,
            "line 1: login \"" + std::string(60, 'a') +
                "...\" has no password after it (expected `login password`, separated by "
                "spaces or tabs)");
}

TEST(Batch, NothingIsValidUntilTheWholeFileIsAndProblemsAreCapped) {
  std::string file = "alice pw\n";
  for (int i = 0; i < 250; i++) {
    file += "nopassword" + std::to_string(i) + "\n";
  }
  const ParseResult r = parse(file);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.entries.empty());  // alice's line was fine, but nothing runs and no password is kept
  ASSERT_EQ(r.problems.size(), kMaxProblems + 1);
  EXPECT_EQ(r.problems.front().line, 2u);
  EXPECT_EQ(r.problems.back().line, 0u);
  EXPECT_TRUE(r.problems.back().fatal);
  EXPECT_EQ(r.problems.back().message,
            "... and 150 more problems not shown: fix the ones above and check the file again");
}

TEST(Batch, DetectionAndForcedFormats) {
  EXPECT_EQ(detectFormat(""), Format::Pairs);
  EXPECT_EQ(detectFormat("# x;y;z;w\nalice pw;with;semis\n"), Format::Pairs);
  EXPECT_EQ(detectFormat("\xEF\xBB\xBF  alice;host;alice;pw with spaces\n"), Format::Semicolon);
  EXPECT_EQ(detectFormat("# export\r\n" + header() + "\r\n"), Format::Csv);
  EXPECT_EQ(detectFormat("SOURCE_USER;SOURCE_SERVER;SOURCE_PASSWORD;TARGET_USER\n"), Format::Csv);
  EXPECT_EQ(detectFormat("source_user@example.org pw\n"), Format::Pairs);

  EXPECT_EQ(messages(parse("alice pw\n", Format::Csv)),
            (Lines{"line 1: a CSV file starts with the header line " + header() +
                   " (or, without it, has those 8 fields in that order); this line is \"alice pw\""}));
  const ParseResult semi = parse("alice;imap.old.example;alice;pw\n", Format::Pairs);
  EXPECT_EQ(messages(semi),
            (Lines{"line 1: this looks like a local-user;remote-imap-host;remote-user;"
                   "remote-password line, but the file's first line (line 1) is in the `login "
                   "password` format: one file holds one format"}));
}

TEST(Batch, FormatNames) {
  EXPECT_EQ(parseFormatName("pairs").value(), Format::Pairs);
  EXPECT_EQ(parseFormatName("TXT").value(), Format::Pairs);
  EXPECT_EQ(parseFormatName("csv").value(), Format::Csv);
  EXPECT_EQ(parseFormatName("ssv").value(), Format::Semicolon);
  const Result<Format> bad = parseFormatName("xlsx");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().kind(), ErrorKind::Config);
  EXPECT_EQ(bad.status().message(), "unknown batch file format 'xlsx'");
  for (const Format f : {Format::Pairs, Format::Csv, Format::Semicolon}) {
    EXPECT_EQ(parseFormatName(formatName(f)).value(), f);
  }
}

TEST(Batch, SerializeGivesBackWhatParses) {
  const std::vector<std::string> files = {
      "alice pw with spaces\nbob \"quoted\"\n",
      "alice;imap.old.example;remote alice;pa;ss\n",
      header() +
          "\nimap.old.example,alice,\"a,b\"\"c\",993,starttls,alice@x,,1\n192.0.2.1,bob,\" x \",,,bob,,\n",
  };
  for (const std::string& file : files) {
    const ParseResult first = parse(file);
    ASSERT_TRUE(first.ok()) << file;
    const std::optional<std::string> text = serialize(first.format, first.entries);
    ASSERT_TRUE(text.has_value()) << file;
    const ParseResult again = parse(*text, first.format);
    ASSERT_TRUE(again.ok()) << *text;
    ASSERT_EQ(again.entries.size(), first.entries.size());
    for (size_t i = 0; i < first.entries.size(); i++) {
      EXPECT_EQ(again.entries[i].localUser, first.entries[i].localUser);
      EXPECT_EQ(again.entries[i].host, first.entries[i].host);
      EXPECT_EQ(again.entries[i].port, first.entries[i].port);
      EXPECT_EQ(again.entries[i].tlsMode, first.entries[i].tlsMode);
      EXPECT_EQ(again.entries[i].remoteUser, first.entries[i].remoteUser);
      EXPECT_EQ(again.entries[i].password, first.entries[i].password);
      EXPECT_EQ(again.entries[i].createMailbox, first.entries[i].createMailbox);
    }
  }
  // Pairs cannot carry a host.
  const ParseResult semi = parse("alice;imap.old.example;alice;pw\n");
  EXPECT_FALSE(serialize(Format::Pairs, semi.entries).has_value());
}

TEST(Batch, WipePasswordsLeavesNoPassword) {
  ParseResult r = parse("alice s3cret\nbob hunter2\n");
  ASSERT_TRUE(r.ok());
  wipePasswords(r.entries);
  for (const Entry& e : r.entries) {
    EXPECT_TRUE(e.password.empty());
  }
}

}  // namespace
}  // namespace migrate::batch
