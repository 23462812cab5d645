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

ContentKey MemorySink::keyOf(const StoredMessage& m) {
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
  return k;
}

Result<std::vector<ContentKey>> MemorySink::contentKeys(const std::string& name, uint32_t minUid) {
  std::vector<ContentKey> out;
  for (const StoredMessage& m : folders[name].messages) {
    if (m.uid >= minUid) {
      out.push_back(keyOf(m));
    }
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
  s.pop3Uidl = m.pop3Uidl;
  s.pop3Order = m.pop3Order;
  batch_.push_back(std::move(s));
  return Status::ok();
}

Result<Sink::CommitResult> MemorySink::commitBatch() {
  MemoryFolder& f = folders[batchFolder_];
  CommitResult r;
  if (!batch_.empty()) {
    f.highestModSeq++;
  }
  for (StoredMessage& s : batch_) {
    s.modSeq = f.highestModSeq;
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

Result<uint32_t> MemorySink::updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                                         std::vector<uint32_t>* changedUids) {
  uint32_t n = 0;
  MemoryFolder& f = folders[name];
  for (const FlagUpdate& u : updates) {
    for (StoredMessage& m : f.messages) {
      if (m.guid == u.guid && m.flags != u.flags) {
        m.flags = u.flags;
        m.modSeq = ++f.highestModSeq;
        n++;
        if (changedUids != nullptr) {
          changedUids->push_back(m.uid);
        }
      }
    }
  }
  return n;
}

// As maildir: a message without a UIDL gets one; one that has it keeps it.
Result<uint32_t> MemorySink::addPop3Uidls(const std::string& name,
                                          const std::vector<Pop3UidlUpdate>& updates) {
  uint32_t n = 0;
  for (const Pop3UidlUpdate& u : updates) {
    for (StoredMessage& m : folders[name].messages) {
      if (m.guid == u.guid && m.pop3Uidl.empty()) {
        m.pop3Uidl = u.uidl;
        n++;
      }
    }
  }
  return n;
}

void MemorySink::userSetFlags(const std::string& folder, uint32_t uid, const MessageFlags& flags) {
  MemoryFolder& f = folders[folder];
  for (StoredMessage& m : f.messages) {
    if (m.uid == uid) {
      m.flags = flags;
      m.modSeq = ++f.highestModSeq;
    }
  }
}

uint32_t MemorySink::deliver(const std::string& folder, const std::string& bytes, const std::string& guid) {
  MemoryFolder& f = folders[folder];
  f.exists = true;
  StoredMessage m;
  m.uid = f.uidNext++;
  m.guid = guid;
  m.bytes = bytes;
  m.modSeq = ++f.highestModSeq;
  f.messages.push_back(m);
  return m.uid;
}

uint32_t MemorySink::userMove(const std::string& from, uint32_t uid, const std::string& to) {
  MemoryFolder& src = folders[from];
  for (auto it = src.messages.begin(); it != src.messages.end(); ++it) {
    if (it->uid == uid) {
      StoredMessage m = *it;
      src.messages.erase(it);
      src.highestModSeq++;
      MemoryFolder& dst = folders[to];
      m.uid = dst.uidNext++;
      m.modSeq = ++dst.highestModSeq;
      dst.messages.push_back(m);
      return m.uid;
    }
  }
  return 0;
}

Result<MemoryFolder*> MemorySink::existing(const std::string& name) {
  auto it = folders.find(name);
  if (it == folders.end() || !it->second.exists) {
    return Status(ErrorKind::NotFound, "no folder " + name);
  }
  return &it->second;
}

Result<DestChanges> MemorySink::changesSince(const std::string& name, uint64_t modSeq) {
  MIGRATE_ASSIGN_OR_RETURN(MemoryFolder * f, existing(name));
  DestChanges c;
  c.highestModSeq = f->highestModSeq;
  for (const StoredMessage& m : f->messages) {
    if (modSeq != 0 && m.modSeq > modSeq) {
      c.uids.push_back(m.uid);
    }
  }
  std::sort(c.uids.begin(), c.uids.end());
  return c;
}

Result<std::vector<DestCopy>> MemorySink::copies(const std::string& name, const std::vector<uint32_t>& uids) {
  MIGRATE_ASSIGN_OR_RETURN(MemoryFolder * f, existing(name));
  std::vector<DestCopy> out;
  for (const StoredMessage& m : f->messages) {
    if (std::find(uids.begin(), uids.end(), m.uid) != uids.end()) {
      out.push_back(DestCopy{m.uid, m.guid, m.modSeq, keyOf(m)});
    }
  }
  return out;
}

Result<std::vector<uint32_t>> MemorySink::expunge(const std::string& name,
                                                  const std::vector<DestCopy>& copies,
                                                  uint64_t unchangedSince) {
  MIGRATE_ASSIGN_OR_RETURN(MemoryFolder * f, existing(name));
  std::vector<uint32_t> done;
  for (const DestCopy& c : copies) {
    auto it = std::find_if(f->messages.begin(), f->messages.end(), [&](const StoredMessage& m) {
      return m.uid == c.uid && m.guid == c.guid && (unchangedSince == 0 || m.modSeq <= unchangedSince);
    });
    if (it != f->messages.end()) {
      f->messages.erase(it);
      done.push_back(c.uid);
      expunges++;
    }
  }
  if (!done.empty()) {
    f->highestModSeq++;
  }
  return done;
}

Result<uint32_t> MemorySink::move(const MoveRequest& r) {
  MIGRATE_ASSIGN_OR_RETURN(MemoryFolder * from, existing(r.from));
  MIGRATE_ASSIGN_OR_RETURN(MemoryFolder * to, existing(r.to));
  auto it = std::find_if(from->messages.begin(), from->messages.end(), [&](const StoredMessage& m) {
    return m.uid == r.uid && m.guid == r.guid && (r.unchangedSince == 0 || m.modSeq <= r.unchangedSince);
  });
  if (it == from->messages.end()) {
    return 0u;
  }
  auto there = std::find_if(to->messages.begin(), to->messages.end(),
                            [&](const StoredMessage& m) { return m.guid == r.newGuid; });
  uint32_t uid = there != to->messages.end() ? there->uid : 0;
  if (uid == 0) {
    StoredMessage m = *it;
    m.guid = r.newGuid;
    m.flags = r.flags;
    m.internalDate = r.internalDate;
    m.tz = r.tzOffsetMinutes;
    m.uid = r.wantUid >= to->uidNext ? r.wantUid : to->uidNext;
    to->uidNext = m.uid + 1;
    m.modSeq = ++to->highestModSeq;
    to->messages.push_back(m);
    uid = m.uid;
  }
  from->messages.erase(it);
  from->highestModSeq++;
  expunges++;
  return uid;
}

Result<QuotaInfo> MemorySink::quota() {
  QuotaInfo q;
  q.limited = quotaLimit != 0;
  q.limitBytes = quotaLimit;
  q.usedBytes = usedBytes();
  return q;
}

}  // namespace migrate::testing
