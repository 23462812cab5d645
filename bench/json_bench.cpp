// JSON micro-benchmark (issue 12): the project's JSON code (core/common/json.*, a layer over
// nlohmann-json) through batch::reportJson and batch::readChildOutput, as `migrate batch` uses
// it; run it on two builds to compare (bench/README.md has the numbers of the switch).
//   (a) write report.json for 10,000 mailboxes
//   (b) read 10,000 rows as a child `doveadm -f json migrate` prints them
// Built on request only, never by ctest:
//   cmake --build build -j1 --target json_bench && build/bench/json_bench [users] [rounds]
// Prints the best and the median of the rounds, in ms.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "batch/batch_report.h"
#include "batch/child_run.h"
#include "common/json.h"

namespace {

using migrate::batch::JobResult;
using migrate::batch::RunInfo;

struct Timing {
  double best = 0;
  double median = 0;
};

Timing timeIt(int rounds, const std::function<void()>& run) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2]};
}

void print(const char* what, const Timing& t) {
  std::printf("%-44s best %8.2f ms   median %8.2f ms\n", what, t.best, t.median);
}

RunInfo runInfo() {
  RunInfo info;
  info.command = "batch";
  info.file = "/root/users.csv";
  info.format = "csv";
  info.started = 1795000000;
  info.finished = 1795003600;
  info.seconds = 3600.25;
  info.jobs = 8;
  info.options = {{"max-rate", "1M", false}, {"verbose", "", true}};
  return info;
}

std::vector<JobResult> results(size_t users) {
  std::vector<JobResult> out(users);
  for (size_t i = 0; i < users; ++i) {
    JobResult& r = out[i];
    r.line = static_cast<uint32_t>(i + 2);
    r.user = "user" + std::to_string(i) + "@example.org";
    r.source = "imap" + std::to_string(i % 4) + ".old.example:993";
    r.started = r.finished = true;
    r.result = i % 50 == 0 ? "failed" : "ok";
    if (i % 50 == 0) {
      r.reason = "login failed: [AUTHENTICATIONFAILED] Přihlášení selhalo (check the password)";
      r.exitCode = 77;
    }
    r.folders = 12 + i % 7;
    r.copied = 1000 + i;
    r.skipped = i % 13;
    r.bytes = 123456789ULL * (i % 9 + 1);
    r.seconds = 12.5 + static_cast<double>(i % 100) / 7;
    r.skipReasons = {{"too_large", i % 3}, {"date", i % 5}};
    r.waited = static_cast<double>(i % 4) / 3;
    r.logPath = "/var/log/migrate/batch-1/" + r.user + ".log";
  }
  return out;
}

// One child's stdout, as `doveadm -f json migrate -u USER` prints it (NUMBER columns unquoted).
std::vector<std::string> rows(size_t users) {
  std::vector<std::string> out;
  out.reserve(users);
  for (size_t i = 0; i < users; ++i) {
    const bool failed = i % 50 == 0;
    auto num = [](const char* name, uint64_t n) {
      return ",\"" + std::string(name) + "\":" + std::to_string(n);
    };
    std::string row = "[{\"username\":\"user" + std::to_string(i) + "@example.org\"";
    row += failed ? ",\"result\":\"failed\"" : ",\"result\":\"ok\"";
    row += num("folders", 12 + i % 7) + num("copied", 1000 + i) + num("skipped", i % 13) + num("failed", 0) +
           num("flags_updated", i % 5) + num("bytes", 123456789ULL * (i % 9 + 1));
    row += ",\"seconds\":\"12.5\"" + num("reconnects", 0) + ",\"waited\":\"0.0\"";
    row += ",\"skip_reasons\":\"too_large=" + std::to_string(i % 3) + " date=" + std::to_string(i % 5) + "\"";
    row += num("excluded_folders", 1) + ",\"error\":\"";
    row += failed ? "login failed: [AUTHENTICATIONFAILED] Přihlášení selhalo (\\\"x\\\")\"}]\n" : "\"}]\n";
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t users = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
  const RunInfo info = runInfo();
  const std::vector<JobResult> rs = results(users);
  const std::vector<std::string> texts = rows(users);

  size_t size = 0;
  std::printf("%zu mailboxes, %d rounds\n", users, rounds);
  print("(a) report.json: batch::reportJson",
        timeIt(rounds, [&] { size = migrate::batch::reportJson(info, rs).size(); }));
  std::printf("    %zu bytes\n", size);

  uint64_t check = 0;
  print("(b) rows: batch::readChildOutput", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            JobResult r;
            migrate::batch::readChildOutput(t, 0, "", r);
            check += r.copied;
          }
        }));
  print("(b) rows: json::parse only", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            check += migrate::json::parse(t).isOk() ? 1 : 0;
          }
        }));
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(check));
  return 0;
}
