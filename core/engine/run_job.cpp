#include "engine/run_job.h"

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "common/textfile.h"

namespace migrate {
namespace {

constexpr const char* kMagic = "dovecot-migrate-job";

Status badLine(uint32_t lineNo, const std::string& why) {
  return Status(ErrorKind::Config, "job file line " + std::to_string(lineNo) + ": " + why,
                "the file is damaged: remove it and start the migration again (doveadm migrate start)");
}

bool parseFlag(const std::string& value, bool& out) {
  if (value != "0" && value != "1") {
    return false;
  }
  out = value == "1";
  return true;
}

}  // namespace

std::string serializeRunJob(const RunJob& job) {
  std::ostringstream o;
  o << kMagic << '\t' << kRunJobVersion << '\n';
  o << "created\t" << job.created << '\n';
  o << "trigger\t" << textfile::escape(job.trigger) << '\n';
  o << "paused\t" << (job.paused ? 1 : 0) << '\n';
  o << "held\t" << (job.held ? 1 : 0) << '\n';
  o << "secret\t" << (job.secret ? 1 : 0) << '\n';
  if (!job.notify.empty()) {
    o << "notify\t" << textfile::escape(job.notify) << '\n';
  }
  for (const std::string& arg : job.args) {
    o << "arg\t" << textfile::escape(arg) << '\n';
  }
  return o.str();
}

Result<RunJob> parseRunJob(const std::string& text) {
  RunJob job;
  std::istringstream in(text);
  std::string line;
  uint32_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    std::vector<std::string> f = textfile::splitTabs(line);
    if (lineNo == 1) {
      uint32_t version = 0;
      if (f.size() != 2 || f[0] != kMagic || !textfile::parseU32(f[1], version)) {
        return badLine(lineNo, "not a dovecot-migrate job file");
      }
      if (version > static_cast<uint32_t>(kRunJobVersion)) {
        return badLine(lineNo, "written by a newer dovecot-migrate (version " + f[1] + ")");
      }
      continue;
    }
    std::string value;
    if (f.size() != 2 || !textfile::unescape(f[1], value)) {
      return badLine(lineNo, "expected key<TAB>value");
    }
    bool ok = true;
    if (f[0] == "created") {
      ok = textfile::parseI64(value, job.created);
    } else if (f[0] == "trigger") {
      job.trigger = value;
    } else if (f[0] == "paused") {
      ok = parseFlag(value, job.paused);
    } else if (f[0] == "held") {
      ok = parseFlag(value, job.held);
    } else if (f[0] == "secret") {
      ok = parseFlag(value, job.secret);
    } else if (f[0] == "notify") {
      job.notify = value;
    } else if (f[0] == "arg") {
      job.args.push_back(value);
    }
    if (!ok) {
      return badLine(lineNo, "bad value for " + f[0]);
    }
  }
  if (lineNo == 0) {
    return badLine(0, "empty file");
  }
  return job;
}

Result<std::optional<RunJob>> readRunJob(const std::string& dir) {
  const std::string path = dir + "/" + kRunJobFile;
  MIGRATE_ASSIGN_OR_RETURN(std::optional<std::string> text, textfile::readFile(path, 1u << 20));
  if (!text) {
    return std::optional<RunJob>();
  }
  Result<RunJob> parsed = parseRunJob(*text);
  if (!parsed.isOk()) {
    return parsed.status().withPrefix(path);
  }
  return std::optional<RunJob>(std::move(parsed).value());
}

Status writeRunJob(const std::string& dir, const RunJob& job) {
  return textfile::writeFileAtomic(dir + "/" + kRunJobFile, serializeRunJob(job), true);
}

Status writeRunSecret(const std::string& dir, const std::string& password) {
  return textfile::writeFileAtomic(dir + "/" + kRunSecretFile, password, true, 0600);
}

Result<std::optional<std::string>> readRunSecret(const std::string& dir) {
  return textfile::readFile(dir + "/" + kRunSecretFile, 64u << 10);
}

Status removeRunSecret(const std::string& dir) {
  const std::string path = dir + "/" + kRunSecretFile;
  if (std::remove(path.c_str()) < 0 && errno != ENOENT) {
    return textfile::sysError("cannot remove the stored source password", path);
  }
  return Status::ok();
}

}  // namespace migrate
