// The Sieve step's storing side (engine/sieve_copy.h) against the in-memory Sieve storage: all
// scripts stored first, the active one activated last and only when it compiles, the customer's
// own scripts here never replaced, re-runs idempotent, dry runs write nothing.

#include "engine/sieve_copy.h"

#include "engine_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fakes/fake_imap_server.h"
#include "fakes/memory_sieve.h"
#include "fakes/memory_sink.h"

namespace migrate {
namespace {

FolderPlan plan() {
  PlanInput in;
  in.personal.prefix = "INBOX.";
  in.personal.delimiter = '.';
  for (const char* raw : {"INBOX", "INBOX.Work", "INBOX.Lists"}) {
    imap::ListEntry e;
    e.rawName = raw;
    e.delimiter = '.';
    in.entries.push_back(e);
  }
  return buildPlan(in);
}

const std::string kFilters =
    "require \"fileinto\";\nif header :is \"x-list\" \"a\" { fileinto \"INBOX.Lists\"; }\n";
const std::string kBroken = "require \"fileinto\";\nfrobnicate;\nfileinto \"INBOX.Work\";\n";

class SieveCopyTest : public ::testing::Test {
 protected:
  Status run(const std::vector<SourceScript>& scripts, bool dryRun = false) {
    report = SieveReport();
    testing::MemorySieveStorage storage(sieve);
    return storeSieveScripts(scripts, plan(), storage, dryRun, report);
  }
  testing::MemorySieve sieve;
  SieveReport report;
};

TEST_F(SieveCopyTest, StoresAllRewrittenAndActivatesTheActiveOne) {
  ASSERT_TRUE(run({{"filters", true, kFilters}, {"broken", false, kBroken}}).isOk());
  ASSERT_EQ(sieve.scripts.size(), 2u);
  EXPECT_EQ(sieve.scripts["filters"],
            "require \"fileinto\";\nif header :is \"x-list\" \"a\" { fileinto \"Lists\"; }\n");
  EXPECT_EQ(sieve.scripts["broken"], "require \"fileinto\";\nfrobnicate;\nfileinto \"Work\";\n");
  EXPECT_EQ(sieve.active, "filters");
  ASSERT_EQ(report.scripts.size(), 2u);
  EXPECT_EQ(report.scripts[0].result, "stored");
  EXPECT_TRUE(report.scripts[0].activated);
  EXPECT_EQ(report.scripts[0].mapped,
            (std::vector<std::string>{"line 2: fileinto 'INBOX.Lists' -> 'Lists'"}));
  EXPECT_EQ(report.scripts[1].result, "stored inactive");
  EXPECT_EQ(report.scripts[1].detail, "broken: line 2: error: unknown command 'frobnicate'.");
  EXPECT_EQ(report.activation, "'filters' activated");
}

TEST_F(SieveCopyTest, AnActiveScriptThatDoesNotCompileStaysInactive) {
  ASSERT_TRUE(run({{"broken", true, kBroken}}).isOk());
  EXPECT_EQ(sieve.scripts.count("broken"), 1u) << "stored anyway, for the admin to fix";
  EXPECT_EQ(sieve.active, "");
  EXPECT_NE(report.activation.find("not activated: it does not compile here: broken: line 2"),
            std::string::npos)
      << report.activation;
  EXPECT_FALSE(report.scripts[0].activated);
}

TEST_F(SieveCopyTest, TheCustomersOwnScriptsHereAreKept) {
  sieve.scripts["filters"] = "keep;\n";
  sieve.active = "filters";
  ASSERT_TRUE(
      run({{"filters", true, kFilters}, {"main", false, "require \"include\";\ninclude \"filters\";\n"}})
          .isOk());
  EXPECT_EQ(sieve.scripts["filters"], "keep;\n");
  EXPECT_EQ(sieve.active, "filters");
  EXPECT_EQ(sieve.scripts.count("filters-migrated"), 1u);
  EXPECT_EQ(sieve.scripts["main"], "require \"include\";\ninclude \"filters-migrated\";\n")
      << "the include follows the renamed script";
  EXPECT_NE(
      report.scripts[0].detail.find("stored as 'filters-migrated': a different script 'filters' is here"),
      std::string::npos)
      << report.scripts[0].detail;
  EXPECT_NE(report.activation.find("not activated: 'filters' is active here"), std::string::npos)
      << report.activation;
}

TEST_F(SieveCopyTest, TheActiveScriptHereIsNeverReplaced) {
  sieve.scripts["filters"] = "keep;\n";
  sieve.scripts["filters-migrated"] = "keep;\n";
  sieve.active = "filters-migrated";  // the admin activated the old server's copy by hand
  ASSERT_TRUE(run({{"filters", false, kFilters}}).isOk());
  EXPECT_EQ(sieve.scripts["filters-migrated"], "keep;\n");
  EXPECT_EQ(report.scripts[0].result, "skipped");
  EXPECT_NE(report.scripts[0].detail.find("is the active script here and differs: not replaced"),
            std::string::npos)
      << report.scripts[0].detail;
}

TEST_F(SieveCopyTest, ASecondRunChangesNothing) {
  ASSERT_TRUE(run({{"filters", true, kFilters}, {"broken", false, kBroken}}).isOk());
  int saves = sieve.saves;
  ASSERT_TRUE(run({{"filters", true, kFilters}, {"broken", false, kBroken}}).isOk());
  EXPECT_EQ(sieve.saves, saves);
  EXPECT_EQ(sieve.scripts.size(), 2u);
  EXPECT_EQ(report.scripts[0].result, "unchanged");
  EXPECT_EQ(report.scripts[1].result, "unchanged");
  EXPECT_EQ(report.activation, "'filters' is active here already");
  EXPECT_EQ(report.summary(), "2 unchanged");
}

TEST_F(SieveCopyTest, DryRunWritesNothing) {
  ASSERT_TRUE(run({{"filters", true, kFilters}}, true).isOk());
  EXPECT_TRUE(sieve.scripts.empty());
  EXPECT_EQ(report.scripts[0].result, "would store");
  EXPECT_EQ(report.activation, "'filters' would be activated");
}

TEST_F(SieveCopyTest, InvalidNamesAndUnmappedFoldersAreReported) {
  ASSERT_TRUE(run({{"a/b", false,
                    "require [\"fileinto\",\"variables\"];\nfileinto \"INBOX.${x}\";\n"
                    "fileinto \"INBOX.Gone\";\n"}})
                  .isOk());
  EXPECT_EQ(sieve.scripts.count("a_b"), 1u);
  ASSERT_EQ(report.scripts[0].unmapped.size(), 2u);
  EXPECT_EQ(report.scripts[0].unmapped[0],
            "line 2: fileinto 'INBOX.${x}': built from variables: known only at delivery, left as it is");
  EXPECT_EQ(report.scripts[0].unmapped[1],
            "line 3: fileinto 'INBOX.Gone': not among the migrated folders, left as it is");
  EXPECT_EQ(report.summary(), "1 stored, 2 folder names unmapped");
}

// The whole step against a scripted ManageSieve server (answering as Dovecot's managesieve).
class SieveStepTest : public ::testing::Test {
 protected:
  SieveReport step(bool autoMode = true, Status connectError = Status::ok()) {
    server_ = std::make_unique<testing::FakeImapServer>(
        "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SASL\" \"PLAIN\"\r\nOK \"ready\"\r\n",
        [this](const std::string& cmd, const std::string& args) { return answer(cmd, args); });
    plan_ = plan();
    SieveStepEnv env;
    env.sink = &sink;
    env.plan = &plan_;
    env.autoMode = autoMode;
    env.where = "sieve.old.example:4190";
    env.connect = [&]() -> Result<std::unique_ptr<sieve::Session>> {
      connects++;
      if (!connectError.isOk()) {
        return connectError;
      }
      auto s = std::make_unique<sieve::Session>(server_->clientTransport(),
                                                sieve::SessionOptions{"sieve.old.example:4190", 5000});
      MIGRATE_RETURN_IF_ERROR(s->readGreeting());
      MIGRATE_RETURN_IF_ERROR(s->login("alice", "pw"));
      return s;
    };
    return copySieveScripts(env);
  }

  std::string answer(const std::string& cmd, const std::string& args) {
    if (cmd == "AUTHENTICATE" || cmd == "LOGOUT") {
      return "OK \"done\"\r\n";
    }
    if (cmd == "LISTSCRIPTS" && noScripts) {
      return "OK \"Listscripts completed.\"\r\n";
    }
    if (cmd == "LISTSCRIPTS") {
      return "\"filters\" ACTIVE\r\n\"broken\"\r\nOK \"Listscripts completed.\"\r\n";
    }
    if (cmd == "GETSCRIPT" && !failGet) {
      const std::string& text = args == "\"filters\"" ? kFilters : kBroken;
      return "{" + std::to_string(text.size()) + "}\r\n" + text + "\r\nOK \"Getscript completed.\"\r\n";
    }
    return "NO (TRYLATER) \"Try again later.\"\r\n";
  }

  testing::MemorySink sink{"/tmp"};
  FolderPlan plan_;
  int connects = 0;
  bool failGet = false;
  bool noScripts = false;
  std::unique_ptr<testing::FakeImapServer> server_;
};

TEST_F(SieveStepTest, CopiesEveryScriptAndTheActiveOne) {
  SieveReport r = step();
  EXPECT_EQ(r.result, "copied") << r.reason;
  EXPECT_EQ(sink.sieve.scripts.size(), 2u);
  EXPECT_EQ(sink.sieve.active, "filters");
  EXPECT_EQ(r.summary(), "1 stored, 1 stored inactive");
  std::vector<std::string> warnings, notes;
  describeSieveReport(r, warnings, notes);
  EXPECT_EQ(
      warnings,
      (std::vector<std::string>{
          "Sieve script 'broken': stored inactive (broken: line 2: error: unknown command 'frobnicate'.)"}));
  EXPECT_EQ(notes.back(), "Sieve: 'filters' activated");
}

TEST_F(SieveStepTest, NoScriptsAtTheSourceLeaveNoTraceHere) {
  noScripts = true;
  SieveReport r = step();
  EXPECT_EQ(r.summary(), "no scripts");
  EXPECT_EQ(sink.sieve.opens, 0) << "opening Pigeonhole's storage creates ~/sieve";
}

TEST_F(SieveStepTest, NoPigeonholeHereMeansSkippedWithoutConnecting) {
  sink.sieve.unavailable = "Pigeonhole not installed here";
  SieveReport r = step();
  EXPECT_EQ(r.summary(), "skipped: Pigeonhole not installed here");
  EXPECT_EQ(connects, 0);
}

TEST_F(SieveStepTest, ARefusedConnectionIsSkippedInAutoModeOnly) {
  Status refused(ErrorKind::Connect, "connection refused");
  EXPECT_EQ(step(true, refused).summary(),
            "skipped: no ManageSieve at sieve.old.example:4190: connection refused");
  EXPECT_EQ(step(false, refused).summary(),
            "failed: ManageSieve at sieve.old.example:4190: connection refused");
  Status oauth(ErrorKind::Config, "a ManageSieve login with an OAuth2 token is not supported");
  EXPECT_EQ(step(true, oauth).summary(),
            "skipped: a ManageSieve login with an OAuth2 token is not supported");
  EXPECT_EQ(step(false, oauth).summary(),
            "failed: ManageSieve at sieve.old.example:4190: a ManageSieve login with an OAuth2 token is not "
            "supported");
}

TEST_F(SieveStepTest, AServerThatFailsMidwayStoresNothing) {
  failGet = true;
  SieveReport r = step();
  EXPECT_EQ(r.result, "failed");
  EXPECT_NE(r.reason.find("Try again later"), std::string::npos) << r.reason;
  EXPECT_TRUE(sink.sieve.scripts.empty());
}

// The step in a whole run: after the mail, through the run's plan, with --source-sieve.
class SieveRunTest : public EngineFixture {
 protected:
  void serveSieve(const std::string& script) {
    server_ = std::make_unique<testing::FakeImapServer>(
        "\"SASL\" \"PLAIN\"\r\nOK \"ready\"\r\n", [script](const std::string& cmd, const std::string&) {
          if (cmd == "LISTSCRIPTS") {
            return std::string("\"main\" ACTIVE\r\nOK \"done\"\r\n");
          }
          if (cmd == "GETSCRIPT") {
            return "{" + std::to_string(script.size()) + "}\r\n" + script + "\r\nOK \"done\"\r\n";
          }
          return std::string("OK \"done\"\r\n");
        });
    sieveServer_ = [this]() -> Result<std::unique_ptr<net::Transport>> { return server_->clientTransport(); };
  }
  std::unique_ptr<testing::FakeImapServer> server_;
};

TEST_F(SieveRunTest, ScriptsFollowTheMailsFolders) {
  source_.folder("Spam", {"\\Junk"});
  source_.add("Spam", testing::FakeSource::makeMessage("s", "<s@x>"), {});
  sink_->folders["Junk"].specialUse = kSpecialJunk;
  sink_->folders["Junk"].exists = true;
  serveSieve("require \"fileinto\";\nfileinto \"Spam\";\n");
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.sieve.summary(), "1 stored");
  EXPECT_EQ(sink_->sieve.scripts["main"], "require \"fileinto\";\nfileinto \"Junk\";\n");
  EXPECT_EQ(sink_->sieve.active, "main");
}

TEST_F(SieveRunTest, NoMeansNoConnectionAndNoColumn) {
  options_.source.sieve.mode = ServiceChoice::Mode::No;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.sieve.summary(), "");
  for (const std::string& w : r.warnings) {
    EXPECT_EQ(w.find("Sieve"), std::string::npos) << w;
  }
}

TEST_F(SieveRunTest, AutoWithoutManageSieveIsSkipped) {
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.sieve.summary(),
            "skipped: no ManageSieve at imap.old.example:4190 (no TLS): connection refused by "
            "imap.old.example:4190");
}

}  // namespace
}  // namespace migrate
