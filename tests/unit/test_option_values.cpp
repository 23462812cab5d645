// The option table and the one parser per kind of value (core/options/).

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "options/option_values.h"

namespace migrate::options {
namespace {

TEST(OptionValues, YesNoAcceptsTheUsualSpellingsInAnyCase) {
  for (const char* yes : {"yes", "YES", "y", "true", "True", "on", "1"}) {
    EXPECT_EQ(parseYesNo(yes), std::optional<bool>(true)) << yes;
  }
  for (const char* no : {"no", "No", "n", "false", "FALSE", "off", "0"}) {
    EXPECT_EQ(parseYesNo(no), std::optional<bool>(false)) << no;
  }
  for (const char* bad : {"", "yess", "2", "nein", " yes"}) {
    EXPECT_FALSE(parseYesNo(bad).has_value()) << bad;
  }
}

TEST(OptionValues, BadValuesAreNamedWithWhatWouldBeRight) {
  Status st = checkValue(Kind::PORT, "migrate_source_port", "99999");
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Config);
  EXPECT_NE(st.message().find("migrate_source_port"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("99999"), std::string::npos) << st.message();
  EXPECT_NE(st.hint().find("1 to 65535"), std::string::npos) << st.hint();

  EXPECT_FALSE(checkValue(Kind::TLS, "migrate_source_tls", "tsl").isOk());
  EXPECT_FALSE(checkValue(Kind::YESNO, "migrate_insecure", "maybe").isOk());
  EXPECT_FALSE(checkValue(Kind::RATE, "migrate_max_rate", "fast").isOk());
  EXPECT_FALSE(checkValue(Kind::CONNECTIONS, "migrate_max_connections", "-1").isOk());
  EXPECT_FALSE(checkValue(Kind::SIZE, "migrate_max_size", "big").isOk());
  EXPECT_FALSE(checkValue(Kind::DATE, "migrate_since", "yesterday").isOk());
  EXPECT_FALSE(checkValue(Kind::COUNT, "migrate_on_login_max_failures", "three").isOk());
  EXPECT_FALSE(checkValue(Kind::PATH, "migrate_ca_file", "certs/ca.pem").isOk());
}

TEST(OptionValues, GoodEmptyAndUnexpandedValuesPass) {
  EXPECT_TRUE(checkValue(Kind::PORT, "p", "993").isOk());
  EXPECT_TRUE(checkValue(Kind::TLS, "t", "starttls").isOk());
  EXPECT_TRUE(checkValue(Kind::RATE, "r", "2M").isOk());
  EXPECT_TRUE(checkValue(Kind::SIZE, "s", "30M").isOk());
  EXPECT_TRUE(checkValue(Kind::DATE, "d", "2024-01-31").isOk());
  EXPECT_TRUE(checkValue(Kind::PATH, "c", "/etc/ssl/ca.pem").isOk());
  EXPECT_TRUE(checkValue(Kind::PORT, "p", "").isOk());  // unset
  // Dovecot 2.4 checks a value with a %{variable} before expansion with this placeholder.
  EXPECT_TRUE(checkValue(Kind::PORT, "p", "UNKNOWN_VALUE_WITH_VARIABLES").isOk());
  EXPECT_TRUE(checkValue(Kind::PATH, "c", "%{home}/ca.pem").isOk());
}

TEST(OptionValues, TheTableDefinesEachNameOnce) {
  std::set<std::string> keys;
  std::set<std::string> cliNames;
  std::set<char> letters;
  auto addCli = [&](const Option& o) {
    if (o.cliName != nullptr) {
      EXPECT_TRUE(cliNames.insert(o.cliName).second) << o.cliName;
      EXPECT_TRUE(letters.insert(o.letter).second) << o.cliName << " -" << o.letter;
    }
  };
  for (const Option& o : settings()) {
    EXPECT_EQ(std::string(o.key).rfind("migrate_", 0), 0u) << o.key;
    EXPECT_TRUE(keys.insert(o.key).second) << o.key;
    addCli(o);
  }
  for (const Option& o : cliOnlyOptions()) {
    addCli(o);
  }
  EXPECT_NE(findSetting("migrate_source_host"), nullptr);
  EXPECT_EQ(findSetting("migrate_no_such_thing"), nullptr);
  // doveadm's own mail-command letters stay free.
  for (char own : {'A', 'S', 'u', 'F'}) {
    EXPECT_EQ(letters.count(own), 0u) << own;
  }
}

TEST(OptionValues, MessagesNameTheSettingAsThisDovecotWritesIt) {
  setConfigSyntax(ConfigSyntax::TopLevel);
  EXPECT_EQ(settingRef("migrate_source_host"), "migrate_source_host");
  EXPECT_EQ(presetSettingRef("work", "host", "= ..."), "migrate_preset_def work { host = ... }");
  EXPECT_EQ(quotaStorageHint(), "userdb quota_storage_size=...");
  EXPECT_EQ(quotaMessagesHint(), "userdb quota_message_count=...");
  setConfigSyntax(ConfigSyntax::Plugin);
  EXPECT_EQ(settingRef("migrate_source_host"), "plugin { migrate_source_host }");
  EXPECT_EQ(quotaStorageHint(), "userdb quota_rule=*:storage=...");
  EXPECT_EQ(quotaMessagesHint(), "userdb quota_rule=*:messages=...");
  EXPECT_EQ(presetSettingRef("work", "port"), "plugin { migrate_preset_work_port }");
}

TEST(OptionValues, ParsesRatesWithSuffixesAndRefusesGarbage) {
  EXPECT_EQ(parseByteRate("0").value(), 0u);
  EXPECT_EQ(parseByteRate("12345").value(), 12345u);
  EXPECT_EQ(parseByteRate("500K").value(), 500u * 1024);
  EXPECT_EQ(parseByteRate("500k").value(), 500u * 1024);
  EXPECT_EQ(parseByteRate("2M").value(), 2u << 20);
  EXPECT_EQ(parseByteRate("1G").value(), 1u << 30);
  for (const char* bad :
       {"", "K", "2MB", "1.5M", "-1", " 2M", "2M ", "fast", "2T", "99999999999999999", "2000000000G"}) {
    Result<uint64_t> r = parseByteRate(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::Config);
    EXPECT_NE(r.status().hint().find("e.g. 500K or 2M"), std::string::npos) << r.status().describe();
  }
  EXPECT_EQ(parseConnectionCount("4").value(), 4u);
  EXPECT_EQ(parseConnectionCount("0").value(), 0u);
  for (const char* bad : {"", "-1", "two", "10001", "4 "}) {
    EXPECT_FALSE(parseConnectionCount(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace migrate::options
