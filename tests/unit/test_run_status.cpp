#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "engine/run_status.h"

namespace migrate {
namespace {

TEST(RunStatus, RoundTripKeepsEveryFieldIncludingTabsAndNewlines) {
  RunStatus s = beginRunStatus(std::nullopt, "login", "alice at imap.old.example:993 (imaps)");
  s.folder = "Sent\tItems\nx";
  s.foldersDone = 3;
  s.foldersTotal = 9;
  s.copied = 123456789012ull;
  s.error = "login failed: [AUTHENTICATIONFAILED] bad (check the password)";
  s.errorKind = "auth";
  Result<RunStatus> back = parseRunStatus(serializeRunStatus(s));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(back.value().state, "running");
  EXPECT_EQ(back.value().trigger, "login");
  EXPECT_EQ(back.value().pid, static_cast<int64_t>(getpid()));
  EXPECT_EQ(back.value().folder, s.folder);
  EXPECT_EQ(back.value().copied, s.copied);
  EXPECT_EQ(back.value().error, s.error);
  EXPECT_EQ(serializeRunStatus(back.value()), serializeRunStatus(s));
}

TEST(RunStatus, DamagedOrNewerFilesAreConfigErrorsNamingTheLine) {
  EXPECT_FALSE(parseRunStatus("").isOk());
  EXPECT_FALSE(parseRunStatus("something else\t1\n").isOk());
  Result<RunStatus> newer = parseRunStatus("dovecot-migrate-status\t9\n");
  ASSERT_FALSE(newer.isOk());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);
  Result<RunStatus> bad = parseRunStatus("dovecot-migrate-status\t1\ncopied\tmany\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  // Unknown keys from a newer minor version are ignored.
  EXPECT_TRUE(parseRunStatus("dovecot-migrate-status\t1\nfuture_key\tx\nstate\tok\n").isOk());
}

TEST(RunStatus, FailuresCountUpUntilAnOkRunAndAStopDoesNotCount) {
  MigrationReport failed;
  failed.status = Status(ErrorKind::Auth, "login failed");
  RunStatus s = beginRunStatus(std::nullopt, "login", "src");
  finishRunStatus(s, failed);
  EXPECT_EQ(s.state, "failed");
  EXPECT_EQ(s.errorKind, "auth");
  EXPECT_EQ(s.consecutiveFailures, 1u);
  RunStatus second = beginRunStatus(s, "login", "src");
  EXPECT_EQ(second.consecutiveFailures, 1u);
  finishRunStatus(second, failed);
  EXPECT_EQ(second.consecutiveFailures, 2u);

  MigrationReport stopped;
  stopped.status = Status(ErrorKind::Cancelled, "stopped");
  RunStatus third = beginRunStatus(second, "doveadm", "src");
  finishRunStatus(third, stopped);
  EXPECT_EQ(third.state, "stopped");
  EXPECT_EQ(third.consecutiveFailures, 2u);

  MigrationReport ok;
  ok.copied = 5;
  RunStatus fourth = beginRunStatus(third, "doveadm", "src");
  finishRunStatus(fourth, ok);
  EXPECT_EQ(fourth.state, "ok");
  EXPECT_EQ(fourth.copied, 5u);
  EXPECT_EQ(fourth.consecutiveFailures, 0u);
  EXPECT_TRUE(fourth.error.empty());
}

TEST(RunStatus, FileRoundTripAndLiveness) {
  char tmpl[] = "/tmp/run-status-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Result<std::optional<RunStatus>> none = readRunStatus(dir);
  ASSERT_TRUE(none.isOk());
  EXPECT_FALSE(none.value().has_value());

  RunStatus s = beginRunStatus(std::nullopt, "doveadm", "src");
  ASSERT_TRUE(writeRunStatus(dir, s).isOk());
  Result<std::optional<RunStatus>> back = readRunStatus(dir);
  ASSERT_TRUE(back.isOk());
  ASSERT_TRUE(back.value().has_value());
  EXPECT_TRUE(runStatusAlive(*back.value()));  // this process

  pid_t child = fork();
  if (child == 0) {
    _exit(0);
  }
  s.pid = child;
  // Exited but not reaped yet: a zombie (what a run killed with -9 is for a moment) is not alive.
  for (int i = 0; i < 200 && runStatusAlive(s); i++) {
    usleep(10000);
  }
  EXPECT_FALSE(runStatusAlive(s));
  int ignored = 0;
  waitpid(child, &ignored, 0);
  EXPECT_FALSE(runStatusAlive(s));  // reaped: gone
  // A live process that started long after the run did got the pid by reuse: not the run.
  s.pid = getpid();
  s.started = 1000;
  EXPECT_FALSE(runStatusAlive(s));
  s.started = static_cast<int64_t>(time(nullptr));
  s.pid = getpid();
  s.state = "ok";
  EXPECT_FALSE(runStatusAlive(s));
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace migrate
