// plugin { migrate_* } / userdb fields -> SourceOptions.

#include "test_sink_fixture.h"

#include "dovecot_adapter/migrate_settings.h"

namespace migrate::dovecot::testing {
namespace {

class SettingsTest : public StorageTest {};

TEST_F(SettingsTest, ReadsEverySetting) {
  startUser("maildir",
            {"migrate_source_host=imap.old.example", "migrate_source_port=10993",
             "migrate_source_tls=starttls", "migrate_source_user=alice@old.example",
             "migrate_source_password=s3cret pass", "migrate_source_master_user=admin",
             "migrate_ca_file=/etc/ssl/old-ca.pem", "migrate_ca_dir=/etc/ssl/certs", "migrate_insecure=yes"});
  SourceOptions s;
  Status st = loadSourceSettings(user(), s);
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_EQ(s.host, "imap.old.example");
  EXPECT_EQ(s.port, 10993);
  EXPECT_TRUE(s.tlsModeSet);
  EXPECT_EQ(s.tlsMode, TlsMode::StartTls);
  EXPECT_EQ(s.user, "alice@old.example");
  EXPECT_EQ(s.password, "s3cret pass");
  EXPECT_EQ(s.masterUser, "admin");
  EXPECT_EQ(s.tls.caFile, "/etc/ssl/old-ca.pem");
  EXPECT_EQ(s.tls.caDir, "/etc/ssl/certs");
  EXPECT_FALSE(s.tls.verify);
}

TEST_F(SettingsTest, UnsetSettingsLeaveFieldsAlone) {
  startUser("maildir", {"migrate_source_host=h", "migrate_source_port="});
  SourceOptions s;
  s.port = 143;
  s.user = "from-command-line";
  s.tls.verify = true;
  Status st = loadSourceSettings(user(), s);
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_EQ(s.host, "h");
  EXPECT_EQ(s.port, 143);  // empty = unset
  EXPECT_EQ(s.user, "from-command-line");
  EXPECT_FALSE(s.tlsModeSet);
  EXPECT_TRUE(s.tls.verify);
}

TEST_F(SettingsTest, InsecureAcceptsTheUsualBooleans) {
  const std::pair<const char*, bool> cases[] = {{"no", false}, {"0", false},   {"FALSE", false},
                                                {"1", true},   {"True", true}, {"YES", true}};
  for (const auto& c : cases) {
    startUser("maildir", {std::string("migrate_insecure=") + c.first});
    SourceOptions s;
    Status st = loadSourceSettings(user(), s);
    ASSERT_TRUE(st.isOk()) << c.first << ": " << st.describe();
    EXPECT_EQ(s.tls.verify, !c.second) << c.first;
    TearDown();
  }
}

struct BadCase {
  const char* field;
  const char* setting;
  const char* value;
};

TEST_F(SettingsTest, MalformedValuesAreConfigErrorsNamingTheSetting) {
  const BadCase cases[] = {
      {"migrate_source_port=abc", "migrate_source_port", "abc"},
      {"migrate_source_port=0", "migrate_source_port", "0"},
      {"migrate_source_port=65536", "migrate_source_port", "65536"},
      {"migrate_source_port=-1", "migrate_source_port", "-1"},
      {"migrate_source_port=99999999999999999999", "migrate_source_port", "99999999999999999999"},
      {"migrate_source_tls=tsl", "migrate_source_tls", "tsl"},
      {"migrate_insecure=maybe", "migrate_insecure", "maybe"},
  };
  for (const BadCase& c : cases) {
    startUser("maildir", {c.field});
    SourceOptions s;
    Status st = loadSourceSettings(user(), s);
    ASSERT_FALSE(st.isOk()) << c.field;
    EXPECT_EQ(st.kind(), ErrorKind::Config) << c.field;
    EXPECT_NE(st.message().find(c.setting), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(std::string("'") + c.value + "'"), std::string::npos) << st.message();
    EXPECT_FALSE(st.hint().empty());
    TearDown();
  }
}

TEST_F(SettingsTest, TlsModeSpellings) {
  const std::pair<const char*, TlsMode> cases[] = {{"imaps", TlsMode::Imaps},
                                                   {"ssl", TlsMode::Imaps},
                                                   {"STARTTLS", TlsMode::StartTls},
                                                   {"none", TlsMode::None}};
  for (const auto& c : cases) {
    startUser("maildir", {std::string("migrate_source_tls=") + c.first});
    SourceOptions s;
    Status st = loadSourceSettings(user(), s);
    ASSERT_TRUE(st.isOk()) << c.first << ": " << st.describe();
    EXPECT_TRUE(s.tlsModeSet);
    EXPECT_EQ(s.tlsMode, c.second) << c.first;
    TearDown();
  }
}

TEST_F(SettingsTest, LimitSettingsAreReadAndCheckedToo) {
  startUser("maildir", {"migrate_max_rate=2M", "migrate_max_connections=4"});
  MigrationOptions o;
  ASSERT_TRUE(loadLimitSettings(user(), o).isOk());
  EXPECT_EQ(o.maxBytesPerSecond, 2u * 1024 * 1024);
  EXPECT_EQ(o.maxConnectionsPerHost, 4u);
  TearDown();

  startUser("maildir", {"migrate_max_rate=fast"});
  MigrationOptions bad;
  Status st = loadLimitSettings(user(), bad);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Config);
  EXPECT_NE(st.message().find("migrate_max_rate"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'fast'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace migrate::dovecot::testing
