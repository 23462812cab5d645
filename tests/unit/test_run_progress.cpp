// The progress columns of `doveadm migrate status` (engine/run_progress.h) and the keys of the
// status file they come from (engine/run_status.h).

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "engine/run_progress.h"
#include "engine/run_status.h"

namespace migrate {
namespace {

RunStatus running(uint64_t bytes, std::optional<uint64_t> totalBytes) {
  RunStatus s;
  s.state = "running";
  s.started = 1000;
  s.updated = 1010;
  s.bytes = bytes;
  s.totalBytes = totalBytes;
  return s;
}

TEST(RunProgress, NeverMigratedShowsNothing) {
  RunProgress p = computeRunProgress(std::nullopt, "never");
  EXPECT_FALSE(p.percent);
  EXPECT_FALSE(p.percentMessages);
  EXPECT_FALSE(p.rate);
  EXPECT_FALSE(p.etaSeconds);
}

TEST(RunProgress, RunningRunShowsPercentRateAndTimeLeft) {
  RunStatus s = running(2500, 10000);
  s.copied = 3;
  s.failed = 1;
  s.totalMessages = 16;
  s.rate = 500;
  RunProgress p = computeRunProgress(s, "running");
  EXPECT_EQ(p.percent, 25u);
  EXPECT_EQ(p.percentMessages, 25u);  // copied + failed of the plan
  EXPECT_EQ(p.rate, 500u);            // the run's own window, not the average (250)
  EXPECT_EQ(p.etaSeconds, 15u);       // 7500 left at 500/s
}

TEST(RunProgress, RunningWithoutAMeasuredRateUsesTheAverageAndRoundsTheEtaUp) {
  RunStatus s = running(1000, 1001);  // 10 s since the start: 100 B/s
  RunProgress p = computeRunProgress(s, "running");
  EXPECT_EQ(p.rate, 100u);
  EXPECT_EQ(p.etaSeconds, 1u);
  EXPECT_EQ(p.percent, 99u);  // 99.9 rounds down: 100 only when done
}

TEST(RunProgress, BeforeThePlanThePercentAndEtaAreUnknown) {
  RunStatus s = running(0, std::nullopt);
  RunProgress p = computeRunProgress(s, "running");
  EXPECT_FALSE(p.percent);
  EXPECT_FALSE(p.percentMessages);
  EXPECT_FALSE(p.etaSeconds);
  EXPECT_EQ(p.rate, 0u);
  // The plan known, nothing copied yet and no rate: 0 %, no ETA.
  s.totalBytes = 5000;
  s.totalMessages = 5;
  p = computeRunProgress(s, "running");
  EXPECT_EQ(p.percent, 0u);
  EXPECT_EQ(p.percentMessages, 0u);
  EXPECT_FALSE(p.etaSeconds);
}

TEST(RunProgress, NothingToCopyIsOneHundredPercentWithNoTimeLeft) {
  RunStatus s = running(0, 0);
  s.totalMessages = 0;
  RunProgress p = computeRunProgress(s, "running");
  EXPECT_EQ(p.percent, 100u);
  EXPECT_EQ(p.percentMessages, 100u);
  EXPECT_EQ(p.etaSeconds, 0u);
}

TEST(RunProgress, OkIsOneHundredEvenForFilesWithoutAPlan) {
  RunStatus s;
  s.state = "ok";
  s.started = 100;
  s.finished = s.updated = 110;
  s.bytes = 5000;
  s.rate = 99999;  // ignored once the run is over: the average is what it did
  RunProgress p = computeRunProgress(s, "ok");
  EXPECT_EQ(p.percent, 100u);
  EXPECT_EQ(p.percentMessages, 100u);
  EXPECT_EQ(p.rate, 500u);
  EXPECT_FALSE(p.etaSeconds);
}

TEST(RunProgress, OtherStatesAreTreatedAlikeWithoutAnEta) {
  for (const char* state :
       {"failed", "partial", "stopped", "interrupted", "paused", "scheduled", "newstate"}) {
    RunStatus s = running(4000, 8000);
    s.state = state;
    s.rate = 1000;
    RunProgress p = computeRunProgress(s, state);
    EXPECT_EQ(p.percent, 50u) << state;
    EXPECT_EQ(p.rate, 400u) << state;  // 4000 bytes in the 10 s up to the last update
    EXPECT_FALSE(p.etaSeconds) << state;
    // Everything copied but the run did not end ok (e.g. Sieve failed): not 100.
    s.bytes = 8000;
    EXPECT_EQ(computeRunProgress(s, state).percent, 99u) << state;
  }
}

TEST(RunProgress, ASubSecondRunCountsAsOneSecondAndHugeNumbersDoNotOverflow) {
  RunStatus s;
  s.state = "ok";
  s.started = s.finished = s.updated = 100;
  s.bytes = 99144;
  EXPECT_EQ(computeRunProgress(s, "ok").rate, 99144u);
  RunStatus big = running(UINT64_MAX / 2, UINT64_MAX);
  EXPECT_EQ(computeRunProgress(big, "running").percent, 50u);
  big.bytes = UINT64_MAX;
  EXPECT_EQ(computeRunProgress(big, "running").percent, 99u);
  // More copied than planned (mail arrived during the run): capped, nothing left.
  RunStatus over = running(1200, 1000);
  EXPECT_EQ(computeRunProgress(over, "running").percent, 99u);
  EXPECT_EQ(computeRunProgress(over, "running").etaSeconds, 0u);
}

TEST(RateWindow, MeasuresTheLastWindowOnly) {
  RateWindow w(10.0);
  EXPECT_FALSE(w.rate());
  w.add(0.0, 0);
  w.add(0.5, 100);
  EXPECT_FALSE(w.rate()) << "less than a second of samples";
  // 1000 B/s for 20 s, then 100 B/s for 10 s: the window sees only the slow part.
  for (int t = 1; t <= 20; t++) {
    w.add(t, static_cast<uint64_t>(t) * 1000);
  }
  EXPECT_EQ(w.rate(), 1000u);
  for (int t = 21; t <= 30; t++) {
    w.add(t, 20000 + static_cast<uint64_t>(t - 20) * 100);
  }
  EXPECT_EQ(w.rate(), 100u);
  EXPECT_LE(w.samples(), 12u);
}

TEST(RateWindow, ManyEventsAMomentApartKeepMemoryBounded) {
  RateWindow w(20.0);
  for (int i = 0; i <= 100000; i++) {
    w.add(i * 0.001, static_cast<uint64_t>(i) * 10);  // 10 kB/s in 100 s of 1 ms events
  }
  EXPECT_LE(w.samples(), 45u);
  ASSERT_TRUE(w.rate());
  EXPECT_NEAR(static_cast<double>(*w.rate()), 10000.0, 10.0);
}

TEST(RunStatusProgressKeys, RoundTripAndOlderFilesReadAsUnknown) {
  RunStatus s = running(10, 100);
  s.totalMessages = 7;
  s.rate = 42;
  s.errorHint = "check the password";
  Result<RunStatus> back = parseRunStatus(serializeRunStatus(s));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(back.value().totalMessages, 7u);
  EXPECT_EQ(back.value().totalBytes, 100u);
  EXPECT_EQ(back.value().rate, 42u);
  EXPECT_EQ(back.value().errorHint, "check the password");
  EXPECT_EQ(serializeRunStatus(back.value()), serializeRunStatus(s));

  RunStatus unknown = running(10, std::nullopt);
  back = parseRunStatus(serializeRunStatus(unknown));
  ASSERT_TRUE(back.isOk());
  EXPECT_FALSE(back.value().totalBytes);
  EXPECT_FALSE(back.value().totalMessages);
  EXPECT_FALSE(back.value().rate);

  // A file of the version before these keys.
  Result<RunStatus> old = parseRunStatus(
      "dovecot-migrate-status\t1\nstate\tok\nstarted\t100\nfinished\t110\nbytes\t5000\n"
      "error\t\nerror_kind\t\nconsecutive_failures\t0\n");
  ASSERT_TRUE(old.isOk()) << old.status().describe();
  EXPECT_FALSE(old.value().totalBytes);
  EXPECT_EQ(old.value().errorHint, "");
  EXPECT_EQ(computeRunProgress(old.value(), "ok").percent, 100u);

  EXPECT_FALSE(parseRunStatus("dovecot-migrate-status\t1\ntotal_bytes\tlots\n").isOk());
}

TEST(RunStatusProgressKeys, AFinishedRunKeepsItsPlanAndTheErrorsHint) {
  RunStatus s = running(10, 100);
  s.totalMessages = 3;
  s.rate = 5;
  MigrationReport failed;
  failed.status = Status(ErrorKind::Auth, "login failed", "check the password");
  failed.bytes = 10;
  finishRunStatus(s, failed);
  EXPECT_EQ(s.state, "failed");
  EXPECT_EQ(s.errorHint, "check the password");
  EXPECT_EQ(s.totalBytes, 100u);
  EXPECT_FALSE(s.rate);
  MigrationReport ok;
  RunStatus t = running(0, 0);
  finishRunStatus(t, ok);
  EXPECT_EQ(t.errorHint, "");
}

}  // namespace
}  // namespace migrate
