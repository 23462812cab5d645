// Folder mapping: namespaces, separators, mUTF-7, special-use, collisions.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine/plan.h"

namespace migrate {
namespace {

imap::ListEntry entry(const std::string& raw, char delim, std::vector<std::string> attrs = {}) {
  imap::ListEntry e;
  e.rawName = raw;
  e.delimiter = delim;
  e.attributes = std::move(attrs);
  return e;
}

std::map<std::string, std::string> mapping(const FolderPlan& p) {
  std::map<std::string, std::string> m;
  for (const PlannedFolder& f : p.folders) {
    m[f.rawName] = f.destName;
  }
  return m;
}

TEST(Plan, SlashSourceKeepsNamesAndDecodesModifiedUtf7) {
  PlanInput in;
  in.entries = {entry("INBOX", '/'), entry("Entw&APw-rfe", '/'), entry("&ZeVnLIqe-/Sub", '/'),
                entry("A &- B", '/'), entry("L1/L2/L3/L4/L5", '/')};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_EQ(m["Entw&APw-rfe"], "Entwürfe");
  EXPECT_EQ(m["&ZeVnLIqe-/Sub"], "日本語/Sub");
  EXPECT_EQ(m["A &- B"], "A & B");
  EXPECT_EQ(m["L1/L2/L3/L4/L5"], "L1/L2/L3/L4/L5");
  ASSERT_FALSE(p.folders.empty());
  EXPECT_TRUE(p.folders[0].isInbox) << "INBOX goes first";
}

TEST(Plan, CourierPrefixIsStrippedAndSeparatorTranslated) {
  PlanInput in;
  in.personal.prefix = "INBOX.";
  in.personal.delimiter = '.';
  in.entries = {entry("INBOX", '.'), entry("INBOX.Work", '.'), entry("INBOX.Work.2024", '.'),
                entry("INBOX.a/b", '.'), entry("INBOX.Entw&APw-rfe", '.')};
  auto m = mapping(buildPlan(in));
  EXPECT_EQ(m["INBOX"], "INBOX");
  EXPECT_EQ(m["INBOX.Work"], "Work");
  EXPECT_EQ(m["INBOX.Work.2024"], "Work/2024");
  EXPECT_EQ(m["INBOX.a/b"], "a_b") << "the destination separator inside a name becomes '_'";
  EXPECT_EQ(m["INBOX.Entw&APw-rfe"], "Entwürfe");
}

TEST(Plan, SeparatorReplacementNeverMergesSilently) {
  PlanInput in;
  in.personal.prefix = "INBOX.";
  in.entries = {entry("INBOX.a/b", '.'), entry("INBOX.a_b", '.')};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_NE(m["INBOX.a/b"], m["INBOX.a_b"]);
  EXPECT_EQ(m["INBOX.a_b"], "a_b");
  EXPECT_EQ(m["INBOX.a/b"], "a_b_2");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("goes to 'a_b_2'"), std::string::npos) << p.warnings[0];
}

TEST(Plan, CharactersTheDestinationCannotHoldAreReplacedWithoutMerging) {
  // Maildir++ keeps "A/B" as ".A.B": a '.' inside a name cannot be stored there.
  PlanInput in;
  in.destUnsafeChars = ".";
  in.entries = {entry("Projects", '/'), entry("Projects/2024", '/'), entry("Projects.2024", '/'),
                entry("Projects_2024", '/')};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_EQ(m["Projects/2024"], "Projects/2024");
  EXPECT_EQ(m["Projects_2024"], "Projects_2024");
  EXPECT_EQ(m["Projects.2024"], "Projects_2024_2");
  EXPECT_EQ(p.warnings.size(), 1u);
}

TEST(Plan, EmptyLevelsNeverMakeEmptyOrEdgeSeparators) {
  // Found by the plan fuzzer: "Work/", "/Home", "Work//2024" and a prefix without its delimiter.
  PlanInput in;
  in.entries = {entry("Work/", '/'), entry("/Home", '/'), entry("Work//2024", '/')};
  auto m = mapping(buildPlan(in));
  EXPECT_EQ(m["Work/"], "Work");
  EXPECT_EQ(m["/Home"], "Home");
  EXPECT_EQ(m["Work//2024"], "Work/2024");
}

TEST(Plan, OrdinaryFoldersAreNotMergedIntoASpecialUseFolder) {
  PlanInput in;
  in.personal.prefix = "INBOX.";
  in.entries = {entry("INBOX.Sent Items", '.', {"\\Sent"}), entry("INBOX.Sent", '.'), entry("Sent", '.')};
  in.destFolders = {{"Sent", kSpecialSent, false, true}};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_EQ(m["INBOX.Sent Items"], "Sent");
  EXPECT_NE(m["INBOX.Sent"], m["Sent"]) << "two ordinary folders never share a destination";
}

TEST(Plan, SuffixesHandedOutAreNotGivenTwice) {
  PlanInput in;
  in.destUnsafeChars = ".";
  in.entries = {entry("a_b", 0), entry("a.b", 0), entry("a/b", 0), entry("a_b_2", 0)};
  FolderPlan p = buildPlan(in);
  std::set<std::string> names;
  for (const PlannedFolder& f : p.folders) {
    EXPECT_TRUE(names.insert(f.destName).second) << f.rawName << " -> " << f.destName;
  }
}

TEST(Plan, SpecialUseAttributeGoesToTheLocalSpecialFolderWithChildren) {
  PlanInput in;
  in.entries = {entry("Gesendet", '/', {"\\Sent", "\\HasChildren"}), entry("Gesendet/2019", '/'),
                entry("Papierkorb", '/', {"\\Trash"}), entry("Spam", '/')};
  in.destFolders = {{"Sent", kSpecialSent, false, true},
                    {"Trash", kSpecialTrash, false, true},
                    {"Junk", kSpecialJunk, false, true}};
  auto m = mapping(buildPlan(in));
  EXPECT_EQ(m["Gesendet"], "Sent");
  EXPECT_EQ(m["Gesendet/2019"], "Sent/2019");
  EXPECT_EQ(m["Papierkorb"], "Trash");
  EXPECT_EQ(m["Spam"], "Spam") << "with server-marked special-use, names alone don't count";
}

TEST(Plan, WellKnownNamesWhenTheServerHasNoSpecialUse) {
  PlanInput in;
  in.entries = {entry("Sent Items", '/'),        entry("Deleted Items", '/'),  entry("Junk E-mail", '/'),
                entry("[Gmail]/Sent Mail", '/'), entry("Odeslaná pošta", '/'), entry("Projects", '/')};
  in.destFolders = {{"Sent", kSpecialSent, false, true},
                    {"Trash", kSpecialTrash, false, true},
                    {"Junk", kSpecialJunk, false, true}};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_EQ(m["Sent Items"], "Sent");
  EXPECT_EQ(m["Deleted Items"], "Trash");
  EXPECT_EQ(m["Junk E-mail"], "Junk");
  EXPECT_EQ(m["[Gmail]/Sent Mail"], "Sent");
  EXPECT_EQ(m["Projects"], "Projects");
  // Several source folders going into one special-use folder is deliberate, and said.
  bool warned = false;
  for (const std::string& w : p.warnings) {
    warned = warned || w.find("special-use folder 'Sent'") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

TEST(Plan, OtherNamespacesAndNoselect) {
  PlanInput in;
  in.personal.otherPrefixes = {"shared/", "Other Users/"};
  in.entries = {entry("INBOX", '/'),           entry("shared/team/inbox", '/'),
                entry("Other Users/bob", '/'), entry("Parent", '/', {"\\Noselect"}),
                entry("Parent/Child", '/'),    entry("Ghost", '/', {"\\NonExistent"})};
  FolderPlan p = buildPlan(in);
  auto m = mapping(p);
  EXPECT_EQ(m.count("shared/team/inbox"), 0u);
  EXPECT_EQ(m.count("Other Users/bob"), 0u);
  EXPECT_EQ(m.count("Ghost"), 0u);
  for (const PlannedFolder& f : p.folders) {
    if (f.rawName == "Parent") {
      EXPECT_FALSE(f.selectable);
    }
  }
}

TEST(Plan, BrokenModifiedUtf7IsKeptAndWarned) {
  PlanInput in;
  in.entries = {entry("Bad&Name", '/')};
  FolderPlan p = buildPlan(in);
  EXPECT_EQ(mapping(p)["Bad&Name"], "Bad&Name");
  ASSERT_EQ(p.warnings.size(), 1u);
}

}  // namespace
}  // namespace migrate
