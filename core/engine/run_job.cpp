#include "engine/run_job.h"

#include <cerrno>
#include <cstdio>
#include <sstream>

#include "common/textfile.h"

namespace migrate {
namespace {

const textfile::RecordFormat kFormat = {
    "dovecot-migrate-job", static_cast<uint32_t>(kRunJobVersion), "job",
    "the file is damaged: remove it and start the migration again (doveadm migrate start)"};

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
  o << textfile::recordHeader(kFormat);
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
  MIGRATE_RETURN_IF_ERROR(
      textfile::parseRecords(text, kFormat, [&job](const std::string& key, const std::string& value) {
        if (key == "created") {
          return textfile::parseI64(value, job.created);
        }
        if (key == "trigger") {
          job.trigger = value;
        } else if (key == "paused") {
          return parseFlag(value, job.paused);
        } else if (key == "held") {
          return parseFlag(value, job.held);
        } else if (key == "secret") {
          return parseFlag(value, job.secret);
        } else if (key == "notify") {
          job.notify = value;
        } else if (key == "arg") {
          job.args.push_back(value);
        }
        return true;
      }));
  return job;
}

Result<std::optional<RunJob>> readRunJob(const std::string& dir) {
  return textfile::readRecordFile<RunJob>(dir + "/" + kRunJobFile, 1u << 20, parseRunJob);
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
