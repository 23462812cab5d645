// Quota, with Dovecot's real quota plugin loaded into this process the way a mail process loads
// it (module_dir_load + module_dir_init from the stock module directory) and enabled per user with
// mail_plugins=quota. test_mail_storage_init() itself uses NO_PLUGINS, so nothing else sees it.

#include "test_sink_fixture.h"

#include <dlfcn.h>

#include "dovecot_adapter/quota_glue.h"

namespace migrate::dovecot::testing {
namespace {

#ifndef MIGRATE_DOVECOT_MODULEDIR
#define MIGRATE_DOVECOT_MODULEDIR "/usr/lib/dovecot/modules"
#endif

class SinkQuotaTest : public StorageTest {
 protected:
  void SetUp() override {
    // Keep lib-storage initialised until the plugin is unloaded: its deinit removes its hooks,
    // which mail_storage_deinit() (called by test_mail_storage_deinit()) would have freed.
    mail_storage_init();
    storageRef_ = true;
    struct module_dir_load_settings set;
    i_zero(&set);
    set.abi_version = DOVECOT_ABI_VERSION;
    set.require_init_funcs = TRUE;
    const char* error = nullptr;
#if DOVECOT_PREREQ(2, 4, 0)
    const char* const names[] = {"quota", nullptr};
#else
    const char* names = "quota";
#endif
    if (module_dir_try_load_missing(&modules_, MIGRATE_DOVECOT_MODULEDIR, names, &set, &error) < 0) {
      GTEST_SKIP() << "cannot load the quota plugin: " << error;
    }
    module_dir_init(modules_);
  }
  void TearDown() override {
    StorageTest::TearDown();
    if (modules_ != nullptr) {
      module_dir_unload(&modules_);
    }
    if (storageRef_) {
      mail_storage_deinit();
    }
  }
  // 1 MiB storage quota with the count backend (2.3: needs quota_vsizes, as in the test rig;
  // 2.4 counts vsizes always).
  // An unlimited root without `limited`.
  void startQuotaUser(bool limited = true) {
#if DOVECOT_PREREQ(2, 4, 0)
    std::vector<std::string> fields = {"mail_plugins=quota", "quota=User", "quota/User/quota_driver=count"};
    if (limited) {
      fields.emplace_back("quota/User/quota_storage_size=1M");
    }
#else
    std::vector<std::string> fields = {"mail_plugins=quota", "quota=count:User", "quota_vsizes=yes"};
    if (limited) {
      fields.emplace_back("quota_rule=*:storage=1M");
    }
#endif
    startUser("maildir", fields);
  }

  struct module* modules_ = nullptr;
  bool storageRef_ = false;
};

TEST_F(SinkQuotaTest, ReportsTheLimitInBytes) {
  startQuotaUser();
  ASSERT_TRUE(quotaPluginLoaded());
  ASSERT_TRUE(sink().prepareFolder("INBOX", PrepareFolderOptions{}).isOk());
  Result<QuotaInfo> q = sink().quota();
  ASSERT_TRUE(q.isOk()) << q.status().describe();
  EXPECT_TRUE(q.value().limited);
  EXPECT_EQ(q.value().limitBytes, 1024u * 1024u);
  EXPECT_EQ(q.value().usedBytes, 0u);
  EXPECT_EQ(q.value().root, "User");

  saveSimple("INBOX", 3);
  Result<QuotaInfo> q2 = sink().quota();
  ASSERT_TRUE(q2.isOk());
  EXPECT_GT(q2.value().usedBytes, 3u * 200u);
  EXPECT_LT(q2.value().usedBytes, 3u * 1000u);
}

TEST_F(SinkQuotaTest, UnlimitedUserIsNotLimited) {
  startQuotaUser(false);
  Result<QuotaInfo> q = sink().quota();
  ASSERT_TRUE(q.isOk()) << q.status().describe();
  EXPECT_FALSE(q.value().limited);
}

TEST_F(SinkQuotaTest, UserWithoutTheQuotaPluginIsNotLimited) {
  startUser("maildir");  // plugin loaded in the process, not enabled for this user
  Result<QuotaInfo> q = sink().quota();
  ASSERT_TRUE(q.isOk()) << q.status().describe();
  EXPECT_FALSE(q.value().limited);
}

// Over quota in the middle of a batch: the save fails with Quota and Dovecot's message, and the
// commit keeps the messages saved before it.
TEST_F(SinkQuotaTest, OverQuotaSaveFailsAndTheBatchCommitsTheEarlierMessages) {
  startQuotaUser();
  ASSERT_TRUE(sink().prepareFolder("Fill", PrepareFolderOptions{}).isOk());
  ASSERT_TRUE(sink().beginBatch("Fill").isOk());
  int saved = 0;
  Status failure;
  for (int i = 1; i <= 20; i++) {
    TestMessage m(makeRfc822(i, 100000));
    m.msg.guid = "fill" + std::to_string(i);
    m.msg.sourceUid = static_cast<uint32_t>(i);
    Status st = sink().save(m.msg);
    if (!st.isOk()) {
      failure = st;
      break;
    }
    saved++;
  }
  ASSERT_FALSE(failure.isOk());
  EXPECT_EQ(failure.kind(), ErrorKind::Quota);
  EXPECT_NE(failure.message().find("Quota exceeded"), std::string::npos) << failure.message();
  EXPECT_NE(failure.message().find("\"Fill\""), std::string::npos) << failure.message();
  EXPECT_FALSE(failure.hint().empty());
  EXPECT_GE(saved, 8);
  EXPECT_LE(saved, 10);

  // A smaller message still fits into the rest of the quota in the same batch.
  TestMessage small(makeRfc822(99, 100));
  small.msg.guid = "small";
  Status st = sink().save(small.msg);
  EXPECT_TRUE(st.isOk()) << st.describe();

  Result<Sink::CommitResult> c = sink().commitBatch();
  ASSERT_TRUE(c.isOk()) << c.status().describe();
  EXPECT_EQ(c.value().uids.size(), static_cast<size_t>(saved + 1));
  std::vector<StoredMail> got = readAll("Fill");
  ASSERT_EQ(got.size(), static_cast<size_t>(saved + 1));
  EXPECT_EQ(got.back().guid, "small");

  Result<QuotaInfo> q = sink().quota();
  ASSERT_TRUE(q.isOk());
  EXPECT_TRUE(q.value().limited);
  EXPECT_LE(q.value().usedBytes, q.value().limitBytes);
}

}  // namespace
}  // namespace migrate::dovecot::testing
