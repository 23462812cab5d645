// JSON micro-benchmark (issue 12): the project's JSON code (core/common/json.*, through
// batch::reportJson and batch::readChildOutput, as `migrate batch` uses it) against plain
// nlohmann-json doing the same work.
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
#include <nlohmann/json.hpp>
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

// What reportJson() writes, with nlohmann::ordered_json (same keys, same order).
std::string nlohmannReport(const RunInfo& info, const std::vector<JobResult>& rs) {
  nlohmann::ordered_json doc;
  doc["command"] = info.command;
  doc["file"] = info.file;
  doc["format"] = info.format;
  doc["dry_run"] = info.dryRun;
  doc["started"] = "2026-11-18T11:06:40Z";
  doc["finished"] = "2026-11-18T12:06:40Z";
  doc["seconds"] = info.seconds;
  doc["interrupted"] = info.interrupted;
  doc["exit_code"] = info.exitCode;
  doc["jobs"] = info.jobs;
  nlohmann::ordered_json& options = doc["options"] = nlohmann::ordered_json::object();
  for (const auto& p : info.options) {
    options[p.name] = p.flag ? nlohmann::ordered_json(true) : nlohmann::ordered_json(p.value);
  }
  uint64_t copied = 0;
  uint64_t bytes = 0;
  for (const JobResult& r : rs) {
    copied += r.copied;
    bytes += r.bytes;
  }
  doc["totals"] = {{"mailboxes", rs.size()}, {"copied", copied}, {"bytes", bytes}};
  nlohmann::ordered_json& boxes = doc["mailboxes"] = nlohmann::ordered_json::array();
  for (const JobResult& r : rs) {
    nlohmann::ordered_json b;
    b["line"] = r.line;
    b["user"] = r.user;
    b["source"] = r.source;
    b["result"] = r.result;
    b["reason"] = r.reason;
    b["exit_code"] = r.exitCode;
    b["folders"] = r.folders;
    b["copied"] = r.copied;
    b["skipped"] = r.skipped;
    nlohmann::ordered_json& reasons = b["skip_reasons"] = nlohmann::ordered_json::object();
    for (const auto& [k, n] : r.skipReasons) {
      reasons[k] = n;
    }
    b["excluded_folders"] = r.excludedFolders;
    b["failed"] = r.failed;
    b["flags_updated"] = r.flagsUpdated;
    b["bytes"] = r.bytes;
    b["seconds"] = r.seconds;
    b["reconnects"] = r.reconnects;
    b["waited_seconds"] = r.waited;
    b["log"] = r.logPath;
    boxes.push_back(std::move(b));
  }
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
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

uint64_t u64(const nlohmann::json& row, const char* name) {
  const auto it = row.find(name);
  return it != row.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// The fields readChildOutput() takes, read with nlohmann::json.
uint64_t nlohmannRead(const std::string& text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty() || !doc.front().is_object()) {
    return 0;
  }
  const nlohmann::json& row = doc.front();
  uint64_t sum = u64(row, "folders") + u64(row, "copied") + u64(row, "skipped") + u64(row, "failed") +
                 u64(row, "flags_updated") + u64(row, "bytes") + u64(row, "reconnects") +
                 u64(row, "excluded_folders");
  for (const char* name : {"result", "error", "skip_reasons", "seconds", "waited"}) {
    const auto it = row.find(name);
    if (it != row.end() && it->is_string()) {
      sum += it->get_ref<const std::string&>().size();
    }
  }
  return sum;
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
  print("(a) report.json: nlohmann::ordered_json dump",
        timeIt(rounds, [&] { size = nlohmannReport(info, rs).size(); }));
  std::printf("    %zu bytes\n", size);

  uint64_t check = 0;
  print("(b) rows: batch::readChildOutput", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            JobResult r;
            migrate::batch::readChildOutput(t, 0, "", r);
            check += r.copied;
          }
        }));
  print("(b) rows: nlohmann::json::parse + fields", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            check += nlohmannRead(t);
          }
        }));
  print("(b) rows: json::parse only", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            check += migrate::json::parse(t).isOk() ? 1 : 0;
          }
        }));
  print("(b) rows: nlohmann::json::parse only", timeIt(rounds, [&] {
          for (const std::string& t : texts) {
            check += nlohmann::json::parse(t, nullptr, false).size();
          }
        }));
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(check));
  return 0;
}
