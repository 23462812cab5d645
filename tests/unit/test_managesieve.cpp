// The ManageSieve client (core/sieve/managesieve.h) against a scripted server that answers as
// Dovecot's managesieve does (docs/dev/sieve-research.md): capabilities, AUTHENTICATE PLAIN,
// LISTSCRIPTS with quoted and literal names, GETSCRIPT literals kept byte for byte, refusals.

#include "sieve/managesieve.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base64.h"
#include "fakes/fake_imap_server.h"

namespace migrate::sieve {
namespace {

const std::string kCapabilities =
    "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n"
    "\"SIEVE\" \"fileinto reject envelope vacation mailbox\"\r\n"
    "\"SASL\" \"PLAIN LOGIN\"\r\n"
    "\"VERSION\" \"1.0\"\r\n";

class ManageSieveTest : public ::testing::Test {
 protected:
  std::string password = "s3cret";
  std::string script =
      "require \"fileinto\";\nif header :contains \"subject\" \"x\" { fileinto \"Work\"; }\n";
  std::vector<std::string> logins;

  std::unique_ptr<Session> connect() {
    // The scripted server splits each line at its first space: (command, arguments).
    server_ = std::make_unique<testing::FakeImapServer>(
        kCapabilities + "OK \"Dovecot ready.\"\r\n",
        [this](const std::string& cmd, const std::string& args) { return answer(cmd, args); });
    auto s =
        std::make_unique<Session>(server_->clientTransport(), SessionOptions{"sieve.old.example:4190", 5000});
    Status st = s->readGreeting();
    EXPECT_TRUE(st.isOk()) << st.describe();
    return s;
  }

  std::string answer(const std::string& cmd, const std::string& args) {
    if (cmd == "AUTHENTICATE") {
      logins.push_back(args);
      std::string b64 = args.substr(args.find(' ') + 2);
      b64.pop_back();
      std::string plain;
      base64Decode(b64, plain);
      return plain.substr(plain.rfind('\0') + 1) == password ? "OK \"Logged in.\"\r\n"
                                                             : "NO \"Authentication failed.\"\r\n";
    }
    if (cmd == "LISTSCRIPTS") {
      return "\"vacation\"\r\n\"main \\\"filters\\\"\" ACTIVE\r\n{9}\r\nmultiline\r\nOK \"Listscripts "
             "completed.\"\r\n";
    }
    if (cmd == "GETSCRIPT") {
      if (args == "\"missing\"") {
        return "NO (NONEXISTENT) \"Sieve script not found\"\r\n";
      }
      return "{" + std::to_string(script.size()) + "}\r\n" + script + "\r\nOK \"Getscript completed.\"\r\n";
    }
    if (cmd == "LOGOUT") {
      return "OK \"Logout completed.\"\r\n";
    }
    return "NO {30}\r\nline 2: error: unknown command\r\n";
  }

  std::unique_ptr<testing::FakeImapServer> server_;
};

TEST_F(ManageSieveTest, ReadsCapabilitiesWithTheirValues) {
  auto s = connect();
  EXPECT_TRUE(s->hasCapability("SIEVE"));
  EXPECT_EQ(s->capability("SASL"), "PLAIN LOGIN");
  EXPECT_FALSE(s->hasCapability("STARTTLS"));
  Status st = s->startTls(net::TlsOptions());
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Tls);
}

TEST_F(ManageSieveTest, LogsInWithPlainAndAsMasterUser) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  auto m = connect();
  ASSERT_TRUE(m->login("bob", password, "admin").isOk());
  ASSERT_EQ(logins.size(), 2u);
  std::string plain;
  ASSERT_TRUE(base64Decode(logins[1].substr(9, logins[1].size() - 10), plain));
  EXPECT_EQ(plain, std::string("bob\0admin\0s3cret", 16));
}

TEST_F(ManageSieveTest, ARefusedLoginIsAnAuthErrorWithoutThePassword) {
  auto s = connect();
  password = "other";
  Status st = s->login("bob", "s3cret");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(
      st.message(),
      "the ManageSieve server sieve.old.example:4190 refused the login as 'bob': Authentication failed.");
  EXPECT_EQ(st.describe().find("s3cret"), std::string::npos);
}

TEST_F(ManageSieveTest, ListsScriptsWithEscapedAndLiteralNames) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  Result<std::vector<ScriptEntry>> l = s->listScripts();
  ASSERT_TRUE(l.isOk()) << l.status().describe();
  ASSERT_EQ(l.value().size(), 3u);
  EXPECT_EQ(l.value()[0].name, "vacation");
  EXPECT_FALSE(l.value()[0].active);
  EXPECT_EQ(l.value()[1].name, "main \"filters\"");
  EXPECT_TRUE(l.value()[1].active);
  EXPECT_EQ(l.value()[2].name, "multiline");
}

TEST_F(ManageSieveTest, GetScriptKeepsTheBytesAndNamesAMissingOne) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  Result<std::string> got = s->getScript("main \"filters\"");
  ASSERT_TRUE(got.isOk()) << got.status().describe();
  EXPECT_EQ(got.value(), script) << "LF line ends stay LF";
  EXPECT_EQ(server_->commands().back(), "\"main \\\"filters\\\"\"");
  Result<std::string> missing = s->getScript("missing");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().kind(), ErrorKind::NotFound);
  EXPECT_EQ(missing.status().message(),
            "the ManageSieve server sieve.old.example:4190 refused GETSCRIPT of "
            "'missing': (NONEXISTENT) Sieve script not found");
  ASSERT_TRUE(s->logout().isOk());
}

TEST(ManageSieveQuote, QuotesOrUsesALiteral) {
  EXPECT_EQ(quoteString("plain"), "\"plain\"");
  EXPECT_EQ(quoteString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoteString("two\r\nlines"), "{10+}\r\ntwo\r\nlines");
}

}  // namespace
}  // namespace migrate::sieve
