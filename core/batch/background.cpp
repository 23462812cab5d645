#include "batch/background.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "common/json.h"

namespace migrate::batch {
namespace {

std::string text(const json::Value& obj, const char* name) {
  const json::Value* v = obj.get(name);
  return v != nullptr ? v->text() : std::string();
}

uint64_t number(const json::Value& obj, const char* name) {
  const json::Value* v = obj.get(name);
  return v != nullptr ? v->asU64() : 0;
}

// Times and pids (never negative here).
int64_t signedNumber(const json::Value& obj, const char* name) {
  return static_cast<int64_t>(number(obj, name));
}

Status notA(const char* what) {
  return Status(
      ErrorKind::Protocol, std::string("not a ") + what + " file",
      "it was written by another version or damaged; remove the batch directory if the batch is over");
}

}  // namespace

std::string newBatchId(int64_t now, uint32_t random) {
  const time_t t = static_cast<time_t>(now);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  char tail[16];
  std::snprintf(tail, sizeof(tail), "-%06x", static_cast<unsigned>(random & 0xffffffu));
  return std::string(buf) + tail;
}

bool validBatchId(const std::string& id) {
  // NNNNNNNN-NNNNNN-xxxxxx
  if (id.size() != 22 || id[8] != '-' || id[15] != '-') {
    return false;
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (i == 8 || i == 15) {
      continue;
    }
    if (i < 15 ? std::isdigit(c) == 0 : (std::isdigit(c) == 0 && (c < 'a' || c > 'f'))) {
      return false;
    }
  }
  return true;
}

std::string progressJson(const BatchProgress& p) {
  json::Writer w(1);
  w.beginObject();
  w.key("id").value(p.id);
  w.key("state").value(p.state);
  w.key("pid").value(p.pid);
  w.key("started").value(p.started);
  w.key("updated").value(p.updated);
  w.key("finished").value(p.finished);
  w.key("error").value(p.error);
  w.key("mailboxes").beginArray();
  for (const MailboxProgress& m : p.mailboxes) {
    w.beginObject();
    w.key("line").value(m.line);
    w.key("user").value(m.user);
    w.key("state").value(m.state);
    w.key("result").value(m.result);
    w.key("reason").value(m.reason);
    w.key("exit_code").value(m.exitCode);
    w.key("copied").value(m.copied);
    w.key("bytes").value(m.bytes);
    w.key("seconds").value(m.seconds);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.str() + "\n";
}

Result<BatchProgress> parseProgress(const std::string& textIn) {
  Result<json::Value> parsed = json::parse(textIn);
  if (!parsed.isOk() || !parsed.value().isObject()) {
    return notA("batch progress");
  }
  const json::Value& v = parsed.value();
  BatchProgress p;
  p.id = text(v, "id");
  p.state = text(v, "state");
  p.pid = signedNumber(v, "pid");
  p.started = signedNumber(v, "started");
  p.updated = signedNumber(v, "updated");
  p.finished = signedNumber(v, "finished");
  p.error = text(v, "error");
  const json::Value* boxes = v.get("mailboxes");
  if (p.state.empty() || boxes == nullptr || !boxes->isArray()) {
    return notA("batch progress");
  }
  for (const json::Value& b : boxes->items()) {
    MailboxProgress m;
    m.line = static_cast<uint32_t>(number(b, "line"));
    m.user = text(b, "user");
    m.state = text(b, "state");
    m.result = text(b, "result");
    m.reason = text(b, "reason");
    m.exitCode = static_cast<int>(number(b, "exit_code"));
    m.copied = number(b, "copied");
    m.bytes = number(b, "bytes");
    const json::Value* s = b.get("seconds");
    m.seconds = s != nullptr ? s->asDouble() : 0;
    p.mailboxes.push_back(std::move(m));
  }
  return p;
}

std::string metaJson(const BatchMeta& m) {
  json::Writer w(1);
  w.beginObject();
  w.key("id").value(m.id);
  w.key("created").value(m.created);
  w.key("format").value(m.format);
  w.key("mailboxes").value(m.mailboxes);
  w.key("options").beginObject();
  for (const auto& [k, v] : m.options) {
    w.key(k).value(v);
  }
  w.endObject();
  w.key("argv").beginArray();
  for (const std::string& a : m.argv) {
    w.value(a);
  }
  w.endArray();
  w.endObject();
  return w.str() + "\n";
}

Result<BatchMeta> parseMeta(const std::string& textIn) {
  Result<json::Value> parsed = json::parse(textIn);
  if (!parsed.isOk() || !parsed.value().isObject()) {
    return notA("batch.json");
  }
  const json::Value& v = parsed.value();
  BatchMeta m;
  m.id = text(v, "id");
  m.created = signedNumber(v, "created");
  m.format = text(v, "format");
  m.mailboxes = number(v, "mailboxes");
  if (const json::Value* o = v.get("options"); o != nullptr && o->isObject()) {
    for (const auto& [k, val] : o->members()) {
      m.options.emplace_back(k, val.text());
    }
  }
  const json::Value* argv = v.get("argv");
  if (m.id.empty() || argv == nullptr || !argv->isArray()) {
    return notA("batch.json");
  }
  for (const json::Value& a : argv->items()) {
    m.argv.push_back(a.text());
  }
  return m;
}

std::string shownState(const BatchProgress& p, bool processAlive) {
  if (p.state == "running" && !processAlive) {
    return "interrupted";
  }
  return p.state;
}

ProgressCounts countProgress(const std::vector<MailboxProgress>& mailboxes) {
  ProgressCounts c;
  for (const MailboxProgress& m : mailboxes) {
    ++c.total;
    c.copied += m.copied;
    c.bytes += m.bytes;
    if (m.state == "waiting") {
      ++c.waiting;
    } else if (m.state == "running") {
      ++c.running;
    } else if (m.state == "stopped") {
      ++c.stopped;
    } else {
      ++c.done;
      c.ok += m.result == "ok" ? 1 : 0;
      c.partial += m.result == "partial" ? 1 : 0;
      c.failed += m.result != "ok" && m.result != "partial" ? 1 : 0;
    }
  }
  return c;
}

}  // namespace migrate::batch
