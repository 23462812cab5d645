// The IMAP session against scripted servers: login variants, STARTTLS, throttling, odd replies.

#include <gtest/gtest.h>

#include <map>

#include "common/base64.h"
#include "fakes/fake_imap_server.h"
#include "imap/session.h"
#include "net/memory_transport.h"

namespace migrate::imap {
namespace {

using testing::FakeImapServer;

struct Script {
  std::map<std::string, std::string> replies;  // command prefix -> reply with "TAG" placeholder
  std::string reply(const std::string& tag, const std::string& cmd) const {
    for (const auto& [prefix, r] : replies) {
      if (cmd.rfind(prefix, 0) == 0) {
        std::string out = r;
        for (size_t p = out.find("TAG"); p != std::string::npos; p = out.find("TAG", p + tag.size())) {
          out.replace(p, 3, tag);
        }
        return out;
      }
    }
    return tag + " BAD unexpected\r\n";
  }
};

std::unique_ptr<Session> session(FakeImapServer& server) {
  SessionOptions o;
  o.peerName = "imap.test:143";
  return std::make_unique<Session>(server.clientTransport(), o);
}

TEST(Session, PlainLoginWithSaslIrAndCapabilitiesFromTheOk) {
  Script s;
  s.replies["AUTHENTICATE PLAIN "] = "TAG OK [CAPABILITY IMAP4rev1 CONDSTORE] Logged in\r\n";
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  ASSERT_TRUE(sess->login("alice", "pw\"x", "").isOk());
  EXPECT_TRUE(sess->hasCapability("condstore"));
  auto cmds = server.commands();
  ASSERT_EQ(cmds.size(), 1u);
  std::string decoded;
  ASSERT_TRUE(base64Decode(cmds[0].substr(std::string("AUTHENTICATE PLAIN ").size()), decoded));
  EXPECT_EQ(decoded, std::string("\0alice\0pw\"x", 11));
}

TEST(Session, MasterUserLoginPutsTheUserInTheAuthorizationIdentity) {
  Script s;
  s.replies["AUTHENTICATE PLAIN "] = "TAG OK [CAPABILITY IMAP4rev1] Logged in\r\n";
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  ASSERT_TRUE(sess->login("alice", "masterpw", "admin").isOk());
  std::string decoded;
  ASSERT_TRUE(base64Decode(server.commands()[0].substr(19), decoded));
  EXPECT_EQ(decoded, std::string("alice\0admin\0masterpw", 20));
}

TEST(Session, LoginFallbackQuotesAndUsesALiteralFor8BitPasswords) {
  Script s;
  s.replies["CAPABILITY"] = "* CAPABILITY IMAP4rev1\r\nTAG OK done\r\n";
  s.replies["LOGIN "] = "TAG OK Logged in\r\n";
  FakeImapServer server("* OK hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->login("alice", "p\xc3\xa4ss", "");
  ASSERT_TRUE(st.isOk()) << st.describe();
  bool sawLogin = false;
  for (const std::string& c : server.commands()) {
    if (c.rfind("LOGIN ", 0) == 0) {
      sawLogin = true;
      EXPECT_NE(c.find("p\xc3\xa4ss"), std::string::npos) << "the literal arrived whole";
    }
  }
  EXPECT_TRUE(sawLogin);
}

TEST(Session, LoginDisabledWithoutTlsIsRefusedBeforeSendingThePassword) {
  Script s;
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->login("alice", "pw", "");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Auth);
  EXPECT_NE(st.hint().find("starttls"), std::string::npos);
  EXPECT_TRUE(server.commands().empty());
}

TEST(Session, StartTlsUpgradesAndRefreshesCapabilities) {
  Script s;
  s.replies["STARTTLS"] = "TAG OK Begin TLS negotiation now\r\n";
  s.replies["CAPABILITY"] = "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nTAG OK done\r\n";
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  ASSERT_TRUE(sess->startTls(net::TlsOptions{}).isOk());
  EXPECT_TRUE(sess->hasCapability("AUTH=PLAIN"));
  EXPECT_FALSE(sess->hasCapability("LOGINDISABLED"));
}

TEST(Session, ThrottledGreetingAndAuthFailureAreClassified) {
  {
    FakeImapServer server("* BYE [UNAVAILABLE] Too many simultaneous connections\r\n",
                          [](const std::string&, const std::string&) { return std::string(); });
    auto sess = session(server);
    Status st = sess->readGreeting();
    ASSERT_FALSE(st.isOk());
    EXPECT_EQ(st.kind(), ErrorKind::Throttled) << st.describe();
  }
  {
    Script s;
    s.replies["AUTHENTICATE"] = "TAG NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n";
    FakeImapServer server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n",
                          [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
    auto sess = session(server);
    ASSERT_TRUE(sess->readGreeting().isOk());
    Status st = sess->login("alice", "pw", "");
    EXPECT_EQ(st.kind(), ErrorKind::Auth);
    EXPECT_NE(st.message().find("Invalid credentials"), std::string::npos);
    EXPECT_NE(st.hint().find("full e-mail address"), std::string::npos);
  }
}

TEST(Session, UnknownTagIsAProtocolError) {
  Script s;
  s.replies["CAPABILITY"] = "* CAPABILITY IMAP4rev1\r\nZ99 OK done\r\n";
  FakeImapServer server("* OK hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->capability();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Protocol);
  EXPECT_NE(st.message().find("unknown tag 'Z99'"), std::string::npos) << st.message();
}

TEST(Session, PipelinedStatusMatchesRepliesByOrderEvenWhenNamesDiffer) {
  Script s;
  s.replies["STATUS \"inbox\""] = "* STATUS INBOX (MESSAGES 3 UIDNEXT 10 UIDVALIDITY 7)\r\nTAG OK done\r\n";
  s.replies["STATUS \"Gone\""] = "TAG NO [NONEXISTENT] Mailbox doesn't exist\r\n";
  s.replies["STATUS \"Work\""] = "* STATUS \"Work\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 8)\r\nTAG OK done\r\n";
  FakeImapServer server("* OK hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  auto r = sess->statusMany({"inbox", "Gone", "Work"}, false);
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_EQ(r.value().statuses[0].uidNext, 10u);
  EXPECT_FALSE(r.value().errors[1].isOk());
  EXPECT_EQ(r.value().statuses[2].uidValidity, 8u);
}

TEST(Session, LargeBodiesAreSpooledAndArriveExact) {
  std::string big(6 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 997) {
    big[i] = static_cast<char>('a' + i % 26);
  }
  Script s;
  s.replies["UID FETCH"] =
      "* 1 FETCH (UID 5 FLAGS (\\Seen) INTERNALDATE \" 2-Mar-2024 23:59:59 +1345\" "
      "RFC822.SIZE " +
      std::to_string(big.size()) + " BODY[] {" + std::to_string(big.size()) + "}\r\n" + big +
      ")\r\n* 2 FETCH (UID 6 BODY[] {3}\r\nabc)\r\nTAG OK done\r\n";
  FakeImapServer server("* OK hi\r\n",
                        [&](const std::string& t, const std::string& c) { return s.reply(t, c); });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  std::vector<std::string> bodies;
  std::vector<bool> spooled;
  FetchedMessage first;
  Status st =
      sess->uidFetch(5, 0, "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]", [&](const FetchedMessage& m) {
        spooled.push_back(!m.body->inMemory());
        bodies.push_back(m.body->readAll().value());
        if (m.uid == 5) {
          first = m;
        }
        return Status::ok();
      });
  ASSERT_TRUE(st.isOk()) << st.describe();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_TRUE(bodies[0] == big);
  EXPECT_TRUE(spooled[0]) << "a 6 MiB body goes to a temp file, not memory";
  EXPECT_EQ(bodies[1], "abc");
  EXPECT_FALSE(spooled[1]);
  EXPECT_EQ(first.flags.system, kFlagSeen);
  EXPECT_EQ(first.tzOffsetMinutes, 13 * 60 + 45);
  EXPECT_EQ(first.internalDate, 1709423999 - (13 * 60 + 45) * 60);  // 2024-03-02 23:59:59 UTC minus the zone
}

TEST(Session, ByeMidCommandNamesTheServersWords) {
  Script s;
  s.replies["LIST"] = "* BYE Server shutting down for maintenance\r\n";
  FakeImapServer server("* OK hi\r\n", [&](const std::string& t, const std::string& c) {
    std::string r = s.reply(t, c);
    return r.rfind("* BYE", 0) == 0 ? r + "\x01DROP" : r;
  });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  auto r = sess->list();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Closed);
  EXPECT_NE(r.status().message().find("maintenance"), std::string::npos) << r.status().message();
}

TEST(InternalDate, ParsesZonesAndRejectsGarbage) {
  int64_t t = 0;
  int tz = 0;
  ASSERT_TRUE(parseInternalDate("17-Jul-1996 02:44:25 -0700", t, tz));
  EXPECT_EQ(t, 837596665);
  EXPECT_EQ(tz, -420);
  ASSERT_TRUE(parseInternalDate(" 1-Jan-1990 00:00:00 -0930", t, tz));
  EXPECT_EQ(tz, -570);
  EXPECT_FALSE(parseInternalDate("32-Foo-2020 00:00:00 +0000", t, tz));
  EXPECT_FALSE(parseInternalDate("", t, tz));
  EXPECT_FALSE(parseInternalDate("17-Jul-1996 02:44:25", t, tz));
}

}  // namespace
}  // namespace migrate::imap
