#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "engine/run_schedule.h"

namespace migrate {
namespace {

using Action = ScheduleDecision::Action;

constexpr int64_t kT = 1796680800;  // 2026-12-07T22:00:00Z
constexpr int64_t kHour = 3600;

RunStatus finishedRun(const std::string& state, int64_t started, int64_t finished) {
  RunStatus s;
  s.state = state;
  s.pid = 4242;
  s.started = started;
  s.updated = finished;
  s.finished = finished;
  return s;
}

RunSchedule twoPasses() {
  RunSchedule s;
  s.created = kT - kHour;
  s.firstAt = kT;
  s.secondAfter = 23 * kHour;
  return s;
}

// Sets TZ for one test and restores it.
class LocalZone {
 public:
  explicit LocalZone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (had_) {
      old_ = old;
    }
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~LocalZone() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  LocalZone(const LocalZone&) = delete;
  LocalZone& operator=(const LocalZone&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

TEST(RunSchedule, RoundTripAndDamagedFiles) {
  RunSchedule s = twoPasses();
  s.pass[0] = {kT + 5, kT + 600, 1};
  s.pass[1].started = kT + 600 + 23 * kHour;
  Result<RunSchedule> back = parseRunSchedule(serializeRunSchedule(s));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(serializeRunSchedule(back.value()), serializeRunSchedule(s));
  EXPECT_EQ(back.value().passes(), 2);
  EXPECT_EQ(back.value().pass[0].restarts, 1u);

  EXPECT_FALSE(parseRunSchedule("").isOk());
  EXPECT_FALSE(parseRunSchedule("dovecot-migrate-status\t1\n").isOk());
  Result<RunSchedule> newer = parseRunSchedule("dovecot-migrate-schedule\t2\n");
  ASSERT_FALSE(newer.isOk());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);
  Result<RunSchedule> bad = parseRunSchedule("dovecot-migrate-schedule\t1\nfirst_at\tsoon\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_TRUE(parseRunSchedule("dovecot-migrate-schedule\t1\nfuture_key\tx\n").isOk());
}

TEST(RunSchedule, RunStatusKeepsNextRunOnlyWhenSet) {
  RunStatus s;
  s.state = "scheduled";
  s.nextRun = kT;
  const std::string text = serializeRunStatus(s);
  EXPECT_NE(text.find("next_run\t1796680800\n"), std::string::npos);
  Result<RunStatus> back = parseRunStatus(text);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back.value().nextRun, kT);
  s.nextRun = 0;
  EXPECT_EQ(serializeRunStatus(s).find("next_run"), std::string::npos);
}

TEST(RunSchedule, FileLifecycleAndPending) {
  char tmpl[] = "/tmp/run_schedule_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  EXPECT_FALSE(schedulePending(dir));
  Result<std::optional<RunSchedule>> none = readRunSchedule(dir);
  ASSERT_TRUE(none.isOk());
  EXPECT_FALSE(none.value().has_value());
  EXPECT_FALSE(scheduleWaiting(dir));
  RunSchedule s = twoPasses();
  ASSERT_TRUE(writeRunSchedule(dir, s).isOk());
  EXPECT_TRUE(schedulePending(dir));
  EXPECT_TRUE(scheduleWaiting(dir));
  markPassStarted(s, 1, false, kT);
  ASSERT_TRUE(writeRunSchedule(dir, s).isOk());
  EXPECT_FALSE(scheduleWaiting(dir));  // the first pass runs
  s.pass[0].ended = kT + 60;
  ASSERT_TRUE(writeRunSchedule(dir, s).isOk());
  EXPECT_TRUE(scheduleWaiting(dir));  // between the passes
  ASSERT_TRUE(writeRunSchedule(dir, twoPasses()).isOk());
  Result<std::optional<RunSchedule>> read = readRunSchedule(dir);
  ASSERT_TRUE(read.isOk());
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->firstAt, kT);
  ASSERT_TRUE(removeRunSchedule(dir).isOk());
  ASSERT_TRUE(removeRunSchedule(dir).isOk());  // none: no error
  EXPECT_FALSE(schedulePending(dir));
  ::rmdir(dir.c_str());
}

TEST(RunSchedule, FirstPassWaitsForItsTimeThenStartsOnce) {
  RunSchedule s = twoPasses();
  ScheduleObservation seen;
  ScheduleDecision d = decideSchedule(s, seen, kT - 60, kT - 60);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_EQ(d.pass, 1);
  EXPECT_EQ(d.nextRun, kT);
  EXPECT_EQ(scheduleNextRun(s), kT);
  EXPECT_TRUE(scheduleWaitingForPass(s));

  d = decideSchedule(s, seen, kT, kT);
  EXPECT_EQ(d.action, Action::Start);
  EXPECT_EQ(d.pass, 1);
  EXPECT_FALSE(d.restart);
  markPassStarted(s, 1, false, kT);
  EXPECT_FALSE(scheduleWaitingForPass(s));
  EXPECT_EQ(scheduleNextRun(s), 0);

  // the run is alive: leave it
  seen.runActive = true;
  d = decideSchedule(s, seen, kT + 60, kT + 60);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_NE(d.reason.find("running"), std::string::npos);
  // the run started but has written no status yet: still starting, not started again
  seen.runActive = false;
  d = decideSchedule(s, seen, kT + 60, kT + 60);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_NE(d.reason.find("starting"), std::string::npos);
}

TEST(RunSchedule, SecondPassIsDueHoursAfterTheFirstEnded) {
  RunSchedule s = twoPasses();
  markPassStarted(s, 1, false, kT);
  ScheduleObservation seen;
  const int64_t end = kT + 2 * kHour;  // a long first pass
  seen.status = finishedRun("ok", kT + 1, end);
  ScheduleDecision d = decideSchedule(s, seen, kT + 23 * kHour + 60, kT + 3 * kHour);
  // 23 h after the START would be due; 23 h after the end is not yet
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_EQ(d.pass, 2);
  EXPECT_EQ(d.nextRun, end + 23 * kHour);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.updated.pass[0].ended, end);
  EXPECT_EQ(scheduleNextRun(d.updated), end + 23 * kHour);
  EXPECT_TRUE(scheduleWaitingForPass(d.updated));

  s = d.updated;
  d = decideSchedule(s, seen, end + 23 * kHour, end + 23 * kHour);
  EXPECT_EQ(d.action, Action::Start);
  EXPECT_EQ(d.pass, 2);
  EXPECT_FALSE(d.changed);
  markPassStarted(s, 2, false, end + 23 * kHour);

  seen.status = finishedRun("partial", end + 23 * kHour, end + 23 * kHour + 30);
  d = decideSchedule(s, seen, end + 24 * kHour, end + 24 * kHour);
  EXPECT_EQ(d.action, Action::Finished);
  EXPECT_EQ(d.updated.pass[1].ended, end + 23 * kHour + 30);
}

TEST(RunSchedule, AFailedFirstPassIsNotRetriedButTheSecondStillRuns) {
  RunSchedule s = twoPasses();
  markPassStarted(s, 1, false, kT);
  ScheduleObservation seen;
  seen.status = finishedRun("failed", kT, kT + 10);
  ScheduleDecision d = decideSchedule(s, seen, kT + kHour, kT + kHour);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_EQ(d.pass, 2);
  EXPECT_EQ(d.nextRun, kT + 10 + 23 * kHour);
}

TEST(RunSchedule, OnePassFinishesAfterIt) {
  RunSchedule s = twoPasses();
  s.secondAfter = 0;
  markPassStarted(s, 1, false, kT);
  ScheduleObservation seen;
  seen.status = finishedRun("ok", kT, kT + 10);
  EXPECT_EQ(decideSchedule(s, seen, kT + 60, kT + 60).action, Action::Finished);
}

TEST(RunSchedule, AnInterruptedPassIsRestartedAfterAReboot) {
  RunSchedule s = twoPasses();
  markPassStarted(s, 1, false, kT);
  ScheduleObservation seen;
  // "running" but not alive (runActive false): killed, crashed, the machine rebooted
  seen.status = finishedRun("running", kT, 0);
  ScheduleDecision d = decideSchedule(s, seen, kT + 300, kT + 300);
  EXPECT_EQ(d.action, Action::Start);
  EXPECT_EQ(d.pass, 1);
  EXPECT_TRUE(d.restart);
  markPassStarted(s, 1, true, kT + 300);
  EXPECT_EQ(s.pass[0].restarts, 1u);
  // the old run's status is older than the restart: the restarted run is still starting
  d = decideSchedule(s, seen, kT + 330, kT + 330);
  EXPECT_EQ(d.action, Action::Wait);

  // SIGTERM at shutdown: the run ends "stopped"; the next schedule-due continues it
  seen.status = finishedRun("stopped", kT + 301, kT + 400);
  d = decideSchedule(s, seen, kT + 460, kT + 460);
  EXPECT_EQ(d.action, Action::Start);
  EXPECT_TRUE(d.restart);

  // a run that never wrote a status is started again after the grace time
  seen.status.reset();
  EXPECT_EQ(decideSchedule(s, seen, kT + 400, kT + 400).action, Action::Wait);
  EXPECT_EQ(
      decideSchedule(s, seen, kT + 300 + kPassStartGraceSeconds, kT + 300 + kPassStartGraceSeconds).action,
      Action::Start);
}

TEST(RunSchedule, APassThatDiesEveryTimeIsGivenUp) {
  RunSchedule s = twoPasses();
  s.secondAfter = 0;
  markPassStarted(s, 1, false, kT);
  s.pass[0].restarts = kMaxPassRestarts;
  ScheduleObservation seen;
  seen.status = finishedRun("running", kT, 0);
  ScheduleDecision d = decideSchedule(s, seen, kT + 60, kT + 60);
  EXPECT_EQ(d.action, Action::Finished);
  EXPECT_NE(d.reason.find("given up"), std::string::npos);
}

TEST(RunSchedule, PausedUsersAreSkippedAndAnotherRunIsWaitedFor) {
  RunSchedule s = twoPasses();
  ScheduleObservation seen;
  seen.paused = true;
  ScheduleDecision d = decideSchedule(s, seen, kT + 60, kT + 60);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_NE(d.reason.find("paused"), std::string::npos);
  EXPECT_EQ(d.nextRun, kT);

  seen.paused = false;
  seen.runActive = true;  // e.g. a first-login run
  d = decideSchedule(s, seen, kT + 60, kT + 60);
  EXPECT_EQ(d.action, Action::Wait);
  EXPECT_NE(d.reason.find("another run"), std::string::npos);

  // paused in the middle of a pass: not restarted until resumed
  markPassStarted(s, 1, false, kT);
  seen.runActive = false;
  seen.paused = true;
  seen.status = finishedRun("paused", kT, kT + 100);
  EXPECT_EQ(decideSchedule(s, seen, kT + 160, kT + 160).action, Action::Wait);
  // resumed (the job no longer paused): the pass continues
  seen.paused = false;
  d = decideSchedule(s, seen, kT + 220, kT + 220);
  EXPECT_EQ(d.action, Action::Start);
  EXPECT_EQ(d.pass, 1);
}

TEST(RunSchedule, TheStatusOfAnotherRunIsNotThePasssEnd) {
  RunSchedule s = twoPasses();
  markPassStarted(s, 1, false, kT, 4242);
  ScheduleObservation seen;
  // a fast earlier run in the same second, with another pid: not this pass's end
  RunStatus other = finishedRun("ok", kT, kT);
  other.pid = 999;
  seen.status = other;
  EXPECT_EQ(decideSchedule(s, seen, kT + 10, kT + 10).action, Action::Wait);
  seen.status = finishedRun("ok", kT, kT + 5);  // pid 4242
  ScheduleDecision d = decideSchedule(s, seen, kT + 10, kT + 10);
  EXPECT_EQ(d.updated.pass[0].ended, kT + 5);
  // a later run (migrate resume continued the pass) ends it too
  RunStatus resumed = finishedRun("ok", kT + 1, kT + 50);
  resumed.pid = 777;
  seen.status = resumed;
  EXPECT_EQ(decideSchedule(s, seen, kT + 60, kT + 60).updated.pass[0].ended, kT + 50);
  // a status older than the pass's start is an earlier run's
  markPassStarted(s, 1, true, kT + 100);
  EXPECT_EQ(decideSchedule(s, seen, kT + 110, kT + 110).action, Action::Wait);
}

TEST(RunSchedule, OwnScheduledStatusIsNotARun) {
  RunSchedule s = twoPasses();
  markPassStarted(s, 1, false, kT);
  ScheduleObservation seen;
  RunStatus scheduled;
  scheduled.state = "scheduled";
  scheduled.updated = kT + 5;
  scheduled.started = kT + 5;
  seen.status = scheduled;
  EXPECT_EQ(decideSchedule(s, seen, kT + 10, kT + 10).action, Action::Wait);
}

TEST(ScheduleTime, UnixSecondsAndIsoWithOffsets) {
  const int64_t now = kT - 5 * kHour;
  Result<int64_t> t = parseScheduleTime(std::to_string(kT), now);
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t.value(), kT);
  t = parseScheduleTime("2026-12-07T22:00Z", now);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT);
  t = parseScheduleTime("2026-12-07 23:00:00+01:00", now);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT);
  t = parseScheduleTime("2026-12-07T17:30-0430", now);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT);
}

TEST(ScheduleTime, LocalTimeAndNextOccurrence) {
  LocalZone zone("Europe/Prague");     // UTC+1 in December
  const int64_t now = kT - 5 * kHour;  // 18:00 Prague
  Result<int64_t> t = parseScheduleTime("2026-12-07T23:00", now);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT);
  t = parseScheduleTime("23:00", now);  // today
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT);
  t = parseScheduleTime("17:00", now);  // already past today: tomorrow
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), kT - 6 * kHour + 24 * kHour);
  // summer time: 2026-07-01 12:00 CEST is 10:00 UTC
  t = parseScheduleTime("2026-07-01T12:00", 1782900000 - kHour);
  ASSERT_TRUE(t.isOk()) << t.status().describe();
  EXPECT_EQ(t.value(), 1782900000);
}

TEST(ScheduleTime, MistakesAreRefusedNamingTheOption) {
  const int64_t now = kT;
  for (const char* bad :
       {"", "tomorrow", "25:00", "2026-13-01T10:00", "2026-02-30T10:00", "2026-12-07", "2026-12-07T22:00 CET",
        "2026-12-07T22:00+25:00", "2025-12-07T22:00", "2028-12-07T22:00", "2200", "22:0"}) {
    Result<int64_t> t = parseScheduleTime(bad, now);
    ASSERT_FALSE(t.isOk()) << bad;
    EXPECT_EQ(t.status().kind(), ErrorKind::Config) << bad;
    EXPECT_EQ(t.status().message().rfind("--at ", 0), 0u) << t.status().message();
  }
  // within the last day: accepted (means now)
  Result<int64_t> recent = parseScheduleTime("2026-12-07T21:00Z", now);
  ASSERT_TRUE(recent.isOk());
  EXPECT_EQ(recent.value(), kT - kHour);
}

TEST(ScheduleTime, SecondPassAfter) {
  EXPECT_EQ(parseSecondPassAfter("23").value(), 23 * kHour);
  EXPECT_EQ(parseSecondPassAfter("1.5").value(), 90 * 60);
  EXPECT_EQ(parseSecondPassAfter("36h").value(), 36 * kHour);
  EXPECT_EQ(parseSecondPassAfter("90m").value(), 90 * 60);
  EXPECT_EQ(parseSecondPassAfter("720").value(), 720 * kHour);
  for (const char* bad : {"", "0", "0.0", "-1", "abc", "1,5", "721", "1e3", "h", ".5x"}) {
    Result<int64_t> r = parseSecondPassAfter(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().message().rfind("--second-pass-after ", 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace migrate
