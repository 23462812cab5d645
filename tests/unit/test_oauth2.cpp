// OAuth2 logins (XOAUTH2, OAUTHBEARER) against scripted servers, the token file and command, and
// a whole migration that re-runs the token command after the server refuses an expired token.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/base64.h"
#include "engine/migrator.h"
#include "engine/oauth2_token.h"
#include "fakes/fake_imap_server.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"
#include "imap/session.h"

namespace migrate {
namespace {

using testing::FakeImapServer;
using testing::FakeSource;
using testing::MemorySink;

const char* const kToken = "ya29.a0AfH6SMBx-secret-token";
const char* const kGmailError = R"({"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"})";

std::unique_ptr<imap::Session> session(FakeImapServer& server) {
  imap::SessionOptions o;
  o.peerName = "imap.test:143";
  o.host = "imap.test";
  o.port = 143;
  return std::make_unique<imap::Session>(server.clientTransport(), o);
}

std::string decoded(const std::string& b64) {
  std::string out;
  EXPECT_TRUE(base64Decode(b64, out)) << b64;
  return out;
}

// The client's response line to a "+" arrives as (tag, command) split at its first space.
std::string wholeLine(const std::string& tag, const std::string& cmd) {
  return cmd.empty() ? tag : tag + " " + cmd;
}

void expectNoToken(const Status& st, const std::string& token = kToken) {
  EXPECT_EQ(st.message().find(token), std::string::npos) << st.message();
  EXPECT_EQ(st.hint().find(token), std::string::npos) << st.hint();
}

// --- Session::loginOAuth ---------------------------------------------------------------------

TEST(OAuth2Session, Xoauth2WithSaslIr) {
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR] hi\r\n",
                        [](const std::string& tag, const std::string&) {
                          return tag + " OK [CAPABILITY IMAP4rev1 CONDSTORE] Logged in\r\n";
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("alice@gmail.com", kToken);
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_TRUE(sess->loggedIn());
  EXPECT_TRUE(sess->hasCapability("CONDSTORE"));
  auto cmds = server.commands();
  ASSERT_EQ(cmds.size(), 1u);
  const std::string prefix = "AUTHENTICATE XOAUTH2 ";
  ASSERT_EQ(cmds[0].rfind(prefix, 0), 0u) << "XOAUTH2 is preferred when both are offered";
  EXPECT_EQ(decoded(cmds[0].substr(prefix.size())),
            std::string("user=alice@gmail.com\x01") + "auth=Bearer " + kToken + "\x01\x01");
}

TEST(OAuth2Session, Xoauth2WithoutSaslIrWaitsForTheContinuation) {
  std::string pendingTag;
  std::string response;
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] hi\r\n",
                        [&](const std::string& tag, const std::string& cmd) -> std::string {
                          if (cmd == "AUTHENTICATE XOAUTH2") {
                            pendingTag = tag;
                            return "+ \r\n";
                          }
                          if (!pendingTag.empty()) {
                            response = wholeLine(tag, cmd);
                            return pendingTag + " OK [CAPABILITY IMAP4rev1] Logged in\r\n";
                          }
                          return tag + " BAD unexpected\r\n";
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("alice@gmail.com", kToken);
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_EQ(server.commands()[0], "AUTHENTICATE XOAUTH2");
  EXPECT_EQ(decoded(response),
            std::string("user=alice@gmail.com\x01") + "auth=Bearer " + kToken + "\x01\x01");
}

TEST(OAuth2Session, OauthBearerWithHostPortAndEscapedUser) {
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=OAUTHBEARER SASL-IR] hi\r\n",
                        [](const std::string& tag, const std::string&) {
                          return tag + " OK [CAPABILITY IMAP4rev1] Logged in\r\n";
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("a,b=c@example.org", kToken);
  ASSERT_TRUE(st.isOk()) << st.describe();
  const std::string prefix = "AUTHENTICATE OAUTHBEARER ";
  ASSERT_EQ(server.commands()[0].rfind(prefix, 0), 0u);
  EXPECT_EQ(decoded(server.commands()[0].substr(prefix.size())),
            std::string("n,a=a=2Cb=3Dc@example.org,\x01host=imap.test\x01port=143\x01") + "auth=Bearer " +
                kToken + "\x01\x01");
}

TEST(OAuth2Session, RefusedXoauth2DecodesTheJsonChallenge) {
  std::string pendingTag;
  std::vector<std::string> lines;
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] hi\r\n",
                        [&](const std::string& tag, const std::string& cmd) -> std::string {
                          lines.push_back(wholeLine(tag, cmd));
                          if (cmd.rfind("AUTHENTICATE XOAUTH2 ", 0) == 0) {
                            pendingTag = tag;
                            return "+ " + base64Encode(kGmailError) + "\r\n";
                          }
                          // Gmail echoes nothing secret, but a server that does must not leak it.
                          return pendingTag + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure) " +
                                 kToken + "\r\n";
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("alice@gmail.com", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(st.message(),
            "OAuth2 login as 'alice@gmail.com' failed at imap.test:143: the server says status 401 "
            "(scope https://mail.google.com/)");
  EXPECT_EQ(st.hint(),
            "the access token is expired or lacks the IMAP scope: get a new one "
            "(--source-oauth2-token-command runs again automatically)");
  expectNoToken(st);
  EXPECT_TRUE(sess->oauthFailure().refused);
  EXPECT_EQ(sess->oauthFailure().status, "401");
  EXPECT_FALSE(sess->loggedIn());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "") << "XOAUTH2 answers the error challenge with an empty line";
}

TEST(OAuth2Session, RefusedOauthBearerAnswersTheDummyResponse) {
  std::string pendingTag;
  std::vector<std::string> lines;
  FakeImapServer server(
      "* OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER] hi\r\n",
      [&](const std::string& tag, const std::string& cmd) -> std::string {
        lines.push_back(wholeLine(tag, cmd));
        if (cmd == "AUTHENTICATE OAUTHBEARER") {
          pendingTag = tag;
          return "+\r\n";
        }
        if (wholeLine(tag, cmd) == base64Encode("\x01")) {
          return pendingTag + " NO SASL authentication failed\r\n";
        }
        return "+ " + base64Encode(R"({ "status" : "invalid_token", "scope" : "IMAP.AccessAsUser.All" })") +
               "\r\n";
      });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("bob@contoso.com", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(st.message(),
            "OAuth2 login as 'bob@contoso.com' failed at imap.test:143: the server says status invalid_token "
            "(scope IMAP.AccessAsUser.All)");
  EXPECT_NE(st.hint().find("expired"), std::string::npos) << st.hint();
  expectNoToken(st);
  EXPECT_EQ(sess->oauthFailure().status, "invalid_token");
  EXPECT_TRUE(sess->oauthFailure().expired) << "RFC 7628's word for an expired token, as Dovecot sends it";
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(decoded(lines[1]).rfind("n,a=bob@contoso.com,\x01", 0), 0u);
  EXPECT_EQ(lines[2], "AQ==") << "RFC 7628: a single %x01 answers the error challenge";
}

TEST(OAuth2Session, InsufficientScopeIsNotTakenForExpiry) {
  FakeImapServer server(
      "* OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER SASL-IR] hi\r\n",
      [pendingTag = std::string()](const std::string& tag, const std::string& cmd) mutable -> std::string {
        if (cmd.rfind("AUTHENTICATE", 0) == 0) {
          pendingTag = tag;
          return "+ " + base64Encode(R"({"status":"insufficient_scope","scope":"mail"})") + "\r\n";
        }
        return pendingTag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n";
      });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("bob@contoso.com", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(
      st.message(),
      "OAuth2 login as 'bob@contoso.com' failed at imap.test:143: the server says status insufficient_scope "
      "(scope mail)");
  EXPECT_NE(st.hint().find("issued for 'bob@contoso.com' with the IMAP scope"), std::string::npos)
      << st.hint();
  EXPECT_TRUE(sess->oauthFailure().refused);
  EXPECT_FALSE(sess->oauthFailure().expired);
}

TEST(OAuth2Session, RefusalWithoutChallengeAsOffice365SaysIt) {
  FakeImapServer server(
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR] hi\r\n",
      [](const std::string& tag, const std::string&) { return tag + " NO AUTHENTICATE failed.\r\n"; });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("bob@contoso.com", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(st.message(), "OAuth2 login as 'bob@contoso.com' failed at imap.test:143: AUTHENTICATE failed.");
  EXPECT_NE(st.hint().find("expired"), std::string::npos);
  EXPECT_TRUE(sess->oauthFailure().refused);
  EXPECT_TRUE(sess->oauthFailure().expired) << "no reason given: a new token may help";
  EXPECT_EQ(sess->oauthFailure().status, "");
}

TEST(OAuth2Session, NoMechanismOfferedNamesWhatTheServerOffers) {
  FakeImapServer server(
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN SASL-IR] hi\r\n",
      [](const std::string& tag, const std::string&) { return tag + " BAD unexpected\r\n"; });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("alice", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(
      st.message(),
      "OAuth2 login as 'alice' is not possible at imap.test:143: the server offers neither AUTH=XOAUTH2 "
      "nor AUTH=OAUTHBEARER (it offers AUTH=LOGIN, AUTH=PLAIN)");
  EXPECT_NE(st.hint().find("--source-password-file"), std::string::npos);
  EXPECT_FALSE(sess->oauthFailure().refused);
  EXPECT_TRUE(server.commands().empty()) << "nothing is sent";
}

TEST(OAuth2Session, ThrottledLoginIsThrottledNotAuth) {
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] hi\r\n",
                        [](const std::string& tag, const std::string&) {
                          return tag + " NO [UNAVAILABLE] Too many simultaneous connections. (Failure)\r\n";
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->loginOAuth("alice@gmail.com", kToken);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Throttled);
  EXPECT_FALSE(sess->oauthFailure().refused);
}

// --- OAuth2Token -----------------------------------------------------------------------------

class OAuth2TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-oauth2-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string writeFile(const std::string& name, const std::string& content, mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  // Prints "tok-1", "tok-2", ... one more on each run.
  std::string countingCommand() const {
    return "n=$(cat '" + dir_ + "/count' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '" + dir_ +
           "/count'; echo \"  tok-$n\"";
  }
  int runs() const {
    std::ifstream in(dir_ + "/count");
    int n = 0;
    in >> n;
    return n;
  }
  std::string dir_;
};

TEST_F(OAuth2TokenTest, FileIsTrimmedAndGroupReadableIsFlagged) {
  OAuth2Token secret(writeFile("token", std::string(" \n") + kToken + " \r\n\n"), "");
  Result<std::string> t = secret.token(false);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kToken);
  EXPECT_FALSE(secret.fileReadableByOthers());

  OAuth2Token open(writeFile("open", kToken, 0644), "");
  ASSERT_TRUE(open.token(false).isOk());
  EXPECT_TRUE(open.fileReadableByOthers());
}

TEST_F(OAuth2TokenTest, FileErrorsNeverQuoteTheContent) {
  OAuth2Token missing(dir_ + "/nope", "");
  Result<std::string> t = missing.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().kind(), ErrorKind::Config);
  EXPECT_EQ(t.status().message(), "the OAuth2 token file " + dir_ + "/nope does not exist");

  OAuth2Token empty(writeFile("empty", " \n"), "");
  t = empty.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("gave no access token"), std::string::npos);

  OAuth2Token json(writeFile("json", std::string("{\"access_token\": \"") + kToken + "\"}\n"), "");
  t = json.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().kind(), ErrorKind::Config);
  EXPECT_NE(t.status().message().find("more than one access token"), std::string::npos);
  expectNoToken(t.status());

  OAuth2Token dir(dir_, "");
  t = dir.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("is not a regular file"), std::string::npos);
}

TEST_F(OAuth2TokenTest, FileIsReadAgainOnRefresh) {
  std::string path = writeFile("token", "first\n");
  OAuth2Token token(path, "");
  ASSERT_EQ(token.token(false).value(), "first");
  writeFile("token", "second\n");
  EXPECT_EQ(token.token(false).value(), "first") << "cached";
  EXPECT_EQ(token.token(true).value(), "second");
}

TEST_F(OAuth2TokenTest, CommandRunsOnceUntilRefreshed) {
  OAuth2Token token("", countingCommand());
  Result<std::string> t = token.token(false);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), "tok-1");
  EXPECT_EQ(token.token(false).value(), "tok-1");
  EXPECT_EQ(runs(), 1);
  EXPECT_EQ(token.token(true).value(), "tok-2");
  EXPECT_EQ(runs(), 2);
}

TEST_F(OAuth2TokenTest, CommandGetsTheUserInItsEnvironmentAndNoStdin) {
  OAuth2Token token("", "cat; printf '%s' \"$MIGRATE_SOURCE_USER\"", {"MIGRATE_SOURCE_USER=alice@gmail.com"});
  Result<std::string> t = token.token(false);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), "alice@gmail.com");
}

TEST_F(OAuth2TokenTest, CommandFailureGivesTheFirstLineOfStderr) {
  OAuth2Token token("", "echo 'error: invalid_grant (token revoked)' >&2; echo second line >&2; exit 3");
  Result<std::string> t = token.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().kind(), ErrorKind::Config);
  EXPECT_EQ(
      t.status().message(),
      "the OAuth2 token command 'echo 'error: invalid_grant (token revoked)' >&2; echo second line >&2; "
      "exit 3' failed (exit status 3): error: invalid_grant (token revoked)");
  EXPECT_NE(t.status().hint().find("print only the access token"), std::string::npos);

  OAuth2Token silent("", "exit 1");
  t = silent.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("failed (exit status 1): nothing on stderr"), std::string::npos);

  OAuth2Token missing("", "/nonexistent/get-token");
  t = missing.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("exit status 127"), std::string::npos) << t.status().message();
}

TEST_F(OAuth2TokenTest, CommandOutputMustBeOneToken) {
  OAuth2Token two("", "echo one; echo two");
  Result<std::string> t = two.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("more than one access token"), std::string::npos);
  EXPECT_EQ(t.status().message().find("one\n"), std::string::npos);

  OAuth2Token huge("", "head -c 70000 /dev/zero | tr '\\0' a");
  t = huge.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("printed more than 64 KiB"), std::string::npos);
}

TEST_F(OAuth2TokenTest, CommandIsKilledAfterTheTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  OAuth2Token token("", "sleep 20; echo late", {}, 300);
  Result<std::string> t = token.token(false);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().kind(), ErrorKind::Timeout);
  EXPECT_NE(t.status().message().find("did not finish within"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// --- A whole migration -----------------------------------------------------------------------

class OAuth2EngineTest : public OAuth2TokenTest {
 protected:
  void SetUp() override {
    OAuth2TokenTest::SetUp();
    sink_ = std::make_unique<MemorySink>(dir_);
    options_.localUser = "alice";
    options_.source.host = "imap.gmail.com";
    options_.source.user = "alice@gmail.com";
    options_.source.tlsModeSet = true;
    options_.source.tlsMode = TlsMode::Imaps;
    options_.source.port = 993;
    source_.capabilities = "IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER SASL-IR NAMESPACE CONDSTORE LITERAL+";
    source_.add("INBOX", FakeSource::makeMessage("hello", "<1@x>"), {"\\Seen"});
    source_.add("INBOX", FakeSource::makeMessage("second", "<2@x>"));
  }

  MigrationReport run() {
    return runMigration(options_, *sink_, nullptr,
                        [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
                          connects_++;
                          return source_.connect();
                        });
  }

  // The report as the admin sees it: status, warnings, source line.
  static std::string everything(const MigrationReport& r) {
    std::string s = r.status.describe() + "\n" + r.source + "\n";
    for (const std::string& w : r.warnings) {
      s += w + "\n";
    }
    return s;
  }

  FakeSource source_;
  std::unique_ptr<MemorySink> sink_;
  MigrationOptions options_;
  int connects_ = 0;
};

TEST_F(OAuth2EngineTest, TokenCommandRunsAgainWhenTheServerRefusesTheToken) {
  source_.oauthToken = "tok-2";  // the first token printed ("tok-1") has expired
  options_.source.oauth2TokenCommand = countingCommand();
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(runs(), 2);
  EXPECT_EQ(source_.oauthAttempts.load(), 2);
  EXPECT_EQ(connects_, 2) << "the second login uses a new connection";
  EXPECT_EQ(everything(r).find("tok-"), std::string::npos) << everything(r);
}

TEST_F(OAuth2EngineTest, OauthBearerWithoutSaslIrAfterARefusal) {
  source_.capabilities = "IMAP4rev1 AUTH=PLAIN AUTH=OAUTHBEARER NAMESPACE";
  source_.oauthToken = "tok-2";
  options_.source.oauth2TokenCommand = countingCommand();
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(source_.oauthAttempts.load(), 2);
}

TEST_F(OAuth2EngineTest, ValidTokenLogsInOnce) {
  source_.oauthToken = kToken;
  options_.source.oauth2TokenFile = writeFile("token", std::string(kToken) + "\n");
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(source_.oauthAttempts.load(), 1);
  EXPECT_TRUE(r.warnings.empty()) << everything(r);
}

TEST_F(OAuth2EngineTest, RefusedTokenFromAFileIsAnAuthErrorWithoutTheToken) {
  source_.oauthToken = "the-valid-one";
  options_.source.oauth2TokenFile = writeFile("token", std::string(kToken) + "\n", 0644);
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Auth);
  EXPECT_EQ(r.status.message(),
            "OAuth2 login as 'alice@gmail.com' failed at imap.gmail.com:993: the server says status 401 "
            "(scope https://mail.google.com/)");
  EXPECT_NE(r.status.hint().find("write a new one into it"), std::string::npos) << r.status.hint();
  EXPECT_EQ(source_.oauthAttempts.load(), 1) << "the same token is not tried twice";
  EXPECT_EQ(r.copied, 0u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("is readable by group or others: chmod 600 it"), std::string::npos);
  EXPECT_EQ(everything(r).find(kToken), std::string::npos) << everything(r);
}

TEST_F(OAuth2EngineTest, FailingTokenCommandStopsBeforeLogin) {
  options_.source.oauth2TokenCommand = "echo 'token endpoint unreachable' >&2; exit 2";
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Config);
  EXPECT_NE(r.status.message().find("failed (exit status 2): token endpoint unreachable"), std::string::npos);
  EXPECT_EQ(source_.oauthAttempts.load(), 0);
}

TEST_F(OAuth2EngineTest, TokenSourceReplacesThePasswordRequirement) {
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Config);
  EXPECT_EQ(r.status.message(), "no source password for alice");
  EXPECT_NE(r.status.hint().find("--source-oauth2-token-command"), std::string::npos);

  options_.source.password = "secret";
  options_.source.oauth2TokenCommand = "echo tok";
  r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Config);
  EXPECT_EQ(r.status.message(), "both a source password and an OAuth2 token are set for alice");
  EXPECT_EQ(connects_, 0);
}

}  // namespace
}  // namespace migrate
