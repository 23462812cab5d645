// Folders: creation, UIDVALIDITY rules, status, subscriptions, listing, state/temp dirs.

#include "test_sink_fixture.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

namespace migrate::dovecot::testing {
namespace {

const DestFolder* findFolder(const std::vector<DestFolder>& folders, const std::string& name) {
  auto it = std::find_if(folders.begin(), folders.end(), [&](const DestFolder& f) { return f.name == name; });
  return it == folders.end() ? nullptr : &*it;
}

TEST(SinkErrorKind, MapsMailErrors) {
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_NOQUOTA), ErrorKind::Quota);
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_NOTFOUND), ErrorKind::NotFound);
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_TEMP), ErrorKind::LocalStorage);
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_PERM), ErrorKind::LocalStorage);
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_EXISTS), ErrorKind::LocalStorage);
  EXPECT_EQ(errorKindFromMailError(MAIL_ERROR_LIMIT), ErrorKind::LocalStorage);
}

TEST_F(SinkTest, SeparatorIsTheInboxNamespaceSeparator) {
  EXPECT_EQ(sink().separator(), '/');
}

// The test user's mail_location is maildir:<home>, the home as its mail root: a <home>/.migrate
// directory was a Maildir++ folder "migrate" there. The tool's files now live in INBOX's control
// directory (the mail root here) and no folder appears.
TEST_F(SinkTest, StateDirIsTheInboxControlDirectoryAndNoFolder) {
  Result<std::string> dir = sink().stateDir(true);
  ASSERT_TRUE(dir.isOk()) << dir.status().describe();
  const char* home = nullptr;
  ASSERT_EQ(mail_user_get_home(user(), &home), 1);
  EXPECT_EQ(dir.value(), std::string(home));
  struct stat st;
  ASSERT_EQ(stat(dir.value().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  std::FILE* f = std::fopen((dir.value() + "/dovecot-migrate.status").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  Result<std::vector<DestFolder>> folders = sink().listFolders();
  ASSERT_TRUE(folders.isOk()) << folders.status().describe();
  ASSERT_EQ(folders.value().size(), 1u);
  EXPECT_EQ(folders.value()[0].name, "INBOX");
  // Idempotent.
  Result<std::string> again = sink().stateDir(true);
  ASSERT_TRUE(again.isOk()) << again.status().describe();
  EXPECT_EQ(again.value(), dir.value());
}

TEST_F(SinkTest, TempDirIsMailTempDir) {
  EXPECT_EQ(sink().tempDir(), "/tmp");
}

class SinkTempDirTest : public StorageTest {};

TEST_F(SinkTempDirTest, TempDirFollowsTheSetting) {
  startUser("maildir", {"mail_temp_dir=/var/tmp"});
  EXPECT_EQ(sink().tempDir(), "/var/tmp");
}

TEST_F(SinkTest, CreatesFolderWithTheGivenUidValidity) {
  PrepareFolderOptions o;
  o.uidValidity = 777;
  Result<DestFolderStatus> s = sink().prepareFolder("Imported", o);
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_TRUE(s.value().created);
  EXPECT_EQ(s.value().uidValidity, 777u);
  EXPECT_EQ(s.value().uidNext, 1u);
  EXPECT_EQ(s.value().messages, 0u);
  EXPECT_TRUE(s.value().haveSaveGuids);
  EXPECT_EQ(s.value().mailboxGuid.size(), 32u);

  // Second call: exists, not created again, same mailbox.
  Result<DestFolderStatus> again = sink().prepareFolder("Imported", o);
  ASSERT_TRUE(again.isOk()) << again.status().describe();
  EXPECT_FALSE(again.value().created);
  EXPECT_EQ(again.value().uidValidity, 777u);
  EXPECT_EQ(again.value().mailboxGuid, s.value().mailboxGuid);
}

TEST_F(SinkTest, CreatesFolderWithAnyUidValidityWhenNoneIsGiven) {
  Result<DestFolderStatus> s = sink().prepareFolder("Plain", PrepareFolderOptions{});
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_TRUE(s.value().created);
  EXPECT_NE(s.value().uidValidity, 0u);
  EXPECT_EQ(s.value().uidNext, 1u);
}

TEST_F(SinkTest, CreatesNestedFoldersWithTheirParents) {
  PrepareFolderOptions o;
  o.uidValidity = 4242;
  Result<DestFolderStatus> s = sink().prepareFolder("Archive/2023/Q1", o);
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_TRUE(s.value().created);
  EXPECT_EQ(s.value().uidValidity, 4242u);

  Result<DestFolderStatus> st = sink().folderStatus("Archive/2023/Q1");
  ASSERT_TRUE(st.isOk()) << st.status().describe();
  EXPECT_EQ(st.value().uidValidity, 4242u);

  Result<std::vector<DestFolder>> list = sink().listFolders();
  ASSERT_TRUE(list.isOk()) << list.status().describe();
  const DestFolder* leaf = findFolder(list.value(), "Archive/2023/Q1");
  ASSERT_NE(leaf, nullptr);
  EXPECT_TRUE(leaf->selectable);
  // The parents are listed; with maildir++ they are placeholders, not mailboxes.
  const DestFolder* archive = findFolder(list.value(), "Archive");
  ASSERT_NE(archive, nullptr);
  EXPECT_FALSE(archive->selectable);
  EXPECT_NE(findFolder(list.value(), "Archive/2023"), nullptr);

  // A parent can still be made a real folder afterwards.
  Result<DestFolderStatus> parent = sink().prepareFolder("Archive", PrepareFolderOptions{});
  ASSERT_TRUE(parent.isOk()) << parent.status().describe();
  Result<std::vector<DestFolder>> list2 = sink().listFolders();
  ASSERT_TRUE(list2.isOk());
  ASSERT_NE(findFolder(list2.value(), "Archive"), nullptr);
  EXPECT_TRUE(findFolder(list2.value(), "Archive")->selectable);
}

TEST_F(SinkTest, MissingFolderIsNotFoundWithoutCreate) {
  PrepareFolderOptions o;
  o.create = false;
  Result<DestFolderStatus> s = sink().prepareFolder("Nope", o);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().kind(), ErrorKind::NotFound);
  EXPECT_NE(s.status().message().find("\"Nope\""), std::string::npos) << s.status().message();

  Result<DestFolderStatus> st = sink().folderStatus("Nope");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.status().kind(), ErrorKind::NotFound);

  // Still missing afterwards.
  Result<std::vector<DestFolder>> list = sink().listFolders();
  ASSERT_TRUE(list.isOk());
  EXPECT_EQ(findFolder(list.value(), "Nope"), nullptr);
}

TEST_F(SinkTest, ExistingEmptyFolderAdoptsTheUidValidity) {
  Result<DestFolderStatus> s = sink().prepareFolder("Empty", PrepareFolderOptions{});
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  ASSERT_NE(s.value().uidValidity, 99u);

  PrepareFolderOptions o;
  o.uidValidity = 99;
  Result<DestFolderStatus> s2 = sink().prepareFolder("Empty", o);
  ASSERT_TRUE(s2.isOk()) << s2.status().describe();
  EXPECT_FALSE(s2.value().created);
  EXPECT_EQ(s2.value().uidValidity, 99u);
  EXPECT_EQ(s2.value().mailboxGuid, s.value().mailboxGuid);

  // Really stored: a fresh look through lib-storage sees it, and saved mail gets it.
  Result<DestFolderStatus> st = sink().folderStatus("Empty");
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st.value().uidValidity, 99u);
  ASSERT_TRUE(sink().beginBatch("Empty").isOk());
  TestMessage m(makeRfc822(1));
  m.msg.wantUid = 5;
  m.msg.guid = "adopt1";
  ASSERT_TRUE(sink().save(m.msg).isOk());
  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  EXPECT_EQ(c.value().uidValidity, 99u);
  EXPECT_EQ(c.value().uids, std::vector<uint32_t>{5});
}

TEST_F(SinkTest, FolderWithMailKeepsItsUidValidity) {
  PrepareFolderOptions o;
  o.uidValidity = 10;
  ASSERT_TRUE(sink().prepareFolder("Full", o).isOk());
  saveSimple("Full", 1);
  o.uidValidity = 20;
  Result<DestFolderStatus> s = sink().prepareFolder("Full", o);
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_EQ(s.value().uidValidity, 10u);
  EXPECT_EQ(s.value().messages, 1u);
  EXPECT_EQ(s.value().uidNext, 2u);
}

TEST_F(SinkTest, EmptiedFolderThatHeldMailKeepsItsUidValidity) {
  PrepareFolderOptions o;
  o.uidValidity = 10;
  ASSERT_TRUE(sink().prepareFolder("WasFull", o).isOk());
  saveSimple("WasFull", 2);
  expungeAll("WasFull");
  o.uidValidity = 20;
  Result<DestFolderStatus> s = sink().prepareFolder("WasFull", o);
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_EQ(s.value().messages, 0u);
  EXPECT_EQ(s.value().uidNext, 3u);
  EXPECT_EQ(s.value().uidValidity, 10u);  // clients may have cached UIDs 1-2 under 10
}

TEST_F(SinkTest, InboxIsPreparedAsInbox) {
  PrepareFolderOptions o;
  o.uidValidity = 1234;
  Result<DestFolderStatus> s = sink().prepareFolder("INBOX", o);
  ASSERT_TRUE(s.isOk()) << s.status().describe();
  EXPECT_EQ(s.value().uidValidity, 1234u);  // new and empty: adopted (created or autocreated)
  saveSimple("INBOX", 1);
  EXPECT_EQ(readAll("INBOX").size(), 1u);
}

TEST_F(SinkTest, SubscribesWhenAskedAndListsSubscriptions) {
  PrepareFolderOptions sub;
  sub.subscribe = true;
  ASSERT_TRUE(sink().prepareFolder("Subscribed", sub).isOk());
  ASSERT_TRUE(sink().prepareFolder("NotSubscribed", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().prepareFolder("Later", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().setSubscribed("Later").isOk());
  ASSERT_TRUE(sink().setSubscribed("Later").isOk());  // idempotent

  Result<std::vector<DestFolder>> list = sink().listFolders();
  ASSERT_TRUE(list.isOk()) << list.status().describe();
  const DestFolder* a = findFolder(list.value(), "Subscribed");
  const DestFolder* b = findFolder(list.value(), "NotSubscribed");
  const DestFolder* c = findFolder(list.value(), "Later");
  ASSERT_TRUE(a != nullptr && b != nullptr && c != nullptr);
  EXPECT_TRUE(a->subscribed);
  EXPECT_FALSE(b->subscribed);
  EXPECT_TRUE(c->subscribed);
  EXPECT_TRUE(a->selectable && b->selectable && c->selectable);
  EXPECT_EQ(a->specialUse, kSpecialNone);
  EXPECT_NE(findFolder(list.value(), "INBOX"), nullptr);

  // subscribe=false never unsubscribes.
  ASSERT_TRUE(sink().prepareFolder("Subscribed", PrepareFolderOptions{}).isOk());
  Result<std::vector<DestFolder>> list2 = sink().listFolders();
  ASSERT_TRUE(list2.isOk());
  EXPECT_TRUE(findFolder(list2.value(), "Subscribed")->subscribed);
}

// Special-use comes only from the namespace config in 2.3 (notes §0.4).
class SinkSpecialUseTest : public StorageTest {
 protected:
  void SetUp() override {
    // What doveconf hands over for namespace inbox { mailbox Sent { special_use = \Sent } ...}:
    // the section's name is a setting of its own.
    startUser("maildir", {
                             "namespace/inbox/mailbox=Sent Drafts Trash Archive Junk",
                             "namespace/inbox/mailbox/Sent/name=Sent",
                             "namespace/inbox/mailbox/Sent/special_use=\\Sent",
                             "namespace/inbox/mailbox/Drafts/name=Drafts",
                             "namespace/inbox/mailbox/Drafts/special_use=\\Drafts",
                             "namespace/inbox/mailbox/Trash/name=Trash",
                             "namespace/inbox/mailbox/Trash/special_use=\\Trash",
                             "namespace/inbox/mailbox/Trash/auto=subscribe",
                             "namespace/inbox/mailbox/Archive/name=Archive",
                             "namespace/inbox/mailbox/Archive/special_use=\\Archive \\All",
                             // Declared without special-use: not a mapping target.
                             "namespace/inbox/mailbox/Junk/name=Junk",
                             "namespace/inbox/mailbox/Junk/auto=no",
                         });
  }
};

TEST_F(SinkSpecialUseTest, ListsConfigDeclaredSpecialUseFoldersEvenIfMissing) {
  // Sent exists on disk, the others only in config.
  ASSERT_TRUE(sink().prepareFolder("Sent", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().prepareFolder("Other", PrepareFolderOptions{}).isOk());

  Result<std::vector<DestFolder>> list = sink().listFolders();
  ASSERT_TRUE(list.isOk()) << list.status().describe();
  const DestFolder* sent = findFolder(list.value(), "Sent");
  const DestFolder* drafts = findFolder(list.value(), "Drafts");
  const DestFolder* trash = findFolder(list.value(), "Trash");
  const DestFolder* archive = findFolder(list.value(), "Archive");
  const DestFolder* other = findFolder(list.value(), "Other");
  ASSERT_NE(sent, nullptr);
  ASSERT_NE(drafts, nullptr);
  ASSERT_NE(trash, nullptr);
  ASSERT_NE(archive, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(sent->specialUse, kSpecialSent);
  EXPECT_EQ(drafts->specialUse, kSpecialDrafts);
  EXPECT_EQ(trash->specialUse, kSpecialTrash);
  EXPECT_EQ(archive->specialUse, kSpecialArchive | kSpecialAll);
  EXPECT_EQ(other->specialUse, kSpecialNone);
  EXPECT_TRUE(drafts->selectable);
  EXPECT_TRUE(trash->subscribed);  // auto=subscribe
  EXPECT_EQ(findFolder(list.value(), "Junk"), nullptr);
  // Each name once.
  for (const DestFolder& f : list.value()) {
    EXPECT_EQ(std::count_if(list.value().begin(), list.value().end(),
                            [&](const DestFolder& g) { return g.name == f.name; }),
              1)
        << f.name;
  }

  // The declared folder can be prepared and used like any other.
  PrepareFolderOptions o;
  o.uidValidity = 55;
  Result<DestFolderStatus> d = sink().prepareFolder("Drafts", o);
  ASSERT_TRUE(d.isOk()) << d.status().describe();
  EXPECT_EQ(d.value().uidValidity, 55u);
  Result<std::vector<DestFolder>> list2 = sink().listFolders();
  ASSERT_TRUE(list2.isOk());
  ASSERT_NE(findFolder(list2.value(), "Drafts"), nullptr);
  EXPECT_EQ(findFolder(list2.value(), "Drafts")->specialUse, kSpecialDrafts);
}

// A namespace with a prefix (Courier-style "INBOX." layout).
class SinkPrefixNamespaceTest : public StorageTest {
 protected:
  void SetUp() override {
    startUser("maildir",
              {"namespace/inbox/prefix=INBOX/", "namespace/inbox/mailbox=Sent",
               "namespace/inbox/mailbox/Sent/name=Sent", "namespace/inbox/mailbox/Sent/special_use=\\Sent"});
  }
};

TEST_F(SinkPrefixNamespaceTest, NamesCarryThePrefix) {
  ASSERT_TRUE(sink().prepareFolder("INBOX/Work", PrepareFolderOptions{}).isOk());
  Result<std::vector<DestFolder>> list = sink().listFolders();
  ASSERT_TRUE(list.isOk()) << list.status().describe();
  EXPECT_NE(findFolder(list.value(), "INBOX/Work"), nullptr);
  EXPECT_NE(findFolder(list.value(), "INBOX"), nullptr);
  const DestFolder* sent = findFolder(list.value(), "INBOX/Sent");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->specialUse, kSpecialSent);
  saveSimple("INBOX/Work", 1);
  EXPECT_EQ(readAll("INBOX/Work").size(), 1u);
}

}  // namespace
}  // namespace migrate::dovecot::testing
