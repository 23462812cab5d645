#include "fakes/memory_sink.h"

#include <algorithm>

#include "engine/body_digest.h"

namespace migrate::testing {

MemorySink::MemorySink(std::string stateDir) : stateDir_(std::move(stateDir)) {
  folders["INBOX"].exists = true;
  folders["INBOX"].uidValidity = nextUidValidity_++;
}

uint64_t MemorySink::usedBytes() const {
  uint64_t n = 0;
  for (const auto& [name, f] : folders) {
    for (const StoredMessage& m : f.messages) {
      n += m.bytes.size();
    }
  }
  return n;
}

std::vector<const StoredMessage*> MemorySink::all(const std::string& folder) const {
  std::vector<const StoredMessage*> out;
  auto it = folders.find(folder);
  if (it != folders.end()) {
    for (const StoredMessage& m : it->second.messages) {
      out.push_back(&m);
    }
  }
  return out;
}

Result<std::vector<DestFolder>> MemorySink::listFolders() {
  std::vector<DestFolder> out;
  for (const auto& [name, f] : folders) {
    out.push_back(DestFolder{name, f.specialUse, f.subscribed, true});
  }
  return out;
}

DestFolderStatus MemorySink::statusOf(const MemoryFolder& f, bool created) const {
  DestFolderStatus s;
  s.created = created;
  s.uidValidity = f.uidValidity;
  s.uidNext = f.uidNext;
  s.messages = static_cast<uint32_t>(f.messages.size());
  s.haveSaveGuids = true;
  return s;
}

Result<DestFolderStatus> MemorySink::prepareFolder(const std::string& name, const PrepareFolderOptions& o) {
  MemoryFolder& f = folders[name];
  bool created = false;
  if (!f.exists) {
    if (!o.create) {
      return Status(ErrorKind::NotFound, "no folder " + name);
    }
    f.exists = true;
    f.uidValidity = o.uidValidity != 0 ? o.uidValidity : nextUidValidity_++;
    created = true;
  } else if (o.uidValidity != 0 && f.messages.empty() && f.uidNext == 1) {
    f.uidValidity = o.uidValidity;
  }
  if (o.subscribe) {
    f.subscribed = true;
  }
  return statusOf(f, created);
}

Result<DestFolderStatus> MemorySink::folderStatus(const std::string& name) {
  auto it = folders.find(name);
  if (it == folders.end() || !it->second.exists) {
    return Status(ErrorKind::NotFound, "no folder " + name);
  }
  return statusOf(it->second, false);
}

Status MemorySink::setSubscribed(const std::string& name) {
  folders[name].subscribed = true;
  return Status::ok();
}

Result<std::unordered_map<std::string, uint32_t>> MemorySink::guidsFrom(const std::string& name,
                                                                        uint32_t minUid) {
  std::unordered_map<std::string, uint32_t> out;
  for (const StoredMessage& m : folders[name].messages) {
    if (m.uid >= minUid) {
      out[m.guid] = m.uid;
    }
  }
  return out;
}

Result<std::vector<ContentKey>> MemorySink::contentKeys(const std::string& name, uint32_t minUid) {
  std::vector<ContentKey> out;
  for (const StoredMessage& m : folders[name].messages) {
    if (m.uid < minUid) {
      continue;
    }
    ContentKey k;
    k.uid = m.uid;
    k.guid = m.guid;
    size_t p = m.bytes.find("Message-ID: ");
    if (p != std::string::npos) {
      size_t e = m.bytes.find("\r\n", p);
      k.messageId = m.bytes.substr(p + 12, e - p - 12);
    }
    k.internalDate = m.internalDate;
    k.size = m.bytes.size();
    out.push_back(k);
  }
  return out;
}

Result<std::vector<DestMessage>> MemorySink::listMessages(const std::string& name) {
  listings++;
  auto it = folders.find(name);
  if (it == folders.end() || !it->second.exists) {
    return Status(ErrorKind::NotFound, "no folder " + name);
  }
  MIGRATE_ASSIGN_OR_RETURN(std::vector<ContentKey> keys, contentKeys(name, 1));
  std::vector<DestMessage> out;
  for (size_t i = 0; i < keys.size(); i++) {
    out.push_back(DestMessage{keys[i], it->second.messages[i].flags});
  }
  return out;
}

Result<std::unordered_map<uint32_t, std::string>> MemorySink::bodyDigests(const std::string& name,
                                                                          const std::vector<uint32_t>& uids) {
  std::unordered_map<uint32_t, std::string> out;
  BodyDigest digest;
  auto it = folders.find(name);
  if (it == folders.end()) {
    return out;
  }
  for (const StoredMessage& m : it->second.messages) {
    if (std::find(uids.begin(), uids.end(), m.uid) != uids.end()) {
      digest.update(m.bytes.data(), m.bytes.size());
      out[m.uid] = digest.finish();
    }
  }
  return out;
}

Status MemorySink::beginBatch(const std::string& name) {
  batchFolder_ = name;
  batch_.clear();
  return Status::ok();
}

Status MemorySink::save(const IncomingMessage& m) {
  if (failSaveAfter >= 0 && saves >= failSaveAfter) {
    return Status(failKind, "Quota exceeded (mailbox for user is full)");
  }
  saveOrder.push_back(batchFolder_);
  Result<std::string> bytes = m.body->readAll();
  if (!bytes.isOk()) {
    return bytes.status();
  }
  if (quotaLimit != 0) {
    uint64_t pending = 0;
    for (const StoredMessage& b : batch_) {
      pending += b.bytes.size();
    }
    if (usedBytes() + pending + bytes.value().size() > quotaLimit) {
      return Status(ErrorKind::Quota, "Quota exceeded (mailbox for user is full)");
    }
  }
  saves++;
  StoredMessage s;
  s.uid = m.wantUid;
  s.guid = m.guid;
  s.flags = m.flags;
  s.internalDate = m.internalDate;
  s.tz = m.tzOffsetMinutes;
  s.bytes = std::move(bytes).value();
  batch_.push_back(std::move(s));
  return Status::ok();
}

Result<Sink::CommitResult> MemorySink::commitBatch() {
  MemoryFolder& f = folders[batchFolder_];
  CommitResult r;
  for (StoredMessage& s : batch_) {
    if (s.uid == 0 || s.uid < f.uidNext) {
      s.uid = f.uidNext;
    }
    f.uidNext = s.uid + 1;
    r.uids.push_back(s.uid);
    f.messages.push_back(std::move(s));
  }
  batch_.clear();
  commits++;
  r.uidValidity = f.uidValidity;
  r.uidNext = f.uidNext;
  return r;
}

void MemorySink::rollbackBatch() {
  batch_.clear();
}

Result<uint32_t> MemorySink::updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates) {
  uint32_t n = 0;
  for (const FlagUpdate& u : updates) {
    for (StoredMessage& m : folders[name].messages) {
      if (m.guid == u.guid && m.flags != u.flags) {
        m.flags = u.flags;
        n++;
      }
    }
  }
  return n;
}

Result<QuotaInfo> MemorySink::quota() {
  QuotaInfo q;
  q.limited = quotaLimit != 0;
  q.limitBytes = quotaLimit;
  q.usedBytes = usedBytes();
  return q;
}

}  // namespace migrate::testing
