#include "engine/verify_result.h"

#include "common/json.h"
#include "common/textfile.h"

namespace migrate {

VerifyRecord verifyRecordOf(const VerifyReport& report) {
  VerifyRecord r;
  r.result = report.result();
  r.finished = report.finished;
  r.full = report.full;
  r.summary = report.summary();
  r.sourceMessages = report.sourceMessages();
  r.matched = report.matched();
  r.missing = report.missing();
  r.differing = report.differing();
  r.extra = report.extra();
  r.local = report.local();
  r.filtered = report.filtered();
  return r;
}

namespace {

// The counters of the record, by their JSON keys.
template <class Record, class Fn>
void forEachCount(Record& r, Fn fn) {
  fn("source_messages", r.sourceMessages);
  fn("matched", r.matched);
  fn("missing", r.missing);
  fn("differing", r.differing);
  fn("extra", r.extra);
  fn("local", r.local);
  fn("filtered", r.filtered);
}

}  // namespace

std::string serializeVerifyRecord(const VerifyRecord& record) {
  json::Writer w(2);
  w.beginObject();
  w.key("version").value(kVerifyFileVersion);
  w.key("result").value(record.result);
  w.key("finished").value(record.finished);
  w.key("full").value(record.full);
  w.key("summary").value(record.summary);
  forEachCount(record, [&w](const char* key, uint64_t n) { w.key(key).value(n); });
  w.endObject();
  return w.str() + "\n";
}

Result<VerifyRecord> parseVerifyRecord(const std::string& text) {
  MIGRATE_ASSIGN_OR_RETURN(json::Value v, json::parse(text));
  const json::Value* version = v.isObject() ? v.get("version") : nullptr;
  if (version == nullptr || version->asU64() == 0) {
    return Status(ErrorKind::Config, std::string(kVerifyFile) + " is not a verify result",
                  "delete it; the next `doveadm migrate verify` writes a new one");
  }
  if (version->asU64() > static_cast<uint64_t>(kVerifyFileVersion)) {
    return Status(ErrorKind::Config,
                  std::string(kVerifyFile) + " was written by a newer version (" + version->text() + ")",
                  "use that version's doveadm migrate status, or run the verify again with this one");
  }
  VerifyRecord r;
  auto text_of = [&v](const char* key) {
    const json::Value* f = v.get(key);
    return f != nullptr ? f->text() : std::string();
  };
  r.result = text_of("result");
  r.summary = text_of("summary");
  const json::Value* finished = v.get("finished");
  r.finished = finished != nullptr ? static_cast<int64_t>(finished->asU64()) : 0;
  const json::Value* full = v.get("full");
  r.full = full != nullptr && full->asBool();
  forEachCount(r, [&v](const char* key, uint64_t& n) {
    const json::Value* f = v.get(key);
    n = f != nullptr ? f->asU64() : 0;
  });
  return r;
}

Result<std::optional<VerifyRecord>> readVerifyRecord(const std::string& dir) {
  const std::string path = dir + "/" + kVerifyFile;
  MIGRATE_ASSIGN_OR_RETURN(std::optional<std::string> text, textfile::readFile(path, 1u << 20));
  if (!text) {
    return std::optional<VerifyRecord>();
  }
  Result<VerifyRecord> r = parseVerifyRecord(*text);
  if (!r.isOk()) {
    return r.status().withPrefix(path);
  }
  return std::optional<VerifyRecord>(std::move(r).value());
}

Status writeVerifyRecord(const std::string& dir, const VerifyRecord& record) {
  return textfile::writeFileAtomic(dir + "/" + kVerifyFile, serializeVerifyRecord(record), false);
}

namespace {

void writeFolder(json::Writer& w, const FolderVerify& f) {
  w.beginObject();
  w.key("source").value(f.source);
  w.key("destination").value(f.destination);
  w.key("result").value(!f.error.empty() ? "failed" : f.complete() ? "complete" : "incomplete");
  w.key("source_messages").value(f.sourceMessages);
  w.key("matched").value(f.matched);
  w.key("matched_by_content").value(f.byContent);
  w.key("local").value(f.local);
  if (f.destMissing) {
    w.key("destination_missing").value(true);
  }
  w.key("missing").beginArray();
  for (uint32_t uid : f.missing) {
    w.value(uid);
  }
  w.endArray();
  w.key("differences").beginArray();
  for (const VerifyDifference& d : f.differences) {
    w.beginObject();
    w.key("source_uid").value(d.sourceUid).key("uid").value(d.destUid).key("what").value(d.what);
    w.key("source").value(d.source).key("here").value(d.here);
    w.endObject();
  }
  w.endArray();
  w.key("extra").beginArray();
  for (const auto& [uid, sourceUid] : f.extra) {
    w.beginObject().key("uid").value(uid).key("source_uid").value(sourceUid).endObject();
  }
  w.endArray();
  w.key("filtered").beginObject();
  for (const auto& [reason, n] : f.filtered) {
    w.key(reason).value(n);
  }
  w.endObject();
  if (!f.error.empty()) {
    w.key("error").value(f.error);
  }
  w.endObject();
}

}  // namespace

std::string verifyFoldersJson(const VerifyReport& report) {
  json::Writer w(0);
  w.beginArray();
  for (const FolderVerify& f : report.folders) {
    writeFolder(w, f);
  }
  w.endArray();
  return w.str();
}

}  // namespace migrate
