// The POP3 client (core/pop3/session.h) against a scripted server: capabilities, the two login
// methods, UIDL and LIST together, TOP headers with dot-stuffing, pipelining and refusals.

#include "pop3/session.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base64.h"
#include "fakes/fake_imap_server.h"

namespace migrate::pop3 {
namespace {

// A maildrop of three messages; the scripted server gets each command line as (verb, arguments).
class Pop3SessionTest : public ::testing::Test {
 protected:
  std::string capa = "+OK\r\nUIDL\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\nPIPELINING\r\nSTLS\r\n.\r\n";
  std::string password = "s3cret";
  std::map<int, std::string> headers = {{1, "Subject: one\r\n\r\n"},
                                        {2, "Subject: two\r\n.hidden: dot\r\n\r\n"},
                                        {3, "Subject: three\r\n\r\n"}};
  std::string uidlReply = "+OK\r\n1 000000a1\r\n2 UID2-old\r\n3 000000c3\r\n.\r\n";
  std::vector<std::string> plainLogins;

  std::unique_ptr<Session> connect() {
    server_ = std::make_unique<testing::FakeImapServer>(
        "+OK POP3 ready\r\n",
        [this](const std::string& verb, const std::string& args) { return answer(verb, args); });
    auto s =
        std::make_unique<Session>(server_->clientTransport(), SessionOptions{"pop.old.example:110", 5000});
    Status st = s->readGreeting();
    EXPECT_TRUE(st.isOk()) << st.describe();
    return s;
  }

  std::string answer(const std::string& verb, const std::string& args) {
    if (verb == "CAPA") {
      return capa;
    }
    if (verb == "USER") {
      return "+OK\r\n";
    }
    if (verb == "PASS") {
      return args == password ? "+OK logged in\r\n" : "-ERR [AUTH] Authentication failed.\r\n";
    }
    if (verb == "AUTH") {
      plainLogins.push_back(args);
      std::string decoded;
      base64Decode(args.substr(args.find(' ') + 1), decoded);
      return decoded.substr(decoded.rfind('\0') + 1) == password ? "+OK\r\n"
                                                                 : "-ERR [AUTH] Authentication failed.\r\n";
    }
    if (verb == "UIDL") {
      return uidlReply;
    }
    if (verb == "LIST") {
      return "+OK 3 messages\r\n1 120\r\n2 2400\r\n3 35\r\n.\r\n";
    }
    if (verb == "TOP") {
      const int n = std::atoi(args.c_str());
      std::string h = headers[n];
      std::string stuffed;
      for (size_t p = 0; p < h.size();) {
        size_t e = h.find("\r\n", p);
        std::string line = h.substr(p, e - p);
        stuffed += (line.rfind('.', 0) == 0 ? "." : "") + line + "\r\n";
        p = e + 2;
      }
      return "+OK\r\n" + stuffed + ".\r\n";
    }
    if (verb == "QUIT") {
      return "+OK bye\r\n";
    }
    return "-ERR unknown command\r\n";
  }

  std::unique_ptr<testing::FakeImapServer> server_;
};

TEST_F(Pop3SessionTest, ReadsCapabilities) {
  auto s = connect();
  EXPECT_TRUE(s->hasCapability("UIDL"));
  EXPECT_TRUE(s->hasCapability("SASL PLAIN"));
  EXPECT_TRUE(s->hasCapability("PIPELINING"));
  EXPECT_FALSE(s->hasCapability("SASL XOAUTH2"));
}

TEST_F(Pop3SessionTest, LogsInWithAuthPlainWhenOfferedAndAsMasterUser) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  ASSERT_EQ(plainLogins.size(), 1u);
  std::string decoded;
  ASSERT_TRUE(base64Decode(plainLogins[0].substr(6), decoded));
  EXPECT_EQ(decoded, std::string("\0bob\0s3cret", 11));

  auto m = connect();
  ASSERT_TRUE(m->login("bob", password, "admin").isOk());
  ASSERT_TRUE(base64Decode(plainLogins[1].substr(6), decoded));
  EXPECT_EQ(decoded, std::string("bob\0admin\0s3cret", 16)) << "authzid is the user, authcid the master";
}

TEST_F(Pop3SessionTest, FallsBackToUserPassAndARefusalIsAnAuthError) {
  capa = "+OK\r\nUIDL\r\nUSER\r\n.\r\n";
  auto s = connect();
  password = "other";
  Status st = s->login("bob", "s3cret");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_EQ(st.message(),
            "the POP3 server pop.old.example:110 refused the login as 'bob': [AUTH] Authentication failed.");
  EXPECT_EQ(st.describe().find("s3cret"), std::string::npos);
  EXPECT_TRUE(plainLogins.empty());
}

TEST_F(Pop3SessionTest, ListJoinsUidlsAndSizes) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  Result<std::vector<Listed>> l = s->list();
  ASSERT_TRUE(l.isOk()) << l.status().describe();
  ASSERT_EQ(l.value().size(), 3u);
  EXPECT_EQ(l.value()[1].number, 2u);
  EXPECT_EQ(l.value()[1].size, 2400u);
  EXPECT_EQ(l.value()[1].uidl, "UID2-old");
  EXPECT_EQ(l.value()[2].uidl, "000000c3");
}

TEST_F(Pop3SessionTest, HeadersArePipelinedAndUnstuffed) {
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  std::map<uint32_t, std::string> got;
  Status st = s->headers({1, 2, 3}, [&](uint32_t n, const std::string& h) {
    got[n] = h;
    return Status::ok();
  });
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_EQ(got[2], headers[2]) << "a leading dot is unstuffed";
  EXPECT_EQ(got[3], headers[3]);
  ASSERT_TRUE(s->quit().isOk());
}

TEST_F(Pop3SessionTest, NoUidlSupportSaysWhatToDo) {
  uidlReply = "-ERR unknown command\r\n";
  auto s = connect();
  ASSERT_TRUE(s->login("bob", password).isOk());
  Result<std::vector<Listed>> l = s->list();
  ASSERT_FALSE(l.isOk());
  EXPECT_EQ(l.status().kind(), ErrorKind::Protocol);
  EXPECT_EQ(l.status().message(), "the POP3 server pop.old.example:110 does not support UIDL");
  EXPECT_NE(l.status().hint().find("--source-pop3 no"), std::string::npos);
}

TEST_F(Pop3SessionTest, StlsNeedsTheCapability) {
  capa = "+OK\r\nUIDL\r\n.\r\n";
  auto s = connect();
  Status st = s->startTls(net::TlsOptions());
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Tls);
  EXPECT_EQ(st.message(), "the POP3 server pop.old.example:110 does not offer STLS");
}

}  // namespace
}  // namespace migrate::pop3
