// The source connection on its own (engine/source_connection.h): what login data it refuses,
// how it logs in and what it warns about, the host's connection slots, and the reconnect delays.

#include <gtest/gtest.h>

#include <string>

#include "engine/source_connection.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

class SourceConnectionTest : public EngineFixture {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(SourceConnectionTest, IncompleteOrContradictoryLoginDataNamesWhatToFix) {
  struct Case {
    void (*change)(SourceOptions&);
    const char* message;
    const char* hint;
  };
  const Case cases[] = {
      {[](SourceOptions& s) { s.host.clear(); }, "no source host for alice", "--source-host"},
      {[](SourceOptions& s) { s.user.clear(); }, "no source login name for alice", "--source-user"},
      {[](SourceOptions& s) { s.password.clear(); }, "no source password for alice",
       "--source-password-file"},
      {[](SourceOptions& s) { s.oauth2TokenFile = "/t"; }, "both a source password and an OAuth2 token",
       "set only one"},
      {[](SourceOptions& s) {
         s.password.clear();
         s.oauth2TokenFile = "/t";
         s.oauth2TokenCommand = "echo t";
       },
       "both an OAuth2 token file and a token command", "set only one"},
      {[](SourceOptions& s) {
         s.password.clear();
         s.oauth2TokenFile = "/t";
         s.masterUser = "admin";
       },
       "a master-user login needs a password", "drop the master user"},
  };
  for (const Case& c : cases) {
    SourceOptions src = options_.source;
    c.change(src);
    Status st = checkLoginData(src, "alice");
    ASSERT_FALSE(st.isOk()) << c.message;
    EXPECT_EQ(st.kind(), ErrorKind::Config);
    EXPECT_TRUE(contains(st.message(), c.message)) << st.describe();
    EXPECT_TRUE(contains(st.hint(), c.hint)) << st.describe();
  }
  EXPECT_TRUE(checkLoginData(options_.source, "alice").isOk());
}

TEST_F(SourceConnectionTest, OpenLogsInAndWarnsAboutThePlainTextPassword) {
  std::unique_ptr<SourceConnection> conn = sourceConnection();
  ASSERT_TRUE(conn->open().isOk());
  ASSERT_TRUE(conn->isOpen());
  EXPECT_TRUE(conn->session().examine("INBOX").isOk()) << "logged in";
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_EQ(warnings_[0], "the password is sent without encryption (--source-tls none)");
  conn->close(true);
  EXPECT_FALSE(conn->isOpen());
}

TEST_F(SourceConnectionTest, RefusedLoginIsAnAuthErrorWithoutThePassword) {
  options_.source.password = "wrong-pw";
  std::unique_ptr<SourceConnection> conn = sourceConnection();
  Status st = conn->open();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_FALSE(contains(st.describe(), "wrong-pw")) << st.describe();
}

TEST_F(SourceConnectionTest, CompressesWhenTheServerOffersIt) {
  source_.capabilities += " COMPRESS=DEFLATE";
  std::unique_ptr<SourceConnection> conn = sourceConnection();
  ASSERT_TRUE(conn->open().isOk());
  EXPECT_EQ(source_.compressions.load(), 1);
  EXPECT_EQ(notes_, std::vector<std::string>{"COMPRESS=DEFLATE active"});
  EXPECT_TRUE(conn->session().examine("INBOX").isOk()) << "the compressed stream works";
}

TEST_F(SourceConnectionTest, AFullHostMakesTheNextConnectionWaitUntilASlotIsFree) {
  options_.source.host = "slots.source-connection.test";  // limits are per host, process-wide
  options_.maxConnectionsPerHost = 1;
  int polls = 0;
  options_.cancelled = [&polls]() { return ++polls > 2; };
  std::unique_ptr<SourceConnection> first = sourceConnection();
  ASSERT_TRUE(first->open().isOk());
  std::unique_ptr<SourceConnection> second = sourceConnection();
  Status st = second->open();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Cancelled);
  EXPECT_TRUE(contains(st.message(), "waiting for a free connection to slots.source-connection.test"));
  ASSERT_FALSE(notes_.empty());
  EXPECT_EQ(notes_.back(), "waiting for a free connection to slots.source-connection.test (1 in use)");

  // A reconnect of the first keeps its slot; giving it back lets the second in.
  first->close(false);
  ASSERT_TRUE(first->open().isOk());
  first->close(true);
  first->releaseSlot();
  EXPECT_TRUE(second->open().isOk());
}

TEST_F(SourceConnectionTest, AnExpiredTokenFromAFileSaysToWriteANewOne) {
  source_.capabilities = "IMAP4rev1 AUTH=XOAUTH2 SASL-IR NAMESPACE";
  source_.oauthToken = "fresh";
  std::string file = dir_ + "/token";
  ASSERT_EQ(std::system(("printf stale > '" + file + "' && chmod 600 '" + file + "'").c_str()), 0);
  options_.source.password.clear();
  options_.source.oauth2TokenFile = file;
  std::unique_ptr<SourceConnection> conn = sourceConnection();
  Status st = conn->open();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_TRUE(contains(st.hint(), "is expired or lacks the IMAP scope: write a new one into it"))
      << st.describe();
  EXPECT_FALSE(contains(st.describe(), "stale"));
}

TEST(ReconnectDelay, BacksOffExponentiallyAndFollowsTheServersSuggestion) {
  Status dropped(ErrorKind::Closed, "connection closed");
  EXPECT_EQ(reconnectDelay(dropped, 0), 1.0) << "after progress: at once, nearly";
  EXPECT_EQ(reconnectDelay(dropped, 1), 4.0);
  EXPECT_EQ(reconnectDelay(dropped, 2), 8.0);
  EXPECT_EQ(reconnectDelay(dropped, 5), 60.0);
  EXPECT_EQ(reconnectDelay(dropped, 9), 60.0);
  Status throttled(ErrorKind::Throttled, "Request is throttled. Suggested Backoff Time: 45000 milliseconds");
  EXPECT_EQ(suggestedBackoff(throttled.message()), 45.0);
  EXPECT_EQ(reconnectDelay(throttled, 0), 45.0);
  EXPECT_EQ(reconnectDelay(throttled, 6), 70.0) << "10 s per idle attempt when that is longer";
  EXPECT_EQ(reconnectDelay(Status(ErrorKind::Throttled, "Backoff Time: 900000 milliseconds"), 0), 300.0);
  EXPECT_EQ(suggestedBackoff("NO try later"), 0.0);
}

}  // namespace
}  // namespace migrate
