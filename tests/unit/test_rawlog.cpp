// The wire trace: files and modes, redaction of passwords and tokens (LOGIN, AUTHENTICATE with
// and without SASL-IR, OAuth2), and a migration run traced with COMPRESS=DEFLATE on.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "engine/migrator.h"
#include "fakes/fake_imap_server.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"
#include "imap/session.h"
#include "net/memory_transport.h"
#include "net/rawlog_transport.h"

namespace migrate {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class RawlogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-rawlog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  // Everything written into the trace directory, by suffix.
  std::string traces(const char* suffix) const {
    std::string all;
    std::string cmd = "ls '" + dir_ + "'";
    FILE* p = popen(cmd.c_str(), "r");
    char line[512];
    while (p != nullptr && std::fgets(line, sizeof(line), p) != nullptr) {
      std::string name(line);
      name.erase(name.find_last_not_of('\n') + 1);
      if (name.size() > std::strlen(suffix) &&
          name.compare(name.size() - std::strlen(suffix), std::strlen(suffix), suffix) == 0) {
        all += slurp(dir_ + "/" + name);
      }
    }
    if (p != nullptr) {
      pclose(p);
    }
    return all;
  }
  std::string dir_;
};

TEST_F(RawlogTest, RecordsBothDirectionsInPrivateFilesAndRedacts) {
  net::MemoryPipe pipe = net::makeMemoryPipe();
  net::MemoryTransport* server = pipe.server.get();
  auto r = net::RawlogTransport::create(std::move(pipe.client), dir_);
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  net::RawlogTransport& t = *r.value();
  ASSERT_TRUE(t.writeAll("A1 NOOP\r\n", 9).isOk());
  t.setRedact(true);
  ASSERT_TRUE(t.writeAll("hunter2\r\n", 9).isOk());
  t.setRedact(false);
  ASSERT_TRUE(server->writeAll("A1 OK done\r\n", 12).isOk());
  char buf[64];
  ASSERT_TRUE(t.readSome(buf, sizeof(buf)).isOk());
  char sbuf[64];
  Result<size_t> n = server->readSome(sbuf, sizeof(sbuf));
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(std::string(sbuf, n.value()), "A1 NOOP\r\nhunter2\r\n");  // the server gets it all

  EXPECT_EQ(slurp(t.outPath()), "A1 NOOP\r\n<redacted 9 bytes>\r\n");
  EXPECT_EQ(slurp(t.inPath()), "A1 OK done\r\n");
  struct stat st {};
  ASSERT_EQ(stat(t.outPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(t.inPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(t.outPath().substr(0, dir_.size() + 1), dir_ + "/");
  EXPECT_EQ(t.outPath().substr(t.outPath().size() - 4), ".out");
}

TEST_F(RawlogTest, MissingDirectoryIsAConfigErrorNamingIt) {
  net::MemoryPipe pipe = net::makeMemoryPipe();
  std::unique_ptr<net::Transport> inner = std::move(pipe.client);
  auto r = net::RawlogTransport::create(std::move(inner), dir_ + "/nope");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Config);
  EXPECT_NE(r.status().message().find(dir_ + "/nope"), std::string::npos);
  EXPECT_NE(inner, nullptr);  // left to the caller on failure
}

TEST_F(RawlogTest, LoginAndAuthenticateNeverReachTheTrace) {
  const std::string password = "S3cr3t-Pa55w0rd-xyzzy";
  const std::string password8bit = "S3cr3t-\xc3\xa4-xyzzy";  // forces a synchronizing literal
  const char* greetings[] = {
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n",  // AUTHENTICATE PLAIN <ir>
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n",          // AUTHENTICATE PLAIN, +, <ir>
      "* OK [CAPABILITY IMAP4rev1] hi\r\n",                     // LOGIN
  };
  for (const char* greeting : greetings) {
    for (const std::string& pw : {password, password8bit}) {
      bool saslResponseNext = false;  // the next line is the untagged SASL response
      testing::FakeImapServer server(greeting,
                                     [&saslResponseNext](const std::string& t, const std::string& c) {
                                       if (c == "AUTHENTICATE PLAIN") {
                                         saslResponseNext = true;
                                         return std::string("+ \r\n");
                                       }
                                       if (saslResponseNext) {
                                         saslResponseNext = false;
                                         return std::string("A1 OK [CAPABILITY IMAP4rev1] in\r\n");
                                       }
                                       return t + " OK [CAPABILITY IMAP4rev1] in\r\n";
                                     });
      imap::SessionOptions o;
      o.peerName = "imap.test:143";
      imap::Session sess(server.clientTransport(), o);
      ASSERT_TRUE(sess.startRawlog(dir_).isOk());
      ASSERT_TRUE(sess.readGreeting().isOk());
      Status st = sess.login("alice", pw, "");
      ASSERT_TRUE(st.isOk()) << greeting << st.describe();
      const std::string out = slurp(sess.rawlog()->outPath());
      EXPECT_EQ(out.find(pw), std::string::npos) << out;
      EXPECT_EQ(out.find(base64Encode(std::string("\0alice\0", 7) + pw)), std::string::npos) << out;
      EXPECT_NE(out.find("<redacted "), std::string::npos) << out;
      if (pw == password && std::string(greeting).find("AUTH=PLAIN") == std::string::npos) {
        // The command stays readable: "A1 LOGIN " then the redacted `"alice" "S3cr...y"\r\n`.
        EXPECT_EQ(out, "A1 LOGIN <redacted 33 bytes>\r\n");
      }
      EXPECT_TRUE(out.find("A1 LOGIN <redacted ") != std::string::npos ||
                  out.find("A1 AUTHENTICATE PLAIN") != std::string::npos)
          << out;
    }
  }
}

class RawlogMigrationTest : public RawlogTest {
 protected:
  void SetUp() override {
    RawlogTest::SetUp();
    char tmpl[] = "/tmp/migrate-rawlog-sink-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    sinkDir_ = tmpl;
    sink_ = std::make_unique<testing::MemorySink>(sinkDir_);
    options_.localUser = "alice";
    options_.source.host = "imap.old.example";
    options_.source.user = "alice@old.example";
    options_.source.tlsModeSet = true;
    options_.source.tlsMode = TlsMode::None;
    options_.source.port = 143;
    options_.source.rawlogDir = dir_;
    options_.sleepFn = [](double) {};
    source_.capabilities += " COMPRESS=DEFLATE";
    source_.add("INBOX", testing::FakeSource::makeMessage("traced one", "<t1@x>", 5000));
    source_.add("INBOX", testing::FakeSource::makeMessage("traced two", "<t2@x>", 70000));
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + sinkDir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    RawlogTest::TearDown();
  }
  MigrationReport run() {
    return runMigration(options_, *sink_, nullptr,
                        [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
                          return source_.connect();
                        });
  }
  std::string sinkDir_;
  std::unique_ptr<testing::MemorySink> sink_;
  testing::FakeSource source_;
  MigrationOptions options_;
};

TEST_F(RawlogMigrationTest, TraceShowsPlainFetchTrafficUnderCompressionButNoPassword) {
  const std::string password = "Distinctive-Pa55word-4711";
  source_.password = password;
  options_.source.password = password;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(source_.compressions.load(), 1);
  const std::string out = traces(".out");
  const std::string in = traces(".in");
  EXPECT_NE(out.find("COMPRESS DEFLATE"), std::string::npos);
  EXPECT_NE(out.find("UID FETCH"), std::string::npos) << "the trace is of the plain protocol";
  EXPECT_NE(in.find("Subject: traced two"), std::string::npos);
  EXPECT_EQ(out.find(password), std::string::npos);
  EXPECT_EQ(out.find(base64Encode(std::string("\0alice@old.example\0", 19) + password)), std::string::npos);
  EXPECT_EQ(in.find(password), std::string::npos);
  EXPECT_NE(out.find("<redacted "), std::string::npos);
}

TEST_F(RawlogMigrationTest, NoCompressionWhenTurnedOff) {
  source_.password = "pw-1";
  options_.source.password = "pw-1";
  options_.source.compress = false;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(source_.compressions.load(), 0);
  EXPECT_EQ(traces(".out").find("COMPRESS"), std::string::npos);
}

TEST_F(RawlogMigrationTest, OAuthTokenNeverReachesTheTrace) {
  const std::string token = "ya29.Distinctive-Token-0815";
  source_.oauthToken = token;
  source_.capabilities += " AUTH=XOAUTH2";
  const std::string tokenFile = sinkDir_ + "/token";
  {
    std::ofstream f(tokenFile);
    f << token << "\n";
  }
  chmod(tokenFile.c_str(), 0600);
  options_.source.oauth2TokenFile = tokenFile;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  const std::string out = traces(".out");
  EXPECT_EQ(out.find(token), std::string::npos);
  EXPECT_EQ(out.find("auth=Bearer"), std::string::npos);
  EXPECT_NE(out.find("AUTHENTICATE XOAUTH2 <redacted "), std::string::npos) << out;
  EXPECT_NE(traces(".in").find("Subject: traced one"), std::string::npos);
}

TEST_F(RawlogMigrationTest, UnwritableTraceDirectoryFailsTheRunWithAConfigError) {
  options_.source.password = "secret";
  options_.source.rawlogDir = dir_ + "/missing";
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Config);
  EXPECT_NE(r.status.message().find(dir_ + "/missing"), std::string::npos);
}

}  // namespace
}  // namespace migrate
