// The engine with folder exclusions, message filters, presets (Gmail's labels and All Mail,
// Office 365's folders), INBOX first, and the retry of messages sent without content: what lands
// where, what is counted as skipped, and that a later run without the filter copies exactly
// what was skipped.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "engine/migrator.h"
#include "engine/state.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"
#include "options/filter_values.h"
#include "unit/engine_fixture.h"

namespace migrate {
namespace {

using testing::FakeSource;
using testing::MemorySink;

class FilterTest : public EngineFixture {
 protected:
  void add(const std::string& folder, const std::string& subject, size_t size = 200,
           const std::string& date = "01-Jan-2020 10:00:00 +0000") {
    source_.add(folder, FakeSource::makeMessage(subject, "<" + subject + "@x>", size), {}, date);
  }

  uint32_t reason(const MigrationReport& r, const std::string& key) const {
    auto it = r.skippedByReason.find(key);
    return it == r.skippedByReason.end() ? 0 : it->second;
  }

  AccountState state() const {
    Result<AccountState> s = StateStore::peek(dir_, options_.source.host, options_.source.user);
    EXPECT_TRUE(s.isOk()) << s.status().describe();
    return s.isOk() ? s.value() : AccountState();
  }
};

TEST_F(FilterTest, ExcludedFoldersAreLeftOutListedAndCounted) {
  source_.folder("Trash", {"\\Trash"});
  source_.folder("Work");
  source_.folder("Work/Old");
  add("INBOX", "in1");
  add("INBOX", "in2");
  add("Trash", "t1");
  add("Trash", "t2");
  add("Trash", "t3");
  add("Work", "w1");
  add("Work/Old", "o1");
  add("Work/Old", "o2");
  options_.source.filter.exclude = {"\\Trash", "Work/*"};

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 3u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"in1", "in2"}));
  EXPECT_EQ(subjects("Work"), (std::multiset<std::string>{"w1"}));
  EXPECT_EQ(sink_->folders.count("Trash"), 0u);
  EXPECT_EQ(sink_->folders.count("Work/Old"), 0u);
  EXPECT_EQ(reason(r, "excluded"), 5u);
  EXPECT_EQ(r.excludedFolders,
            (std::vector<std::string>{"Trash: --exclude \\Trash", "Work/Old: --exclude Work/*"}));
  EXPECT_EQ(r.folders.size(), 2u) << "excluded folders are not in the folder list";

  // Later without the exclusion: the folders come, nothing else is copied again.
  options_.source.filter.exclude.clear();
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(subjects("Trash"), (std::multiset<std::string>{"t1", "t2", "t3"}));
  EXPECT_EQ(subjects("Work/Old"), (std::multiset<std::string>{"o1", "o2"}));
  EXPECT_EQ(sink_->all("INBOX").size(), 2u);
}

TEST_F(FilterTest, IncludeTakesOnlyTheFoldersNamed) {
  source_.folder("Work");
  source_.folder("Work/Old");
  source_.folder("Private");
  add("INBOX", "in1");
  add("Work", "w1");
  add("Work/Old", "o1");
  add("Private", "p1");
  options_.source.filter.include = {"inbox", "Work"};

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"in1"})) << "INBOX matches in any case";
  EXPECT_EQ(subjects("Work"), (std::multiset<std::string>{"w1"}));
  EXPECT_EQ(sink_->folders.count("Private"), 0u);
  EXPECT_EQ(sink_->folders.count("Work/Old"), 0u);
  EXPECT_EQ(reason(r, "excluded"), 2u);
  std::vector<std::string> ex = r.excludedFolders;
  std::sort(ex.begin(), ex.end());
  EXPECT_EQ(ex, (std::vector<std::string>{"Private: not in --include", "Work/Old: not in --include"}));

  // --exclude applies after --include.
  options_.source.filter.include = {"*"};
  options_.source.filter.exclude = {"Private"};
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Work/Old"), (std::multiset<std::string>{"o1"}));
  EXPECT_EQ(sink_->folders.count("Private"), 0u);
}

TEST_F(FilterTest, MaxSizeSkipsLargeMessagesAndARunWithoutItCopiesThemOnce) {
  add("INBOX", "small1", 300);
  add("INBOX", "big1", 5000);
  add("INBOX", "small2", 300);
  add("INBOX", "big2", 6000);
  add("INBOX", "small3", 300);
  options_.source.filter.maxSize = 1024;

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 3u);
  EXPECT_EQ(reason(r, "too_large"), 2u);
  EXPECT_EQ(r.folders[0].skippedByReason.at("too_large"), 2u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"small1", "small2", "small3"}));
  EXPECT_EQ(source_.bodiesSent, 3) << "skipped messages are not downloaded";
  EXPECT_EQ(state().folders.at("INBOX").lastUid, 5u);
  EXPECT_EQ(state().folders.at("INBOX").rules.maxSize, 1024u);

  // Again with the same filter: nothing new, nothing fetched.
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(source_.bodiesSent, 3);

  // Without the filter: exactly the two skipped ones.
  options_.source.filter.maxSize = 0;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(source_.bodiesSent, 5);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"small1", "small2", "small3", "big1", "big2"}));
  EXPECT_FALSE(state().folders.at("INBOX").rules.any());

  // And then nothing more.
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 5u);
}

TEST_F(FilterTest, DateWindowAndWideningItStepByStep) {
  add("INBOX", "y2019", 200, "15-Mar-2019 10:00:00 +0000");
  add("INBOX", "y2021", 200, "15-Mar-2021 10:00:00 +0000");
  add("INBOX", "y2023", 200, "15-Mar-2023 10:00:00 +0000");
  options_.source.filter.since = parseFilterDate("2020-01-01", "--since", 0).value();
  options_.source.filter.before = parseFilterDate("2022-06-01", "--before", 0).value();

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"y2021"}));
  EXPECT_EQ(reason(r, "date"), 2u);

  options_.source.filter.before = 0;  // later mail too
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(reason(r, "date"), 1u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"y2021", "y2023"}));

  options_.source.filter.since = 0;  // everything
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"y2019", "y2021", "y2023"}));
}

TEST_F(FilterTest, ANarrowerFilterLaterCopiesNothingAgainAndLosesNothing) {
  add("INBOX", "a", 300);
  add("INBOX", "b", 5000);
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(sink_->all("INBOX").size(), 2u);

  // A size cap after everything was copied: no rescan, nothing downloaded.
  options_.source.filter.maxSize = 1024;
  int bodies = source_.bodiesSent;
  add("INBOX", "c-big", 7000);
  add("INBOX", "d", 300);
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(reason(r, "too_large"), 1u);
  EXPECT_EQ(source_.bodiesSent, bodies + 1);

  // Without the cap: only c-big, although "b" (copied by the first run) is as large.
  options_.source.filter.maxSize = 0;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 1u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"a", "b", "c-big", "d"}));
}

TEST_F(FilterTest, AMessageDeletedHereAfterCopyingIsNotBroughtBackByARescan) {
  add("INBOX", "keep", 300);
  add("INBOX", "deleted-by-user", 300);
  add("INBOX", "big", 5000);
  options_.source.filter.maxSize = 1024;
  ASSERT_TRUE(run().status.isOk());
  auto& msgs = sink_->folders["INBOX"].messages;
  msgs.erase(std::remove_if(msgs.begin(), msgs.end(),
                            [](const testing::StoredMessage& m) {
                              return m.bytes.find("deleted-by-user") != std::string::npos;
                            }),
             msgs.end());
  options_.source.filter.maxSize = 0;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"keep", "big"}));
}

TEST_F(FilterTest, DryRunCountsWhatTheFiltersWouldSkip) {
  add("INBOX", "small", 300);
  add("INBOX", "big", 5000);
  options_.source.filter.maxSize = 1024;
  options_.dryRun = true;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.folders[0].pending, 1u);
  EXPECT_EQ(reason(r, "too_large"), 1u);
  EXPECT_EQ(sink_->saves, 0);
}

TEST_F(FilterTest, FilteredRunResumesAfterADropWithoutDuplicatesOrDoubleCounts) {
  for (int i = 0; i < 10; i++) {
    add("INBOX", "m" + std::to_string(i), i % 2 == 0 ? 300 : 5000);
  }
  options_.source.filter.maxSize = 1024;
  options_.batchMessages = 2;
  source_.dropAfterBodies = 3;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_GE(r.reconnects, 1u);
  EXPECT_EQ(r.copied, 5u);
  EXPECT_EQ(reason(r, "too_large"), 5u);
  EXPECT_EQ(sink_->all("INBOX").size(), 5u);
}

TEST_F(FilterTest, ARescanCutShortByADropResumesAndCopiesEachSkippedMessageOnce) {
  for (int i = 0; i < 12; i++) {
    add("INBOX", "m" + std::to_string(i), i % 3 == 0 ? 300 : 5000);
  }
  options_.source.filter.maxSize = 1024;
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(sink_->all("INBOX").size(), 4u);

  // Without the cap, and the connection drops twice in the middle of the rescan.
  options_.source.filter.maxSize = 0;
  options_.batchMessages = 2;
  source_.dropAfterBodies = source_.bodiesSent + 3;
  source_.dropsLeft = 2;
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_GE(r.reconnects, 1u);
  EXPECT_EQ(sink_->all("INBOX").size(), 12u);
  std::multiset<std::string> want;
  for (int i = 0; i < 12; i++) {
    want.insert("m" + std::to_string(i));
  }
  EXPECT_EQ(subjects("INBOX"), want);
  EXPECT_FALSE(state().folders.at("INBOX").rules.any());
}

TEST_F(FilterTest, InboxIsCopiedBeforeEveryOtherFolder) {
  for (const char* name : {"0-first-by-name", "Archive", "Drafts", "AAA/Sub"}) {
    source_.folder(name);
    add(name, std::string("in-") + name);
  }
  for (int i = 0; i < 5; i++) {
    add("INBOX", "inbox" + std::to_string(i));
  }
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  ASSERT_EQ(sink_->saveOrder.size(), 9u);
  for (size_t i = 0; i < 5; i++) {
    EXPECT_EQ(sink_->saveOrder[i], "INBOX") << i;
  }
  EXPECT_EQ(r.folders.front().destination, "INBOX");

  // Also on the next run, with new mail everywhere.
  sink_->saveOrder.clear();
  add("Archive", "later");
  add("INBOX", "new");
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(sink_->saveOrder.size(), 2u);
  EXPECT_EQ(sink_->saveOrder[0], "INBOX");
}

TEST_F(FilterTest, AMessageSentWithoutContentIsFetchedAgainByTheNextRun) {
  add("INBOX", "ok1");
  add("INBOX", "broken");
  add("INBOX", "ok2");
  source_.folders["INBOX"].messages[1].noBody = true;

  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(state().folders.at("INBOX").retryUids, (std::set<uint32_t>{2}));
  EXPECT_EQ(state().folders.at("INBOX").lastUid, 3u);

  // Still broken: failed again, still on the list.
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(state().folders.at("INBOX").retryUids, (std::set<uint32_t>{2}));

  // The server can read it now.
  source_.folders["INBOX"].messages[1].noBody = false;
  add("INBOX", "new");
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_TRUE(state().folders.at("INBOX").retryUids.empty());
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"ok1", "broken", "ok2", "new"}));

  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(sink_->all("INBOX").size(), 4u);
}

TEST_F(FilterTest, ARetriedMessageThatLeftTheSourceLeavesTheList) {
  add("INBOX", "ok1");
  add("INBOX", "broken");
  source_.folders["INBOX"].messages[1].noBody = true;
  ASSERT_TRUE(run().status.isOk());
  ASSERT_EQ(state().folders.at("INBOX").retryUids.size(), 1u);
  source_.folders["INBOX"].messages.pop_back();  // expunged at the source
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.failed, 0u);
  EXPECT_TRUE(state().folders.at("INBOX").retryUids.empty());
}

class GmailTest : public FilterTest {
 protected:
  void SetUp() override {
    FilterTest::SetUp();
    source_.makeGmail();
    source_.folder("Work");
    source_.folder("Personal");
    gm("inbox-only", {"\\Inbox"});
    gm("work-only", {"Work"});
    gm("archived", {});
    gm("inbox-important-starred", {"\\Inbox", "\\Important", "\\Starred"}, {"\\Flagged"});
    gm("sent", {"\\Sent"});
    gm("binned", {"\\Trash"});
    gm("two-labels", {"Work", "Personal"});
    gm("archived-important", {"\\Important"});
  }
  void gm(const std::string& subject, const std::vector<std::string>& labels,
          std::vector<std::string> flags = {}) {
    source_.addGmail(FakeSource::makeMessage(subject, "<" + subject + "@gmail>"), labels, std::move(flags));
  }
};

TEST_F(GmailTest, LabelsBecomeFoldersViewsAreLeftOutAndAllMailGivesOnlyArchivedMail) {
  options_.source.presetName = "gmail";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"inbox-only", "inbox-important-starred"}));
  EXPECT_EQ(subjects("Work"), (std::multiset<std::string>{"work-only", "two-labels"}));
  EXPECT_EQ(subjects("Personal"), (std::multiset<std::string>{"two-labels"}));
  EXPECT_EQ(subjects("Sent"), (std::multiset<std::string>{"sent"}));
  EXPECT_EQ(subjects("Trash"), (std::multiset<std::string>{"binned"}));
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"archived", "archived-important"}));
  for (const char* gone : {"[Gmail]/All Mail", "[Gmail]/Important", "[Gmail]/Starred", "[Gmail]/Sent Mail"}) {
    EXPECT_EQ(sink_->folders.count(gone), 0u) << gone;
  }
  // All Mail holds 7 (not the binned one): 5 carry a copied label.
  EXPECT_EQ(reason(r, "duplicate"), 5u);
  // The views: Important holds 2, Starred 1.
  EXPECT_EQ(reason(r, "excluded"), 3u);
  EXPECT_EQ(r.excludedFolders.size(), 2u);
  for (const std::string& e : r.excludedFolders) {
    EXPECT_NE(e.find("Gmail view"), std::string::npos) << e;
  }
  // The star is kept as \Flagged on the message in INBOX.
  bool flagged = false;
  for (const testing::StoredMessage* m : sink_->all("INBOX")) {
    flagged =
        flagged || (m->bytes.find("starred") != std::string::npos && formatFlags(m->flags) == "\\Flagged");
  }
  EXPECT_TRUE(flagged);

  int bodies = source_.bodiesSent;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 0u);
  EXPECT_EQ(source_.bodiesSent, bodies);

  // A new archived message and a new labelled one.
  gm("archived-later", {});
  gm("work-later", {"Work"});
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(r.copied, 2u);
  EXPECT_EQ(subjects("Archive").count("archived-later"), 1u);
  EXPECT_EQ(subjects("Work").count("work-later"), 1u);
}

TEST_F(GmailTest, ANonAsciiLabelIsRecognisedInAllMail) {
  source_.folder("&AMk-t&AOk-");  // "Été" in modified UTF-7, as Gmail lists and labels it
  gm("summer", {"&AMk-t&AOk-"});
  options_.source.presetName = "gmail";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Été"), (std::multiset<std::string>{"summer"}));
  EXPECT_EQ(subjects("Archive").count("summer"), 0u);
  EXPECT_EQ(reason(r, "duplicate"), 6u);
}

TEST_F(GmailTest, ALocalArchiveFolderReceivesAllMailsArchivedMessages) {
  testing::MemoryFolder archive;
  archive.specialUse = kSpecialArchive;
  sink_->folders["Archiv"] = archive;
  options_.source.presetName = "gmail";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Archiv"), (std::multiset<std::string>{"archived", "archived-important"}));
  EXPECT_EQ(sink_->folders.count("Archive"), 0u);
}

TEST_F(GmailTest, AGmailServerGetsTheGmailRulesWithoutAPreset) {
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"archived", "archived-important"}));
  EXPECT_EQ(reason(r, "duplicate"), 5u);
  bool warned = false;
  for (const std::string& w : r.warnings) {
    warned = warned || w.find("X-GM-EXT-1") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

TEST_F(GmailTest, PresetGenericCopiesEveryFolderAsItIs) {
  options_.source.presetName = "generic";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(sink_->all("[Gmail]/All Mail").size(), 7u);
  EXPECT_EQ(sink_->all("[Gmail]/Important").size(), 2u);
  EXPECT_EQ(reason(r, "duplicate"), 0u);
}

TEST_F(GmailTest, ExcludingALabelKeepsItsMailInTheArchive) {
  options_.source.presetName = "gmail";
  options_.source.filter.exclude = {"Personal"};
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(sink_->folders.count("Personal"), 0u);
  // "two-labels" is also in Work: a duplicate there; nothing only in Personal is lost.
  EXPECT_EQ(subjects("Archive"), (std::multiset<std::string>{"archived", "archived-important"}));

  // Without Work and Personal, their messages come from All Mail into the archive.
  options_.source.filter.exclude = {"Personal", "Work"};
  sink_ = std::make_unique<MemorySink>(dir_);
  ASSERT_EQ(std::system(("rm -f '" + dir_ + "'/*.state").c_str()), 0);
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Archive"),
            (std::multiset<std::string>{"archived", "archived-important", "work-only", "two-labels"}));
}

TEST_F(FilterTest, Office365FoldersMapAndItsNonMailFoldersAreLeftOut) {
  source_.folder("Sent Items");
  source_.folder("Deleted Items");
  source_.folder("Junk Email");
  source_.folder("Calendar");
  source_.folder("Calendar/Birthdays");
  source_.folder("Contacts");
  source_.folder("Projects");
  add("Sent Items", "s");
  add("Deleted Items", "d");
  add("Junk Email", "j");
  add("Calendar", "cal");
  add("Projects", "p");
  options_.source.presetName = "office365";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Sent"), (std::multiset<std::string>{"s"}));
  EXPECT_EQ(subjects("Trash"), (std::multiset<std::string>{"d"}));
  EXPECT_EQ(subjects("Junk"), (std::multiset<std::string>{"j"}));
  EXPECT_EQ(subjects("Projects"), (std::multiset<std::string>{"p"}));
  for (const char* gone : {"Calendar", "Calendar/Birthdays", "Contacts", "Sent Items"}) {
    EXPECT_EQ(sink_->folders.count(gone), 0u) << gone;
  }
  EXPECT_EQ(r.excludedFolders.size(), 3u);
  EXPECT_EQ(reason(r, "excluded"), 1u);
}

TEST_F(FilterTest, Office365FoldersGoIntoTheLocalSpecialUseFolders) {
  source_.folder("Sent Items");
  add("Sent Items", "s");
  testing::MemoryFolder sent;
  sent.specialUse = kSpecialSent;
  sink_->folders["Odeslané"] = sent;
  options_.source.presetName = "office365";
  ASSERT_TRUE(run().status.isOk());
  EXPECT_EQ(subjects("Odeslané"), (std::multiset<std::string>{"s"}));
  EXPECT_EQ(sink_->folders.count("Sent"), 0u);
}

TEST_F(FilterTest, AdminPresetWithItsOwnMappingExclusionsAndSizeCap) {
  source_.folder("Gesendet");
  source_.folder("Alt");
  source_.folder("Shared Stuff");
  add("Gesendet", "g");
  add("Alt", "a");
  add("Shared Stuff", "x");
  add("INBOX", "big", 5000);
  add("INBOX", "small", 300);
  options_.source.adminPresets["oldisp"] = {
      {"exclude", "Shared*"}, {"folder_map", "Gesendet=\\Sent, Alt=Archive/Alt"}, {"max_size", "1K"}};
  options_.source.presetName = "oldisp";
  MigrationReport r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("Sent"), (std::multiset<std::string>{"g"}));
  EXPECT_EQ(subjects("Archive/Alt"), (std::multiset<std::string>{"a"}));
  EXPECT_EQ(sink_->folders.count("Shared Stuff"), 0u);
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"small"}));
  EXPECT_EQ(reason(r, "too_large"), 1u);
  EXPECT_EQ(r.excludedFolders, (std::vector<std::string>{"Shared Stuff: excluded by preset oldisp"}));

  // The admin's own --max-size wins over the preset's cap.
  options_.source.filter.maxSize = 2048 * 1024;
  r = run();
  ASSERT_TRUE(r.status.isOk()) << r.status.describe();
  EXPECT_EQ(subjects("INBOX"), (std::multiset<std::string>{"small", "big"}));
}

TEST_F(FilterTest, AnUnknownPresetStopsBeforeConnecting) {
  options_.source.presetName = "yahoo";
  MigrationReport r = run();
  ASSERT_FALSE(r.status.isOk());
  EXPECT_EQ(r.status.kind(), ErrorKind::Config);
  EXPECT_NE(r.status.message().find("unknown preset 'yahoo'"), std::string::npos);
  EXPECT_EQ(source_.examines, 0);
}

}  // namespace
}  // namespace migrate
