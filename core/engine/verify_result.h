#pragma once
// What a verify found, as the admin and other programs read it: the per-folder details as JSON
// (the `details` column of `doveadm -f json migrate verify`, report.json of
// `migrate batch --verify`), and the last verify's result kept with the user
// (dovecot-migrate.verify in the state directory, engine/state_files.h) for `migrate status`.
// Writing that file is the only write a verify makes.
//
// dovecot-migrate.verify is one JSON object:
//   {"version": 1, "result": "complete|incomplete|failed", "finished": <unix>, "full": bool,
//    "summary": "...", "source_messages": N, "matched": N, "missing": N, "differing": N,
//    "extra": N, "local": N, "filtered": N}
// Unknown keys are ignored; a newer major version is a Config error.

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "engine/verify.h"

namespace migrate {

constexpr const char* kVerifyFile = "dovecot-migrate.verify";  // kStateFilePrefix + "verify"
constexpr int kVerifyFileVersion = 1;

struct VerifyRecord {
  std::string result;  // complete / incomplete / failed
  int64_t finished = 0;
  bool full = false;
  std::string summary;
  uint64_t sourceMessages = 0, matched = 0, missing = 0, differing = 0, extra = 0, local = 0, filtered = 0;
};

VerifyRecord verifyRecordOf(const VerifyReport& report);
std::string serializeVerifyRecord(const VerifyRecord& record);
Result<VerifyRecord> parseVerifyRecord(const std::string& text);
// <dir>/dovecot-migrate.verify; nullopt when no verify ran yet.
Result<std::optional<VerifyRecord>> readVerifyRecord(const std::string& dir);
// Atomic replace (no fsync: it is advisory, like the run status).
Status writeVerifyRecord(const std::string& dir, const VerifyRecord& record);

// The folders of `report` as a JSON array (one line): per folder its names, counts, the missing
// source UIDs, the differences, the extra copies (destination UID and the source UID it came
// from), the filter counts and any error.
std::string verifyFoldersJson(const VerifyReport& report);

}  // namespace migrate
