#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "batch/batch_values.h"
#include "batch/child_run.h"
#include "batch/scheduler.h"
#include "common/json.h"

namespace migrate::batch {
namespace {

std::vector<size_t> startAll(Scheduler& s) {
  std::vector<size_t> out;
  while (std::optional<size_t> j = s.next()) {
    out.push_back(*j);
  }
  return out;
}

TEST(BatchScheduler, RunsAtMostJobsAtOnceInOrder) {
  Scheduler s({{"a", "u1"}, {"b", "u2"}, {"c", "u3"}, {"d", "u4"}, {"e", "u5"}}, 2, 0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(s.running(), 2u);
  s.finished(1);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{2}));
  s.finished(0);
  s.finished(2);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{3, 4}));
  EXPECT_FALSE(s.done());
  s.finished(3);
  s.finished(4);
  EXPECT_TRUE(s.done());
}

TEST(BatchScheduler, PerHostCapLetsOtherHostsOvertake) {
  // --jobs 4 --max-connections 1: the second mailbox on imap.a waits, mailboxes on other hosts
  // (host names compared case-insensitively) start meanwhile.
  Scheduler s({{"imap.a", "u1"}, {"IMAP.A", "u2"}, {"imap.b", "u3"}, {"[::1]", "u4"}, {"::1", "u5"}}, 4, 1);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{0, 2, 3}));
  s.finished(0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{1}));
  s.finished(3);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{4}));
}

TEST(BatchConnectionKeys, HostsSharingAnAddressCountAsOneServer) {
  // A fake DNS: a round-robin name, its second address, an alias of the first, a host of its
  // own, and a name that does not resolve.
  std::map<std::string, std::vector<std::string>> dns = {
      {"imap.old.cz", {"192.0.2.10", "192.0.2.11"}},
      {"192.0.2.11", {"192.0.2.11"}},
      {"mail.old.cz", {"192.0.2.10"}},
      {"imap.other.net", {"198.51.100.7"}},
      {"2001:db8::1", {"2001:db8::1"}},
  };
  std::vector<std::string> asked;
  const Resolver resolve = [&](const std::string& host) {
    asked.push_back(host);
    auto it = dns.find(host);
    return it == dns.end() ? std::vector<std::string>{} : it->second;
  };
  const std::vector<std::string> keys =
      connectionKeys({"192.0.2.11", "IMAP.old.cz", "imap.other.net", "mail.old.cz", "typo.old.cz", "",
                      "imap.old.cz", "[2001:db8::1]", "2001:DB8::1"},
                     resolve);
  EXPECT_EQ(keys, (std::vector<std::string>{"192.0.2.11", "192.0.2.11", "imap.other.net", "192.0.2.11",
                                            "typo.old.cz", "", "192.0.2.11", "2001:db8::1", "2001:db8::1"}));
  // Each distinct host once; "" (from the settings) is not looked up.
  EXPECT_EQ(asked, (std::vector<std::string>{"192.0.2.11", "imap.old.cz", "imap.other.net", "mail.old.cz",
                                             "typo.old.cz", "2001:db8::1"}));

  // With --max-connections 1, the three spellings of the old server run one after the other.
  Scheduler s({{keys[0], "u1"}, {keys[1], "u2"}, {keys[2], "u3"}, {keys[3], "u4"}}, 4, 1);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{0, 2}));
  s.finished(0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{1}));
}

TEST(BatchConnectionKeys, TwoGroupsJoinedByALaterHost) {
  // a and b share nothing, c has an address of each: all three are one server, keyed by a.
  std::map<std::string, std::vector<std::string>> dns = {
      {"a", {"10.0.0.1"}}, {"b", {"10.0.0.2"}}, {"c", {"10.0.0.2", "10.0.0.1"}}, {"d", {"10.0.0.3"}}};
  const Resolver resolve = [&](const std::string& host) { return dns[host]; };
  EXPECT_EQ(connectionKeys({"b", "a", "d", "c"}, resolve), (std::vector<std::string>{"b", "b", "d", "b"}));
}

TEST(BatchConnectionKeys, RealResolverKnowsAddressLiterals) {
  EXPECT_EQ(resolveAddresses("127.0.0.1"), (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(resolveAddresses("::1"), (std::vector<std::string>{"::1"}));
  EXPECT_TRUE(resolveAddresses("").empty());
}

TEST(BatchScheduler, SameLocalUserNeverRunsTwiceAtOnce) {
  Scheduler s({{"imap.a", "bob"}, {"imap.b", "bob"}, {"imap.c", "carol"}}, 4, 0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{0, 2}));
  s.finished(0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{1}));
}

TEST(BatchScheduler, StopStartsNothingMoreAndIsDoneWhenRunningOnesEnd) {
  Scheduler s({{"", "a"}, {"", "b"}, {"", "c"}}, 1, 0);
  EXPECT_EQ(startAll(s), (std::vector<size_t>{0}));
  s.stop();
  EXPECT_FALSE(s.next());
  EXPECT_FALSE(s.done());
  s.finished(0);
  EXPECT_TRUE(s.done());
  EXPECT_TRUE(s.started(0));
  EXPECT_FALSE(s.started(1));
}

TEST(BatchChildArgv, LineValuesReplacePassedThroughOnesAndSecretsStayOut) {
  ChildTarget t;
  t.user = "bob@example.org";
  t.host = "imap.old.example";
  t.port = 993;
  t.tlsMode = TlsMode::Imaps;
  t.remoteUser = "bob";
  t.passwordStdin = true;
  const std::vector<PassThrough> pass = {
      {"source-host", "other.example", false},
      {"max-rate", "1M", false},
      {"verbose", "", true},
      {"user", "evil", false},
      {"source-password-file", "/root/pw", false},
      {"preset", "gmail", false},
  };
  EXPECT_EQ(childArgv("/etc/dovecot/dovecot.conf", t, pass, false),
            (std::vector<std::string>{"doveadm",
                                      "-c",
                                      "/etc/dovecot/dovecot.conf",
                                      "-f",
                                      "json",
                                      "migrate",
                                      "-u",
                                      "bob@example.org",
                                      "--source-host",
                                      "imap.old.example",
                                      "--source-port",
                                      "993",
                                      "--source-tls",
                                      "imaps",
                                      "--source-user",
                                      "bob",
                                      "--source-password-stdin",
                                      "--max-rate",
                                      "1M",
                                      "--verbose",
                                      "--preset",
                                      "gmail"}));
}

TEST(BatchChildArgv, CheckWithSettingsFromTheUserdb) {
  ChildTarget t;
  t.user = "carol";
  const std::vector<PassThrough> pass = {{"source-password-file", "/root/pw", false}, {"dry-run", "", true}};
  EXPECT_EQ(childArgv("", t, pass, true),
            (std::vector<std::string>{"doveadm", "-f", "json", "migrate", "-u", "carol", "--dry-run",
                                      "--source-password-file", "/root/pw"}));
}

TEST(BatchChildArgv, DoveadmOverridesComeBeforeTheCommand) {
  ChildTarget t;
  t.user = "dan";
  EXPECT_EQ(childArgv("/x.conf", t, {}, false, {"mail_fsync=never", "mail_debug=yes"}),
            (std::vector<std::string>{"doveadm", "-c", "/x.conf", "-o", "mail_fsync=never", "-o",
                                      "mail_debug=yes", "-f", "json", "migrate", "-u", "dan"}));
}

TEST(BatchChildOutput, ReadsTheRow) {
  JobResult r;
  readChildOutput(
      "[{\"username\":\"bob\",\"result\":\"partial\",\"folders\":4,\"copied\":10,\"skipped\":2,\"failed\":1,"
      "\"flags_updated\":3,\"bytes\":12345,\"seconds\":\"1.0\",\"reconnects\":2,\"waited\":\"3.5\","
      "\"skip_reasons\":\"too_large=3 date=2\",\"excluded_folders\":1,\"sieve\":\"2 stored, 1 stored "
      "inactive\","
      "\"error\":\"insufficient space for bob (raise the quota)\"}]\n",
      73, "", r);
  EXPECT_TRUE(r.haveRow);
  EXPECT_EQ(r.result, "partial");
  EXPECT_EQ(r.reason, "insufficient space for bob (raise the quota)");
  EXPECT_EQ(r.exitCode, 73);
  EXPECT_EQ(r.folders, 4u);
  EXPECT_EQ(r.copied, 10u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.flagsUpdated, 3u);
  EXPECT_EQ(r.bytes, 12345u);
  EXPECT_EQ(r.reconnects, 2u);
  EXPECT_DOUBLE_EQ(r.waited, 3.5);
  EXPECT_EQ(r.skipReasons, (std::map<std::string, uint64_t>{{"date", 2}, {"too_large", 3}}));
  EXPECT_EQ(r.excludedFolders, 1u);
  EXPECT_EQ(r.sieve, "2 stored, 1 stored inactive");
}

TEST(BatchChildOutput, NoRowTakesTheLastErrorOrTheExitCode) {
  JobResult r;
  readChildOutput("", 67, errorFromStderrLine("doveadm(zed): Error: User doesn't exist"), r);
  EXPECT_FALSE(r.haveRow);
  EXPECT_EQ(r.result, "failed");
  EXPECT_EQ(r.reason, "User doesn't exist");

  JobResult killed;
  readChildOutput("[{\"user", 137, "", killed);
  EXPECT_EQ(killed.result, "failed");
  EXPECT_EQ(killed.reason, "doveadm was killed by signal 9");

  JobResult quiet;
  readChildOutput("", 70, "", quiet);
  EXPECT_EQ(quiet.reason, "doveadm migrate exited with code 70 without a report (see the log)");
}

TEST(BatchChildOutput, ErrorLinesLoseDoveadmsPrefixes) {
  EXPECT_EQ(errorFromStderrLine("doveadm(bob): Error: migrate(bob): login failed (check it)"),
            "login failed (check it)");
  EXPECT_EQ(errorFromStderrLine("doveadm: Error: migrate: --source-port: bad"), "--source-port: bad");
  EXPECT_EQ(errorFromStderrLine("doveadm(bob): Fatal: out of memory"), "out of memory");
  EXPECT_EQ(errorFromStderrLine("doveadm(bob): Warning: migrate(bob): plain text"), "");
}

JobResult dryRun(uint64_t bytes, const std::string& quotaFree) {
  JobResult r;
  r.line = 3;
  r.user = "alice@example.org";
  r.started = true;
  r.result = "ok";
  r.sourceMessages = 1234;
  r.folders = 12;
  r.pending = 1200;
  r.sourceBytes = bytes;
  r.quotaFree = quotaFree;
  return r;
}

TEST(BatchCheckLine, OkFitsDoesNotFitAndFailed) {
  EXPECT_EQ(
      checkLine(dryRun(56u << 20, "1288490188")),
      "line 3 alice@example.org: ok, 1234 messages in 12 folders, 1200 to copy (56.0 MiB), fits the quota "
      "(1.2 GiB free)");
  EXPECT_EQ(
      checkLine(dryRun(56u << 20, "unlimited")),
      "line 3 alice@example.org: ok, 1234 messages in 12 folders, 1200 to copy (56.0 MiB), no quota limit");
  JobResult big = dryRun(2u << 20, "1048576");
  EXPECT_TRUE(exceedsQuota(big));
  EXPECT_EQ(
      checkLine(big),
      "line 3 alice@example.org: failed: does not fit the quota: needs 2.0 MiB, 1.0 MiB free (raise the "
      "user's quota before the migration)");
  JobResult bad;
  bad.line = 12;
  bad.user = "bob@example.org";
  bad.started = true;
  bad.result = "failed";
  bad.reason = "login as 'bob' failed (check the password)";
  EXPECT_EQ(checkLine(bad), "line 12 bob@example.org: failed: login as 'bob' failed (check the password)");
  bad.line = 0;
  bad.started = false;
  EXPECT_EQ(checkLine(bad), "bob@example.org: not started");
}

TEST(BatchReport, JsonHasTheRunTotalsAndEveryMailbox) {
  RunInfo info;
  info.command = "batch";
  info.file = "/root/batch.csv";
  info.format = "csv";
  info.started = 1795000000;
  info.finished = 1795000060;
  info.seconds = 60;
  info.exitCode = 77;
  info.jobs = 4;
  info.options = {{"max-rate", "1M", false}, {"verbose", "", true}};
  JobResult ok;
  ok.line = 2;
  ok.user = "alice";
  ok.source = "imap.old.example";
  ok.started = ok.finished = true;
  ok.result = "ok";
  ok.copied = 10;
  ok.bytes = 1000;
  ok.skipReasons = {{"too_large", 1}};
  JobResult notStarted;
  notStarted.line = 3;
  notStarted.user = "bob";
  Result<json::Value> r = json::parse(reportJson(info, {ok, notStarted}));
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const json::Value& v = r.value();
  EXPECT_EQ(v.get("started")->text(), "2026-11-18T11:06:40Z");
  EXPECT_EQ(v.get("exit_code")->asU64(), 77u);
  EXPECT_EQ(v.get("options")->get("max-rate")->text(), "1M");
  EXPECT_TRUE(v.get("options")->get("verbose")->asBool());
  EXPECT_EQ(v.get("totals")->get("ok")->asU64(), 1u);
  EXPECT_EQ(v.get("totals")->get("not_started")->asU64(), 1u);
  EXPECT_EQ(v.get("totals")->get("copied")->asU64(), 10u);
  const auto& boxes = v.get("mailboxes")->items();
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_EQ(boxes[0].get("line")->asU64(), 2u);
  EXPECT_EQ(boxes[0].get("result")->text(), "ok");
  EXPECT_EQ(boxes[0].get("skip_reasons")->get("too_large")->asU64(), 1u);
  EXPECT_EQ(boxes[1].get("result")->text(), "not started");
  EXPECT_EQ(boxes[1].get("reason")->text(), "the batch was stopped before this mailbox started");
  EXPECT_EQ(boxes[0].get("source_messages"), nullptr);  // only in dry runs
}

TEST(BatchOptions, Durations) {
  EXPECT_EQ(parseDuration("90"), 90u);
  EXPECT_EQ(parseDuration("90s"), 90u);
  EXPECT_EQ(parseDuration("15m"), 900u);
  EXPECT_EQ(parseDuration("2h"), 7200u);
  EXPECT_EQ(parseDuration("1d"), 86400u);
  for (const char* bad : {"", "0", "m", "15x", "-5m", "1.5h", "99999999999999h"}) {
    EXPECT_FALSE(parseDuration(bad)) << bad;
  }
}

TEST(BatchOptions, RepeatUntilIdle) {
  Result<RepeatUntilIdle> r = parseRepeatUntilIdle("15m,60m");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().interval, 900u);
  EXPECT_EQ(r.value().quiet, 3600u);
  r = parseRepeatUntilIdle("10m");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().quiet, 2400u);
  r = parseRepeatUntilIdle("1h,10m");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "--repeat-until-idle: the quiet time 10m is shorter than the interval 1h");
  r = parseRepeatUntilIdle("soon");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(
      r.status().describe(),
      "--repeat-until-idle: \"soon\" is not a duration (write INTERVAL,QUIET as durations, e.g. 15m,60m "
      "(units s, m, h, d))");
}

TEST(BatchOptions, Jobs) {
  EXPECT_EQ(parseJobs("1").value(), 1u);
  EXPECT_EQ(parseJobs("256").value(), 256u);
  for (const char* bad : {"", "0", "257", "four", "-1", "99999"}) {
    EXPECT_FALSE(parseJobs(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace migrate::batch

namespace migrate::batch {
namespace {

TEST(PerHostCap, CommandLineFirstThenABuiltinPresetsCapElseNone) {
  EXPECT_EQ(perHostCap(3u, std::string("office365")), 3u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("office365")), 8u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("gmail")), 10u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("generic")), 0u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("my-admin-preset")), 0u);
  EXPECT_EQ(perHostCap(std::nullopt, std::nullopt), 0u);
  EXPECT_EQ(perHostCap(0u, std::string("gmail")), 0u) << "--max-connections 0 means no cap";
  // Admin presets from dovecot.conf: their own max_connections, else their base's.
  const PresetDefinitions admin = {{"wedos", {{"host", "imap.wedos.example"}, {"max_connections", "5"}}},
                                   {"gmailish", {{"base", "gmail"}}},
                                   {"bad", {{"max_connections", "many"}}}};
  EXPECT_EQ(perHostCap(std::nullopt, std::string("wedos"), admin), 5u);
  EXPECT_EQ(perHostCap(2u, std::string("wedos"), admin), 2u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("gmailish"), admin), 10u);
  EXPECT_EQ(perHostCap(std::nullopt, std::string("bad"), admin), 0u) << "the children report the bad value";
  EXPECT_EQ(perHostCap(std::nullopt, std::string("nosuch"), admin), 0u);
}

}  // namespace
}  // namespace migrate::batch
