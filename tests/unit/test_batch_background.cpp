// The Dovecot-free parts of background batches (core/batch/background.h), the tar writer
// (core/common/tar.h) and the check's parse that keeps the valid lines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "batch/background.h"
#include "batch/input_formats.h"
#include "common/tar.h"

namespace migrate {
namespace {

TEST(BatchId, ShapeSortsByTimeAndRefusesPaths) {
  const std::string id = batch::newBatchId(1796620440, 0x3fa9c2u);  // 2026-12-07 05:14:00 UTC
  EXPECT_EQ(id, "20261207-051400-3fa9c2");
  EXPECT_TRUE(batch::validBatchId(id));
  EXPECT_EQ(batch::newBatchId(0, 0xff000001u), "19700101-000000-000001");  // 24 random bits
  for (const char* bad :
       {"", "../../etc/passwd", "20261207-051400-3FA9C2", "20261207-051400-3fa9c", "20261207_051400-3fa9c2",
        "2026120a-051400-3fa9c2", "20261207-051400-3fa9c2/", "20261207-051400-3fa9cg"}) {
    EXPECT_FALSE(batch::validBatchId(bad)) << bad;
  }
}

TEST(BatchProgress, RoundTripAndCounts) {
  batch::BatchProgress p;
  p.id = "20261207-051400-3fa9c2";
  p.state = "paused";
  p.pid = 4242;
  p.started = 100;
  p.updated = 150;
  p.finished = 160;
  batch::MailboxProgress done;
  done.line = 2;
  done.user = "alice@example.org";
  done.state = "done";
  done.result = "ok";
  done.copied = 12;
  done.bytes = 3456;
  done.seconds = 1.5;
  batch::MailboxProgress stopped = done;
  stopped.line = 3;
  stopped.user = "bob \"quoted\"";
  stopped.state = "stopped";
  stopped.result = "partial";
  stopped.reason = "stopped on request";
  stopped.exitCode = 75;
  batch::MailboxProgress waiting;
  waiting.line = 4;
  waiting.user = "carol";
  p.mailboxes = {done, stopped, waiting};

  Result<batch::BatchProgress> back = batch::parseProgress(batch::progressJson(p));
  ASSERT_TRUE(back.isOk()) << back.status().describe();
  const batch::BatchProgress& q = back.value();
  EXPECT_EQ(q.id, p.id);
  EXPECT_EQ(q.state, "paused");
  EXPECT_EQ(q.pid, 4242);
  EXPECT_EQ(q.finished, 160);
  ASSERT_EQ(q.mailboxes.size(), 3u);
  EXPECT_EQ(q.mailboxes[1].user, "bob \"quoted\"");
  EXPECT_EQ(q.mailboxes[1].exitCode, 75);
  EXPECT_EQ(q.mailboxes[0].bytes, 3456u);
  EXPECT_DOUBLE_EQ(q.mailboxes[0].seconds, 1.5);
  EXPECT_EQ(q.mailboxes[2].state, "waiting");

  // What a resume runs again: all but the done one.
  EXPECT_FALSE(batch::needsRun(q.mailboxes[0]));
  EXPECT_TRUE(batch::needsRun(q.mailboxes[1]));
  EXPECT_TRUE(batch::needsRun(q.mailboxes[2]));

  const batch::ProgressCounts c = batch::countProgress(q.mailboxes);
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.done, 1u);
  EXPECT_EQ(c.ok, 1u);
  EXPECT_EQ(c.stopped, 1u);
  EXPECT_EQ(c.waiting, 1u);
  EXPECT_EQ(c.copied, 24u);

  EXPECT_FALSE(batch::parseProgress("{}").isOk());
  EXPECT_FALSE(batch::parseProgress("not json").isOk());
}

TEST(BatchProgress, RunningWithoutItsProcessIsInterrupted) {
  batch::BatchProgress p;
  p.state = "running";
  EXPECT_EQ(batch::shownState(p, true), "running");
  EXPECT_EQ(batch::shownState(p, false), "interrupted");
  p.state = "paused";
  EXPECT_EQ(batch::shownState(p, false), "paused");
}

TEST(BatchMeta, RoundTrip) {
  batch::BatchMeta m;
  m.id = "20261207-051400-3fa9c2";
  m.created = 1796620440;
  m.format = "csv";
  m.mailboxes = 7;
  m.options = {{"jobs", "4"}, {"max-rate", "2M"}, {"insecure", "yes"}};
  m.argv = {"migrate", "batch", "--batch-id", m.id, "--jobs", "4", "/var/lib/x/input"};
  Result<batch::BatchMeta> back = batch::parseMeta(batch::metaJson(m));
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back.value().argv, m.argv);
  EXPECT_EQ(back.value().options, m.options);
  EXPECT_EQ(back.value().mailboxes, 7u);
  EXPECT_EQ(back.value().created, m.created);
  EXPECT_FALSE(batch::parseMeta("{\"id\": \"x\"}").isOk());
}

// --- tar ----------------------------------------------------------------------------------

uint64_t octalField(const std::string& block, size_t at, size_t len) {
  uint64_t v = 0;
  for (size_t i = at; i < at + len && block[i] >= '0' && block[i] <= '7'; ++i) {
    v = v * 8 + static_cast<uint64_t>(block[i] - '0');
  }
  return v;
}

// Each member: (name, data) as a reader without pax support sees it, and the checksums checked.
std::vector<std::pair<std::string, std::string>> members(const std::string& tar) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    const std::string h = tar.substr(pos, 512);
    if (h == std::string(512, '\0')) {
      break;
    }
    unsigned sum = 0;
    for (size_t i = 0; i < 512; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    }
    EXPECT_EQ(octalField(h, 148, 8), sum);
    EXPECT_EQ(h.substr(257, 6), std::string("ustar\0", 6));
    const uint64_t size = octalField(h, 124, 12);
    std::string name = h.substr(0, 100);
    name = name.substr(0, name.find('\0'));
    out.emplace_back((h[156] == 'x' ? "pax:" : "") + name, tar.substr(pos + 512, size));
    pos += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

TEST(Tar, FilesHeadersAndEnd) {
  const std::string big(1000, 'x');
  const std::string t = tar::archive({{"id/report/report.json", "{}\n", 0600, 100},
                                      {"id/report/alice@example.org.log", big, 0600, 100},
                                      {"id/empty", "", 0644, 0}});
  EXPECT_EQ(t.size() % 512, 0u);
  // 3 headers, 1 + 2 + 0 data blocks, 2 end blocks
  EXPECT_EQ(t.size(), 512u * (3 + 3 + 2));
  const auto m = members(t);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], (std::pair<std::string, std::string>{"id/report/report.json", "{}\n"}));
  EXPECT_EQ(m[1].second, big);
  EXPECT_EQ(m[2].second, "");
  EXPECT_EQ(tar::archive({}), std::string(1024, '\0'));
}

TEST(Tar, LongNamesGetAPaxPath) {
  const std::string name = "20261207-051400-3fa9c2/report/" + std::string(120, 'u') + "@example.org.log";
  const auto m = members(tar::archive({{name, "log", 0600, 5}}));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].first.rfind("pax:PaxHeader/", 0), 0u);
  const std::string record = m[0].second;
  EXPECT_EQ(record, std::to_string(record.size()) + " path=" + name + "\n");
  EXPECT_EQ(m[1].second, "log");
}

// --- the check keeps the valid lines --------------------------------------------------------

TEST(BatchParseKeepingValid, BadLinesGoGoodLinesStay) {
  const std::string text = "alice pw-a\nlonely\nbob pw-b\n";
  const batch::ParseResult strict = batch::parse(text);
  EXPECT_TRUE(strict.entries.empty());
  const batch::ParseResult kept = batch::parseKeepingValid(text);
  ASSERT_EQ(kept.entries.size(), 2u);
  EXPECT_EQ(kept.entries[0].localUser, "alice");
  EXPECT_EQ(kept.entries[1].line, 3u);
  ASSERT_EQ(kept.problems.size(), 1u);
  EXPECT_EQ(kept.problems[0].line, 2u);
  EXPECT_TRUE(kept.problems[0].fatal);
  EXPECT_FALSE(kept.ok());
}

TEST(BatchParseKeepingValid, ABadCsvHeaderOrAnEmptyInputKeepsNothing) {
  EXPECT_TRUE(batch::parseKeepingValid("").entries.empty());
  EXPECT_TRUE(batch::parseKeepingValid("# only a comment\n").entries.empty());
  const batch::ParseResult r =
      batch::parseKeepingValid("source_server,source_user,bogus_column\nhost,alice,pw\n", batch::Format::Csv);
  EXPECT_TRUE(r.entries.empty());
  EXPECT_FALSE(r.problems.empty());
}

}  // namespace
}  // namespace migrate
