// Reading an old server's POP3 UIDLs and matching them to its IMAP INBOX (engine/pop3_uidls.h),
// with the fake IMAP source and a scripted POP3 side over the same messages.

#include "engine/pop3_uidls.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_imap_server.h"
#include "fakes/fake_pop3.h"
#include "fakes/fake_source.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;

class Pop3UidlsTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    for (int i = 1; i <= 4; i++) {
      source_.add("INBOX", FakeSource::makeMessage("m" + std::to_string(i), "<m" + std::to_string(i) + "@x>",
                                                   static_cast<size_t>(100 * i)));
    }
    for (const testing::FakeMessage& m : source_.folders["INBOX"].messages) {
      pop_.messages.push_back({"pop-" + std::to_string(m.uid), m.bytes});
    }
  }

  Result<Pop3Match> read() {
    conn_ = sourceConnection();
    EXPECT_TRUE(conn_->open().isOk());
    popServer_ = pop_.start();
    popSession_ = std::make_unique<pop3::Session>(popServer_->clientTransport(),
                                                  pop3::SessionOptions{"pop.old.example:110", 5000});
    EXPECT_TRUE(popSession_->readGreeting().isOk());
    return readPop3Uidls(conn_->session(), *popSession_);
  }

  testing::FakePop3 pop_;
  std::unique_ptr<SourceConnection> conn_;
  std::unique_ptr<testing::FakeImapServer> popServer_;
  std::unique_ptr<pop3::Session> popSession_;
};

TEST_F(Pop3UidlsTest, TheSameMessagesInTheSameOrderPairBySizeAlone) {
  Result<Pop3Match> m = read();
  ASSERT_TRUE(m.isOk()) << m.status().describe();
  ASSERT_EQ(m.value().byUid.size(), 4u);
  EXPECT_EQ(m.value().byUid.at(3).uidl, "pop-3");
  EXPECT_EQ(m.value().byUid.at(3).order, 3u);
  EXPECT_EQ(pop_.tops, 0) << "no header was needed";
}

TEST_F(Pop3UidlsTest, AnotherOrderAnAddedHeaderAndAVanishedMessageGoByHeader) {
  std::swap(pop_.messages[0], pop_.messages[2]);  // the POP3 side lists 3 first
  pop_.messages[1].bytes =
      "Status: RO\r\n" + pop_.messages[1].bytes;  // and marks message 2 as read in its header
  pop_.messages.push_back({"pop-gone", FakeSource::makeMessage("gone", "<gone@x>", 250)});
  Result<Pop3Match> m = read();
  ASSERT_TRUE(m.isOk()) << m.status().describe();
  const Pop3Match& r = m.value();
  ASSERT_EQ(r.byUid.size(), 4u);
  EXPECT_EQ(r.byUid.at(1).uidl, "pop-1");
  EXPECT_EQ(r.byUid.at(1).order, 3u);
  EXPECT_EQ(r.byUid.at(2).uidl, "pop-2");
  EXPECT_EQ(r.byUid.at(3).order, 1u);
  EXPECT_EQ(r.pop3Only, std::vector<std::string>{"pop-gone"});
  EXPECT_TRUE(r.imapOnly.empty());
  EXPECT_GT(pop_.tops, 0);
}

}  // namespace
}  // namespace migrate
