// The "insufficient space" messages (engine/quota_notice.h): the numbers an admin acts on.

#include <gtest/gtest.h>

#include <string>

#include "engine/quota_notice.h"

namespace migrate {
namespace {

QuotaInfo quota(uint64_t used, uint64_t limit) {
  QuotaInfo q;
  q.limited = true;
  q.usedBytes = used;
  q.limitBytes = limit;
  return q;
}

TEST(QuotaShortfall, NewMailThatFitsIsFine) {
  EXPECT_TRUE(quotaShortfall(quota(100, 1000), 900, 5, "alice", false).isOk());
  EXPECT_TRUE(quotaShortfall(QuotaInfo(), 1ull << 40, 5, "alice", false).isOk()) << "no quota";
}

TEST(QuotaShortfall, TooMuchMailGivesTheNumbersAndTheFix) {
  Status st = quotaShortfall(quota(600ull << 20, 1ull << 30), 500ull << 20, 10, "alice", false);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Quota);
  EXPECT_EQ(st.message(), "insufficient space for alice: needs 500.0 MiB, 424.0 MiB free of 1.0 GiB quota");
  EXPECT_EQ(st.hint().rfind("nothing was copied; raise alice's quota (e.g. ", 0), 0u) << st.hint();
  EXPECT_NE(st.hint().find(") and run the same command again"), std::string::npos);
  Status dry = quotaShortfall(quota(600ull << 20, 1ull << 30), 500ull << 20, 10, "alice", true);
  EXPECT_EQ(dry.hint().rfind("a run would copy nothing; ", 0), 0u) << dry.hint();
}

TEST(QuotaShortfall, TooManyMessages) {
  QuotaInfo q;
  q.messagesLimited = true;
  q.usedMessages = 90;
  q.limitMessages = 100;
  Status st = quotaShortfall(q, 1000, 11, "bob", false);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.message(), "insufficient space for bob: needs 11 messages, 10 free of a 100-message quota");
  EXPECT_NE(st.hint().find("raise bob's message limit ("), std::string::npos);
}

TEST(QuotaStopped, SaysWhereItStoppedAndWhatIsMissing) {
  QuotaStop stop;
  stop.localUser = "alice";
  stop.folder = "Archive/2019";
  stop.copied = 1234;
  stop.refusedSize = 2048;
  stop.refusal = "Quota exceeded";
  stop.exact = true;
  stop.neededBytes = 3ull << 20;
  stop.neededMessages = 40;
  Status st = quotaStopped(stop, Result<QuotaInfo>(quota(1000ull << 20, 1000ull << 20)));
  EXPECT_EQ(st.kind(), ErrorKind::Quota);
  EXPECT_EQ(
      st.message(),
      "insufficient space for alice: needs 3.0 MiB more, 0 bytes free of 1000.0 MiB quota; stopped in folder "
      "'Archive/2019' after copying 1234 messages");
  EXPECT_NE(st.hint().find("what was copied stays; raise alice's quota"), std::string::npos);

  stop.exact = false;
  st = quotaStopped(stop, Result<QuotaInfo>(Status(ErrorKind::LocalStorage, "no quota root")));
  EXPECT_EQ(st.message(),
            "insufficient space for alice: the destination refused a message of 2.0 KiB (Quota exceeded); "
            "stopped in folder 'Archive/2019' after copying 1234 messages");

  QuotaInfo full;
  full.messagesLimited = true;
  full.usedMessages = full.limitMessages = 500;
  st = quotaStopped(stop, Result<QuotaInfo>(full));
  EXPECT_NE(st.message().find("the message quota is full (500 of 500 messages) and 40 or more messages"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.hint().find("raise alice's message limit ("), std::string::npos);

  st = quotaStopped(stop, Result<QuotaInfo>(quota(1000ull << 20, 1000ull << 20)));
  EXPECT_NE(st.message().find("needs at least 3.0 MiB more, 0 bytes free"), std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace migrate
