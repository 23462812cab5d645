// Folder patterns, filter values, message rules, presets and the version 2 state file.

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/options.h"
#include "engine/preset.h"
#include "engine/selection.h"
#include "engine/sink.h"
#include "engine/state.h"
#include "options/filter_values.h"

namespace migrate {
namespace {

bool matches(const std::string& pattern, const std::string& name, char sep = '/', uint8_t use = 0,
             bool important = false) {
  return folderPatternMatches(pattern, name, sep, use, important);
}

TEST(FolderPattern, ImapWildcardsAndInboxCase) {
  EXPECT_TRUE(matches("Trash", "Trash"));
  EXPECT_FALSE(matches("trash", "Trash")) << "names other than INBOX are case-sensitive";
  EXPECT_TRUE(matches("inbox", "INBOX"));
  EXPECT_TRUE(matches("Inbox/*", "INBOX/Receipts"));
  EXPECT_FALSE(matches("Inbox", "INBOX/Receipts"));
  EXPECT_TRUE(matches("Archive/*", "Archive/2019/Q1"));
  EXPECT_FALSE(matches("Archive/*", "Archive"));
  EXPECT_TRUE(matches("Archive*", "Archive"));
  EXPECT_TRUE(matches("Archive/%", "Archive/2019"));
  EXPECT_FALSE(matches("Archive/%", "Archive/2019/Q1")) << "% stops at the separator";
  EXPECT_TRUE(matches("%/Q1", "2019/Q1"));
  EXPECT_TRUE(matches("Přijatá*", "Přijatá pošta")) << "UTF-8 names";
  // '/' in patterns stands for the source's separator, whatever it is.
  EXPECT_TRUE(matches("Work/Old", "Work.Old", '.'));
  EXPECT_FALSE(matches("Work/Old", "Work.Old", '/'));
}

TEST(FolderPattern, SpecialUseNames) {
  EXPECT_TRUE(matches("\\Trash", "Deleted Items", '/', kSpecialTrash));
  EXPECT_TRUE(matches("\\trash", "Papierkorb", '/', kSpecialTrash))
      << "special-use names are case-insensitive";
  EXPECT_FALSE(matches("\\Trash", "Trash", '/', kSpecialJunk));
  EXPECT_TRUE(matches("\\All", "[Gmail]/All Mail", '/', kSpecialAll));
  EXPECT_TRUE(matches("\\Flagged", "[Gmail]/Starred", '/', kSpecialFlagged));
  EXPECT_TRUE(matches("\\Important", "[Gmail]/Important", '/', 0, true));
  EXPECT_FALSE(matches("\\Important", "INBOX"));
}

TEST(FolderPattern, ListsAreCommaSeparatedAndChecked) {
  Result<std::vector<std::string>> p = parseFolderPatterns(" Trash , Junk\\,Spam,\\Sent ", "--exclude");
  ASSERT_TRUE(p.isOk()) << p.status().describe();
  EXPECT_EQ(p.value(), (std::vector<std::string>{"Trash", "Junk,Spam", "\\Sent"}));

  for (const char* bad : {"", "Trash,,Junk", "\\Bin", "A\tB"}) {
    Result<std::vector<std::string>> r = parseFolderPatterns(bad, "--exclude");
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::Config);
    EXPECT_NE(r.status().message().find("--exclude"), std::string::npos) << r.status().message();
    EXPECT_FALSE(r.status().hint().empty());
  }
}

TEST(FilterValues, Sizes) {
  EXPECT_EQ(parseMessageSize("30M", "--max-size").value(), 30u << 20);
  EXPECT_EQ(parseMessageSize("512K", "--max-size").value(), 512u << 10);
  EXPECT_EQ(parseMessageSize("1G", "--max-size").value(), 1u << 30);
  EXPECT_EQ(parseMessageSize("2mb", "--max-size").value(), 2u << 20);
  EXPECT_EQ(parseMessageSize("1500000", "--max-size").value(), 1500000u);
  EXPECT_EQ(parseMessageSize("0", "--max-size").value(), 0u);
  for (const char* bad : {"", "M", "30 M", "-1", "30T", "1.5M", "99999999999999999"}) {
    Result<uint64_t> r = parseMessageSize(bad, "--max-size");
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find("--max-size"), std::string::npos);
  }
}

TEST(FilterValues, Dates) {
  EXPECT_EQ(parseFilterDate("2024-01-31", "--since", 0).value(), 1706659200);
  EXPECT_EQ(parseFilterDate("1970-01-01", "--since", 0).value(), 0);
  EXPECT_EQ(parseFilterDate("2024-02-29", "--since", 0).value(), 1709164800);
  const int64_t now = 1706659200 + 3600 * 5;  // 2024-01-31 05:00 UTC
  EXPECT_EQ(parseFilterDate("90d", "--since", now).value(), 1706659200 - 90 * 86400);
  EXPECT_EQ(parseFilterDate("2w", "--since", now).value(), 1706659200 - 14 * 86400);
  EXPECT_EQ(parseFilterDate("1y", "--since", now).value(), 1706659200 - 365 * 86400);
  EXPECT_EQ(formatDate(1706659200), "2024-01-31");
  for (const char* bad :
       {"", "2023-02-29", "2024-13-01", "2024-1-1", "yesterday", "90", "d", "90x", "1969-12-31"}) {
    Result<int64_t> r = parseFilterDate(bad, "--before", now);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find("--before"), std::string::npos);
    EXPECT_NE(r.status().hint().find("YYYY-MM-DD"), std::string::npos);
  }
}

TEST(MessageRulesTest, SkipReasonsAndWidening) {
  MessageRules r;
  r.maxSize = 1000;
  r.since = 100;
  r.before = 200;
  EXPECT_STREQ(skipReason(r, 1001, 150), kSkipTooLarge);
  EXPECT_EQ(skipReason(r, 1000, 150), nullptr);
  EXPECT_STREQ(skipReason(r, 10, 99), kSkipDate);
  EXPECT_EQ(skipReason(r, 10, 100), nullptr) << "--since is inclusive";
  EXPECT_STREQ(skipReason(r, 10, 200), kSkipDate) << "--before is exclusive";

  MessageRules none;
  EXPECT_TRUE(r.widenedBy(none));
  EXPECT_FALSE(none.widenedBy(r)) << "a narrower filter never needs a rescan";
  MessageRules bigger = r;
  bigger.maxSize = 2000;
  EXPECT_TRUE(r.widenedBy(bigger));
  MessageRules later = r;
  later.since = 150;
  EXPECT_FALSE(r.widenedBy(later));
  later.before = 300;
  EXPECT_TRUE(r.widenedBy(later));
  MessageRules dedupe;
  dedupe.dedupe = true;
  EXPECT_TRUE(dedupe.widenedBy(none));

  MessageRules back;
  ASSERT_TRUE(MessageRules::parse(r.serialize(), back));
  EXPECT_EQ(back, r);
  ASSERT_TRUE(MessageRules::parse("-", back));
  EXPECT_FALSE(back.any());
  EXPECT_FALSE(MessageRules::parse("1,2,3", back));
  EXPECT_FALSE(MessageRules::parse("1,2,3,4", back));
}

TEST(StateV2, RulesAndRetryUidsRoundTripAndVersion1IsRead) {
  AccountState s;
  s.host = "h";
  s.user = "u";
  FolderState f;
  f.rawName = "INBOX";
  f.uidValidity = 7;
  f.lastUid = 20;
  f.rules.maxSize = 31457280;
  f.rules.dedupe = true;
  f.retryUids = {4, 9, 10, 11};
  s.folders["INBOX"] = f;
  std::string text = serializeState(s);
  EXPECT_NE(text.find("dovecot-migrate-state\t3\n"), std::string::npos);
  EXPECT_NE(text.find("\t31457280,0,0,1\t4,9:11\t"), std::string::npos) << text;
  Result<AccountState> back = parseState(text);
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  EXPECT_EQ(back.value().folders.at("INBOX").retryUids, f.retryUids);
  EXPECT_EQ(back.value().folders.at("INBOX").rules, f.rules);

  // A file written by version 1 (ten folder fields).
  Result<AccountState> v1 =
      parseState("dovecot-migrate-state\t1\naccount\th\tu\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\n");
  ASSERT_TRUE(v1.isOk()) << v1.status().describe();
  EXPECT_EQ(v1.value().folders.at("INBOX").lastUid, 20u);
  EXPECT_FALSE(v1.value().folders.at("INBOX").rules.any());
  EXPECT_TRUE(v1.value().folders.at("INBOX").retryUids.empty());

  // Version 2 requires the two new fields; bad values are damage.
  EXPECT_FALSE(
      parseState("dovecot-migrate-state\t2\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\n").isOk());
  EXPECT_FALSE(
      parseState("dovecot-migrate-state\t2\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\t-\t5:3\n").isOk());
  EXPECT_FALSE(
      parseState("dovecot-migrate-state\t2\nfolder\tINBOX\t7\t20\t21\t0\tINBOX\t7\t21\tpc\tx\t\n").isOk());
}

TEST(Presets, BuiltinsAndAdminDefinitions) {
  for (const char* name : {"generic", "gmail", "office365", "exchange"}) {
    ASSERT_NE(builtinPreset(name), nullptr) << name;
  }
  EXPECT_EQ(builtinPreset("gmail")->host, "imap.gmail.com");
  EXPECT_TRUE(builtinPreset("gmail")->gmailLabels);
  EXPECT_EQ(builtinPreset("office365")->host, "outlook.office365.com");
  EXPECT_TRUE(builtinPreset("exchange")->host.empty());

  PresetDefinitions admin;
  admin["oldisp"] = {{"base", "office365"},
                     {"host", "mail.oldisp.example"},
                     {"port", "143"},
                     {"tls", "starttls"},
                     {"exclude", "Shared*,\\Junk"},
                     {"folder_map", "Gesendet=\\Sent, Alt=Archive/Alt"},
                     {"max_size", "20M"},
                     {"max_connections", "4"},
                     {"max_rate", "2M"}};
  Result<Preset> p = findPreset("oldisp", admin);
  ASSERT_TRUE(p.isOk()) << p.status().describe();
  EXPECT_EQ(p.value().host, "mail.oldisp.example");
  EXPECT_EQ(p.value().port, 143);
  EXPECT_EQ(p.value().tls, "starttls");
  EXPECT_EQ(p.value().maxSize, 20u << 20);
  EXPECT_EQ(p.value().maxConnections, 4u);
  EXPECT_EQ(p.value().maxRate, 2u << 20);
  EXPECT_NE(std::find(p.value().exclude.begin(), p.value().exclude.end(), "Calendar"),
            p.value().exclude.end())
      << "the base preset's exclusions stay";
  ASSERT_GE(p.value().folderRules.size(), 2u);
  EXPECT_EQ(p.value().folderRules[0].pattern, "Gesendet");
  EXPECT_EQ(p.value().folderRules[0].specialUse, kSpecialSent);
  EXPECT_EQ(p.value().folderRules[1].destName, "Archive/Alt");

  // Settings fill in only what is unset.
  SourceOptions source;
  source.presetName = "oldisp";
  source.adminPresets = admin;
  ASSERT_TRUE(applyPreset(source).isOk());
  EXPECT_EQ(source.host, "mail.oldisp.example");
  EXPECT_EQ(source.port, 143);
  EXPECT_EQ(source.tlsMode, TlsMode::StartTls);
  SourceOptions mine;
  mine.presetName = "gmail";
  mine.host = "10.0.0.5";
  mine.tlsModeSet = true;
  mine.tlsMode = TlsMode::StartTls;
  ASSERT_TRUE(applyPreset(mine).isOk());
  EXPECT_EQ(mine.host, "10.0.0.5");
  EXPECT_EQ(mine.port, 0) << "an explicit TLS mode keeps its own default port";

  struct Bad {
    const char* key;
    const char* value;
  };
  for (const Bad& b : {Bad{"port", "99999"}, Bad{"tls", "tsl"}, Bad{"max_size", "big"}, Bad{"base", "yahoo"},
                       Bad{"folder_map", "Sent"}, Bad{"folder_map", "Sent=\\Bin"},
                       Bad{"gmail_labels", "maybe"}, Bad{"colour", "blue"}}) {
    PresetDefinitions d;
    d["x"] = {{b.key, b.value}};
    Result<Preset> r = findPreset("x", d);
    ASSERT_FALSE(r.isOk()) << b.key << "=" << b.value;
    EXPECT_EQ(r.status().kind(), ErrorKind::Config);
    EXPECT_NE(r.status().message().find(std::string("migrate_preset_x_") + b.key), std::string::npos)
        << r.status().message();
  }
  Result<Preset> unknown = findPreset("yahoo", admin);
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("unknown preset 'yahoo'"), std::string::npos);
  EXPECT_NE(unknown.status().hint().find("gmail"), std::string::npos);
  EXPECT_NE(unknown.status().hint().find("oldisp"), std::string::npos);
}

}  // namespace
}  // namespace migrate
