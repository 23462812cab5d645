#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine/run_job.h"

namespace migrate {
namespace {

TEST(RunJob, RoundTripKeepsOptionsInOrderWithTabsAndNewlines) {
  RunJob job;
  job.created = 1796620757;
  job.trigger = "panel";
  job.paused = true;
  job.held = true;
  job.secret = true;
  job.notify = "owner@example.org";
  job.args = {"--source-host", "imap.old.example", "--include", "INBOX,Sent\tItems", "--exclude", "a\nb", ""};
  Result<RunJob> back = parseRunJob(serializeRunJob(job));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(back.value().created, job.created);
  EXPECT_EQ(back.value().trigger, "panel");
  EXPECT_TRUE(back.value().paused);
  EXPECT_TRUE(back.value().held);
  EXPECT_TRUE(back.value().secret);
  EXPECT_EQ(back.value().notify, job.notify);
  EXPECT_EQ(back.value().args, job.args);
}

TEST(RunJob, DamagedNewerOrUnknownContent) {
  EXPECT_FALSE(parseRunJob("").isOk());
  EXPECT_FALSE(parseRunJob("dovecot-migrate-status\t1\n").isOk());
  Result<RunJob> newer = parseRunJob("dovecot-migrate-job\t7\n");
  ASSERT_FALSE(newer.isOk());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);
  Result<RunJob> bad = parseRunJob("dovecot-migrate-job\t1\npaused\tyes\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  // A key of a later minor version is ignored.
  Result<RunJob> later = parseRunJob("dovecot-migrate-job\t1\nfuture\tx\narg\t-v\n");
  ASSERT_TRUE(later.isOk());
  EXPECT_EQ(later.value().args, std::vector<std::string>{"-v"});
}

TEST(RunJob, SecretIsPrivateAndRemovable) {
  char tmpl[] = "/tmp/run-job-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string password = "q\"uo'te\\back%s-\xc3\xa4";
  ASSERT_TRUE(writeRunSecret(dir, password).isOk());
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/" + kRunSecretFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<std::optional<std::string>> back = readRunSecret(dir);
  ASSERT_TRUE(back.isOk());
  ASSERT_TRUE(back.value().has_value());
  EXPECT_EQ(*back.value(), password);
  EXPECT_TRUE(removeRunSecret(dir).isOk());
  EXPECT_TRUE(removeRunSecret(dir).isOk());  // none left: not an error
  Result<std::optional<std::string>> gone = readRunSecret(dir);
  ASSERT_TRUE(gone.isOk());
  EXPECT_FALSE(gone.value().has_value());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace migrate
