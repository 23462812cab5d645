// The migration engine against the scripted source model and the in-memory sink: what lands
// where, re-runs, deltas, crashes, drops, quota and UIDVALIDITY changes.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/migrator.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;
using testing::MemorySink;

class EngineTest : public EngineFixture {
 protected:
  std::string statePath() const {
    std::string cmd = "ls " + dir_ + "/*.state";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[512] = {0};
    if (p != nullptr) {
      if (std::fgets(buf, sizeof(buf), p) == nullptr) {
        buf[0] = 0;
      }
      pclose(p);
    }
    std::string s = buf;
    while (!s.empty() && s.back() == '\n') {
      s.pop_back();
    }
    return s;
  }

  // The messages of a destination folder as "subject|flags" strings, sorted.
  std::multiset<std::string> contents(const std::string& folder) const {
    std::multiset<std::string> out;
    for (const testing::StoredMessage* m : sink_->all(folder)) {
      size_t p = m->bytes.find("Subject: ");
      std::string subject = m->bytes.substr(p + 9, m->bytes.find("\r\n", p) - p - 9);
      out.insert(subject + "|" + formatFlags(m->flags));
    }
    return out;
  }

  void addMany(const std::string& folder, int n, const std::string& prefix) {
    for (int i = 0; i < n; i++) {
      std::string id = "<" + prefix + std::to_string(i) + "@example.org>";
      source_.add(folder,
                  FakeSource::makeMessage(prefix + std::to_string(i), id, 200 + static_cast<size_t>(i)));
    }
  }
};

TEST_F(EngineTest, FullPassCopiesEveryFolderWithFlagsDatesAndUids) {
  source_.folder("Sent", {"\\Sent"});
  source_.folder("Work/Projects");
  source_.folder("Empty");
  source_.add("INBOX", FakeSource::makeMessage("hello", "<1@x>"), {"\\Seen", "$Forwarded"},
              "17-Jul-1996 02:44:25 -0700");
  source_.add("INBOX", FakeSource::makeMessage("second", "<2@x>"), {"\\Flagged", "\\Answered", "\\Recent"});
  source_.add("Sent", FakeSource::makeMessage("sent one", "<3@x>"), {"\\Seen"});
  source_.add("Work/Projects", FakeSource::makeMessage("deep", "<4@x>"),
              {"\\Draft", "\\Deleted", "project-x"});

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 4u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(contents("INBOX"),
            (std::multiset<std::string>{"hello|\\Seen $Forwarded", "second|\\Answered \\Flagged"}));
  EXPECT_EQ(contents("Sent"), (std::multiset<std::string>{"sent one|\\Seen"}));
  EXPECT_EQ(contents("Work/Projects"), (std::multiset<std::string>{"deep|\\Deleted \\Draft project-x"}));
  ASSERT_TRUE(sink_->folders.count("Empty"));
  EXPECT_TRUE(sink_->folders["Empty"].exists);

  // INTERNALDATE with its zone, exact bytes, and the source UIDs in a folder we created.
  const testing::StoredMessage* first = sink_->all("INBOX")[0];
  EXPECT_EQ(first->internalDate, 837596665);  // 1996-07-17 09:44:25 UTC
  EXPECT_EQ(first->tz, -420);
  EXPECT_EQ(first->bytes, source_.folders["INBOX"].messages[0].bytes);
  EXPECT_EQ(sink_->folders["Work/Projects"].uidValidity, source_.folders["Work/Projects"].uidValidity);
  EXPECT_EQ(sink_->all("Work/Projects")[0]->uid, 1u);
  EXPECT_FALSE(source_.sawWrite.load()) << "the source must only be read (EXAMINE, BODY.PEEK)";
}

TEST_F(EngineTest, ProgressTellsHowManyFoldersTheRunCopiesOnceThePlanIsKnown) {
  source_.folder("Sent", {"\\Sent"});
  source_.folder("Junk", {"\\Junk"});
  source_.folder("Work");
  source_.add("Work", FakeSource::makeMessage("w", "<w@x>"), {});
  options_.source.filter.exclude = {"\\Junk"};
  std::vector<uint32_t> totals;
  MigrationReport r = runMigration(
      options_, *sink_,
      [&totals](const ProgressEvent& e) {
        if (e.foldersTotal > 0) {
          totals.push_back(e.foldersTotal);
        }
      },
      [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> { return source_.connect(); });
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  // INBOX, Sent and Work; Junk is left out.
  EXPECT_EQ(totals, (std::vector<uint32_t>{3}));
}

// The run's plan for the progress columns of `migrate status` (issue 14): the messages and bytes
// it copies, known before the first copy, also without a quota, and counting nothing that is
// here already.
TEST_F(EngineTest, ProgressCarriesThePlansTotalsBeforeTheFirstCopyWithoutAQuota) {
  addMany("INBOX", 20, "m");
  addMany("Archive", 5, "a");
  ASSERT_EQ(sink_->quotaLimit, 0u);
  auto runWithEvents = [this](std::vector<ProgressEvent>& events) {
    return runMigration(
        options_, *sink_, [&events](const ProgressEvent& e) { events.push_back(e); },
        [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
          return source_.connect();
        });
  };
  std::vector<ProgressEvent> events;
  MigrationReport r = runWithEvents(events);
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  uint64_t sourceBytes = 0;
  for (const char* folder : {"INBOX", "Archive"}) {
    for (const auto& m : source_.folders[folder].messages) {
      sourceBytes += m.bytes.size();
    }
  }
  size_t totalsAt = events.size();
  for (size_t i = 0; i < events.size(); i++) {
    if (events[i].totalsKnown) {
      totalsAt = i;
      break;
    }
  }
  ASSERT_LT(totalsAt, events.size()) << "no totals event";
  EXPECT_EQ(events[totalsAt].totalMessages, 25u);
  EXPECT_EQ(events[totalsAt].totalBytes, sourceBytes);
  EXPECT_EQ(events[totalsAt].bytes, 0u);
  for (size_t i = 0; i < totalsAt; i++) {
    EXPECT_EQ(events[i].bytes, 0u) << "bytes copied before the plan was known";
  }
  EXPECT_EQ(r.bytes, sourceBytes);

  // Two new messages: the next run's plan is those two only.
  addMany("INBOX", 2, "new");
  uint64_t newBytes = 0;
  const auto& inbox = source_.folders["INBOX"].messages;
  for (size_t i = inbox.size() - 2; i < inbox.size(); i++) {
    newBytes += inbox[i].bytes.size();
  }
  events.clear();
  r = runWithEvents(events);
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  int totalsEvents = 0;
  for (const ProgressEvent& e : events) {
    if (e.totalsKnown) {
      totalsEvents++;
      EXPECT_EQ(e.totalMessages, 2u);
      EXPECT_EQ(e.totalBytes, newBytes);
    }
  }
  EXPECT_EQ(totalsEvents, 1);
}

TEST_F(EngineTest, SecondRunWithNothingNewFetchesNothing) {
  addMany("INBOX", 20, "m");
  addMany("Archive", 5, "a");
  ASSERT_TRUE(run().status.isOk());
  int examinesBefore = source_.examines;
  int bodiesBefore = source_.bodiesSent;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(source_.bodiesSent, bodiesBefore);
  // Unchanged folders are not opened; only INBOX may be, for the "source is this server" check
  // (its local copy looks exactly like the source's when the UIDs were kept).
  EXPECT_LE(source_.examines, examinesBefore + 1);
  EXPECT_EQ(sink_->all("INBOX").size(), 20u);
}

TEST_F(EngineTest, APassWithNothingNewLeavesTheStateFileAsItWas) {
  addMany("INBOX", 3, "m");
  addMany("Archive", 2, "a");
  ASSERT_TRUE(run().status.isOk());
  struct stat before {};
  ASSERT_EQ(::stat(statePath().c_str(), &before), 0);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  struct stat after {};
  ASSERT_EQ(::stat(statePath().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "rewritten (with an fsync) although nothing changed";
}

TEST_F(EngineTest, AFolderWhoseNewestMessageWasDeletedIsUnchangedOnTheNextPass) {
  addMany("INBOX", 5, "m");
  addMany("Archive", 3, "a");
  source_.folders["INBOX"].messages.pop_back();  // expunged at the source: UIDNEXT stays 6
  ASSERT_TRUE(run().status.isOk());
  int examines = source_.examines;
  int commits = sink_->commits;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(sink_->commits, commits) << "nothing new: nothing committed";
  EXPECT_LE(source_.examines, examines + 1);  // INBOX at most, for the "source is this server" check
  source_.add("INBOX", FakeSource::makeMessage("late", "<late@x>"));
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u) << "the UID after the gap is new";
}

TEST_F(EngineTest, ADestinationFilledByAnotherToolIsRecognisedOnceEvenWithAGap) {
  // `doveadm backup -R imapc:` copied the folder first (its own GUIDs, the source's UIDs);
  // the newest source message was deleted after that.
  addMany("INBOX", 4, "m");
  testing::MemoryFolder& inbox = sink_->folders["INBOX"];
  inbox.exists = true;
  inbox.uidValidity = source_.folders["INBOX"].uidValidity;
  for (const testing::FakeMessage& m : source_.folders["INBOX"].messages) {
    inbox.messages.push_back(
        {m.uid, "dsync-guid-" + std::to_string(m.uid), {}, 1577872800, 0, m.bytes, {}, 0});
  }
  inbox.uidNext = 5;
  source_.folders["INBOX"].messages.pop_back();
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(r.skipped, 3u);
  int commits = sink_->commits;
  int fetches = source_.fetches;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(sink_->commits, commits) << "nothing new: nothing committed";
  EXPECT_LE(source_.fetches, fetches + 1);
}

TEST_F(EngineTest, DeltaCopiesNewMailAndCarriesFlagChanges) {
  addMany("INBOX", 3, "m");
  ASSERT_TRUE(run().status.isOk());
  source_.add("INBOX", FakeSource::makeMessage("new", "<new@x>"), {"\\Seen"});
  source_.setFlags("INBOX", 2, {"\\Seen", "\\Flagged"});
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(r.flagsUpdated, 1u);
  EXPECT_EQ(contents("INBOX"),
            (std::multiset<std::string>{"m0|", "m1|\\Seen \\Flagged", "m2|", "new|\\Seen"}));
}

TEST_F(EngineTest, MergesIntoAFolderThatAlreadyHoldsMail) {
  // Mail delivered locally after the MX switch stays, and the source's mail joins it.
  sink_->folders["INBOX"].messages.push_back({1, "local-guid", {}, 0, 0, "Subject: local\r\n\r\nhi", {}, 0});
  sink_->folders["INBOX"].uidNext = 2;
  addMany("INBOX", 2, "m");
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(contents("INBOX"), (std::multiset<std::string>{"local|", "m0|", "m1|"}));
  EXPECT_FALSE(r.folders[0].uidsPreserved);
}

TEST_F(EngineTest, ASlowSourceCommitsAboutEverySecond) {
  // Batches of 500 messages or 64 MB would keep a slow source's first messages out of sight for
  // minutes (a first-login user waits for the newest INBOX mail): a batch is also committed once
  // it is a second old. Here every reading of the clock is 0.4 s later.
  addMany("INBOX", 6, "m");
  double t = 0;
  options_.nowFn = [&t] { return t += 0.4; };
  std::vector<size_t> visible;  // INBOX messages committed, at each progress event of INBOX
  MigrationReport r = runMigration(
      options_, *sink_,
      [&](const ProgressEvent& e) {
        if (e.folder == "INBOX" && e.foldersTotal == 0) {
          visible.push_back(sink_->all("INBOX").size());
        }
      },
      [this](const SourceOptions&) { return source_.connect(); });
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  ASSERT_GE(visible.size(), 2u);
  EXPECT_EQ(visible[0], 3u) << "the first commit comes after 1.2 s, not after 500 messages";
  EXPECT_EQ(visible.back(), 6u);
}

TEST_F(EngineTest, WithoutTheTimeRuleASlowFolderIsOneBatch) {
  addMany("INBOX", 6, "m");
  double t = 0;
  options_.nowFn = [&t] { return t += 0.4; };
  options_.batchSeconds = 0;
  ASSERT_TRUE(run().status.isOk());
  EXPECT_EQ(sink_->commits, 1);
  EXPECT_EQ(sink_->all("INBOX").size(), 6u);
}

TEST_F(EngineTest, DropMidLiteralReconnectsAndResumesWithoutDuplicates) {
  options_.batchMessages = 3;
  addMany("INBOX", 10, "m");
  addMany("Later", 4, "l");
  source_.dropAfterBodies = 7;  // the connection drops in the middle of the 8th message
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.reconnects, 1u);
  ASSERT_EQ(slept_.size(), 1u);
  EXPECT_EQ(r.copied, 14u);
  EXPECT_EQ(sink_->all("INBOX").size(), 10u);
  EXPECT_EQ(sink_->all("Later").size(), 4u);
  std::set<std::string> guids;
  for (auto* m : sink_->all("INBOX")) {
    guids.insert(m->guid);
  }
  EXPECT_EQ(guids.size(), 10u) << "nothing doubled by the resumed folder";
  ASSERT_FALSE(r.folders.empty());
  EXPECT_EQ(r.folders[0].destination, "INBOX");
  EXPECT_EQ(r.folders[0].copied, 10u) << "per-folder counts add up over the attempts";
}

TEST_F(EngineTest, DropsWithoutProgressEndTheRunWithAClearReason) {
  addMany("INBOX", 3, "m");
  source_.dropAfterBodies = 0;
  source_.dropsLeft = 100;
  options_.retries = 2;
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Closed);
  EXPECT_NE(r.status.hint().find("gave up after 3 attempts in a row without progress"), std::string::npos)
      << r.status.describe();
  EXPECT_EQ(r.reconnects, 2u);
  EXPECT_EQ(sink_->all("INBOX").size(), 0u);
  // Backing off: each try without progress waits longer.
  ASSERT_EQ(slept_.size(), 2u);
  EXPECT_LT(slept_[0], slept_[1]);

  // The server recovers: the next run completes.
  source_.dropsLeft = 0;
  MigrationReport r2 = run();
  ASSERT_TRUE(r2.status.isOk()) << r2.status.describe();
  EXPECT_EQ(sink_->all("INBOX").size(), 3u);
}

TEST_F(EngineTest, MessageExpungedAtTheSourceDuringTheFetchIsNotAnError) {
  addMany("INBOX", 6, "m");
  source_.expungeDuringFetch = 3;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(r.reconnects, 0u);
  EXPECT_EQ(contents("INBOX"), (std::multiset<std::string>{"m0|", "m1|", "m3|", "m4|", "m5|"}));
}

TEST_F(EngineTest, ThrottlingWaitsAsTheServerAsksAndCarriesOn) {
  addMany("INBOX", 5, "m");
  source_.throttleFetches = 1;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(r.reconnects, 1u);
  ASSERT_EQ(slept_.size(), 1u);
  EXPECT_GE(slept_[0], 4.0) << "Office 365's suggested backoff is honoured";
  EXPECT_GE(r.waitedSeconds, 4.0);
  bool reported = false;
  for (const std::string& w : r.warnings) {
    reported = reported || w.find("throttl") != std::string::npos;
  }
  EXPECT_TRUE(reported);
}

TEST_F(EngineTest, CommitWithoutStateWriteIsNotCopiedAgain) {
  // A run killed after the local commit but before the state write: simulated by putting back
  // the state file of an earlier point.
  options_.batchMessages = 2;
  addMany("INBOX", 4, "m");
  ASSERT_TRUE(run().status.isOk());
  std::string path = statePath();
  ASSERT_FALSE(path.empty());
  std::string early;
  {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    early = ss.str();
  }
  addMany("INBOX", 5, "n");
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(sink_->all("INBOX").size(), 9u);
  {
    std::ofstream out(path, std::ios::trunc);
    out << early;
  }
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(r.skipped, 5u);
  EXPECT_EQ(sink_->all("INBOX").size(), 9u);

  // And with the state file gone entirely.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  MigrationReport r2 = run();
  ASSERT_TRUE(r2.status.isOk()) << r2.status.describe();
  EXPECT_EQ(r2.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 9u);
}

TEST_F(EngineTest, CommitCutShortWithoutGuidsIsRecognisedByContent) {
  // kill -9 inside a maildir commit: files land in cur/ but their GUIDs never reach
  // dovecot-uidlist, so Dovecot later gives them UIDs and GUIDs of its own.
  addMany("INBOX", 4, "m");
  ASSERT_TRUE(run().status.isOk());
  addMany("INBOX", 3, "n");
  testing::MemoryFolder& inbox = sink_->folders["INBOX"];
  for (int i = 0; i < 2; i++) {
    const testing::FakeMessage& src = source_.folders["INBOX"].messages[static_cast<size_t>(4 + i)];
    testing::StoredMessage landed;
    landed.uid = inbox.uidNext++;
    landed.guid = "dovecot-own-guid-" + std::to_string(i);
    landed.internalDate = 1577872800;  // the fake source's INTERNALDATE, 01-Jan-2020 10:00:00 +0000
    landed.bytes = src.bytes;
    inbox.messages.push_back(landed);
  }
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(contents("INBOX"), (std::multiset<std::string>{"m0|", "m1|", "m2|", "m3|", "n0|", "n1|", "n2|"}));
}

TEST_F(EngineTest, ExactDuplicatesAtTheSourceStayTwoMessages) {
  std::string same = FakeSource::makeMessage("twin", "<twin@x>");
  source_.add("INBOX", same);
  source_.add("INBOX", same);
  source_.add("INBOX", same);
  options_.batchMessages = 1;
  ASSERT_TRUE(run().status.isOk());
  // Lose the state: the next run must recognise all three by GUID, not collapse them by content.
  ASSERT_EQ(::unlink(statePath().c_str()), 0);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 3u);
  // And with one of them missing locally, exactly that one comes back.
  sink_->folders["INBOX"].messages.erase(sink_->folders["INBOX"].messages.begin() + 1);
  ASSERT_EQ(::unlink(statePath().c_str()), 0);
  MigrationReport r2 = run();
  ASSERT_TRUE(r2.status.isOk()) << r2.status.describe();
  EXPECT_EQ(r2.copied, 1u);
  EXPECT_EQ(sink_->all("INBOX").size(), 3u);
}

TEST_F(EngineTest, AnotherSpellingOfTheHostDoesNotDuplicateOrDownloadAgain) {
  addMany("INBOX", 5, "m");
  ASSERT_TRUE(run().status.isOk());
  int bodies = source_.bodiesSent;
  options_.source.host = "192.0.2.10";  // the old server's address after the DNS switch
  options_.source.user = "ALICE@old.example";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(r.skipped, 5u);
  EXPECT_EQ(source_.bodiesSent, bodies) << "messages already here are not downloaded again";
}

TEST_F(EngineTest, DryRunThatDoesNotFitShowsThePlanAndTheShortfall) {
  addMany("INBOX", 10, "m");
  sink_->quotaLimit = 1000;
  options_.dryRun = true;
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Quota);
  EXPECT_NE(r.status.hint().find("a run would copy nothing"), std::string::npos) << r.status.hint();
  ASSERT_FALSE(r.folders.empty());
  EXPECT_EQ(r.folders[0].pending, 10u);
  EXPECT_EQ(sink_->all("INBOX").size(), 0u);
  EXPECT_TRUE(statePath().empty()) << "a dry run writes no state";
}

TEST_F(EngineTest, QuotaPrecheckRefusesWithNumbersAndCopiesNothing) {
  addMany("INBOX", 10, "m");  // about 2.5 KB
  sink_->quotaLimit = 1000;
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Quota);
  EXPECT_NE(r.status.message().find("insufficient space for alice: needs "), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("free of 1000 bytes quota"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.hint().find("raise"), std::string::npos);
  EXPECT_EQ(sink_->all("INBOX").size(), 0u);
}

TEST_F(EngineTest, QuotaHitDuringSaveKeepsWhatWasSavedAndRerunContinues) {
  options_.quotaPrecheck = false;
  options_.batchMessages = 100;
  addMany("INBOX", 10, "m");
  sink_->quotaLimit = 1300;  // room for about 5 messages
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Quota);
  EXPECT_STREQ(r.result(), "partial");
  size_t kept = sink_->all("INBOX").size();
  EXPECT_GT(kept, 0u) << "saves before the failing one are committed";
  EXPECT_LT(kept, 10u);
  EXPECT_NE(r.status.message().find("insufficient space for alice"), std::string::npos);
  EXPECT_NE(r.status.message().find("quota"), std::string::npos) << r.status.message();

  sink_->quotaLimit = 0;  // the admin raised the quota
  MigrationReport r2 = run();
  ASSERT_TRUE(r2.status.isOk()) << r2.status.describe();
  EXPECT_EQ(r2.copied, 10u - kept);
  EXPECT_EQ(sink_->all("INBOX").size(), 10u);
}

TEST_F(EngineTest, UidValidityChangeIsReportedAndMatchedByContent) {
  addMany("INBOX", 4, "m");
  ASSERT_TRUE(run().status.isOk());
  // The source rebuilt its index: new UIDVALIDITY, UIDs renumbered, and one new message.
  renumberSource("INBOX", 999, 50);
  source_.add("INBOX", FakeSource::makeMessage("after", "<after@x>"));
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(r.skipped, 4u);
  EXPECT_EQ(sink_->all("INBOX").size(), 5u);
  ASSERT_FALSE(r.warnings.empty());
  bool mentioned = false;
  for (const std::string& w : r.warnings) {
    mentioned = mentioned || w.find("UIDVALIDITY changed") != std::string::npos;
  }
  EXPECT_TRUE(mentioned);
}

TEST_F(EngineTest, WrongPasswordIsAnAuthErrorWithHints) {
  options_.source.password = "wrong";
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Auth);
  EXPECT_NE(r.status.message().find("login as 'alice@old.example' failed"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.hint().find("password"), std::string::npos);
  EXPECT_EQ(r.status.message().find("wrong"), std::string::npos) << "the password never appears in messages";
}

TEST_F(EngineTest, CourierStyleNamespaceAndSpecialUseByName) {
  source_.capabilities = "IMAP4rev1 AUTH=PLAIN SASL-IR NAMESPACE CONDSTORE";
  source_.namespacePrefix = "INBOX.";
  source_.delimiter = '.';
  source_.folder("Sent Items");
  source_.folder("Sent Items/2019");
  source_.folder("Clients/ACME");
  source_.add("Sent Items", FakeSource::makeMessage("s", "<s@x>"));
  source_.add("Sent Items/2019", FakeSource::makeMessage("old", "<o@x>"));
  source_.add("Clients/ACME", FakeSource::makeMessage("c", "<c@x>"));
  // The local server's \Sent folder has another name and does not exist yet.
  testing::MemoryFolder sent;
  sent.specialUse = kSpecialSent;
  sink_->folders["Sent Messages"] = sent;

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(contents("Sent Messages"), (std::multiset<std::string>{"s|"}));
  EXPECT_EQ(contents("Sent Messages/2019"), (std::multiset<std::string>{"old|"}));
  EXPECT_EQ(contents("Clients/ACME"), (std::multiset<std::string>{"c|"}));
}

}  // namespace
}  // namespace migrate
