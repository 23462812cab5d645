// One user's verify (engine/verify.h): the connection and the plan as a migration makes them,
// then per folder: the source listed again, the destination listed, matched and compared.

#include "engine/verify.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/strings.h"
#include "engine/body_digest.h"
#include "engine/gmail_labels.h"
#include "engine/guid.h"
#include "engine/self_check.h"
#include "engine/source_plan.h"
#include "imap/command.h"

namespace migrate {

namespace {

using Clock = std::chrono::steady_clock;

// Messages per UID FETCH of bodies (--full).
constexpr size_t kBodyChunk = 200;
// A folder whose UIDNEXT is above this is not searched for extra copies (one SHA-256 per UID).
constexpr uint32_t kMaxExtraScan = 20u * 1000 * 1000;

struct Listed {
  uint32_t uid = 0;
  ContentKey key;
  MessageFlags flags;
  std::vector<std::string> labels;
};

// A folder's source and destination messages and which pairs belong together.
struct FolderMatch {
  std::vector<Listed> source;
  std::vector<DestMessage> dest;
  std::vector<int> destOf;  // per source message: index into dest, -1 when not found
  std::vector<bool> used;   // per destination message: matched
};

Status digestBody(const MessageBody& body, BodyDigest& digest) {
  if (body.inMemory()) {
    digest.update(body.data().data(), body.data().size());
    return Status::ok();
  }
  char buf[65536];
  for (uint64_t off = 0; off < body.size();) {
    ssize_t n = ::pread(body.fd(), buf, sizeof(buf), static_cast<off_t>(off));
    if (n <= 0) {
      return Status(ErrorKind::LocalStorage, "cannot read a spooled message body back",
                    "check the temporary directory's disk space");
    }
    digest.update(buf, static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

void addDifference(FolderVerify& fv, const Listed& s, const DestMessage& d, const char* what,
                   std::string sourceValue, std::string hereValue) {
  fv.differences.push_back({s.uid, d.key.uid, what, std::move(sourceValue), std::move(hereValue)});
}

// Keywords compare case-insensitively (RFC 3501), as the sink's flag updates do.
bool sameFlags(const MessageFlags& a, const MessageFlags& b) {
  auto lower = [](const std::vector<std::string>& kws) {
    std::set<std::string> out;
    for (const std::string& k : kws) {
      out.insert(lowerAscii(k));
    }
    return out;
  };
  return a.system == b.system && lower(a.keywords) == lower(b.keywords);
}

// Flags, INTERNALDATE and size of a matched pair.
void compareMetadata(FolderVerify& fv, const Listed& s, const DestMessage& d) {
  if (!sameFlags(s.flags, d.flags)) {
    addDifference(fv, s, d, "flags", formatFlags(s.flags), formatFlags(d.flags));
  }
  if (s.key.internalDate != d.key.internalDate) {
    addDifference(fv, s, d, "date", std::to_string(s.key.internalDate), std::to_string(d.key.internalDate));
  }
  if (s.key.size != d.key.size) {
    addDifference(fv, s, d, "size", std::to_string(s.key.size), std::to_string(d.key.size));
  }
}

class Verify {
 public:
  Verify(const MigrationOptions& options, const VerifyOptions& verify, Sink& sink,
         const TransportFactory& connect)
      : opt_(options), vopt_(verify), src_(options.source), planner_(src_), sink_(sink) {
    SourceConnectionEnv env = runConnectionEnv(opt_, planner_.preset(), sink_.tempDir(), connect);
    env.warn = [this](const std::string& text) { report_.warnings.push_back(text); };
    conn_ = std::make_unique<SourceConnection>(src_, std::move(env));
  }

  VerifyReport run() {
    auto t0 = Clock::now();
    report_.user = opt_.localUser;
    report_.source = src_.describe();
    report_.full = vopt_.full;
    Status st = planner_.presetError().isOk() ? verifyAll() : planner_.presetError();
    conn_->close(st.isOk());
    conn_->releaseSlot();
    report_.status = st;
    report_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    report_.finished = static_cast<int64_t>(std::time(nullptr));
    return std::move(report_);
  }

 private:
  bool cancelled() const { return opt_.cancelled && opt_.cancelled(); }

  Status verifyAll() {
    MIGRATE_RETURN_IF_ERROR(conn_->open());
    imap::Session& session = conn_->session();
    MIGRATE_ASSIGN_OR_RETURN(FolderPlan plan, planner_.plan(session, sink_, report_.warnings));
    std::vector<const PlannedFolder*> selectable;
    std::vector<const PlannedFolder*> copied;
    std::vector<std::string> names;
    std::vector<std::string> excluded;
    for (const PlannedFolder& f : plan.folders) {
      if (f.selectable) {
        selectable.push_back(&f);
        names.push_back(f.rawName);
        excluded.push_back(planner_.exclusionReason(f));
        if (excluded.back().empty()) {
          copied.push_back(&f);
        }
      }
    }
    copiedLabels_ = copiedLabels(copied);
    MIGRATE_ASSIGN_OR_RETURN(imap::Session::StatusResult statuses, session.statusMany(names, false));
    for (size_t i = 0; i < selectable.size(); i++) {
      if (cancelled()) {
        return Status(ErrorKind::Cancelled, "verify stopped on request", "run it again");
      }
      const PlannedFolder& f = *selectable[i];
      const bool statusOk = statuses.errors[i].isOk();
      if (!excluded[i].empty()) {
        report_.excludedFolders.push_back(f.sourceName + ": " + excluded[i]);
        report_.excludedMessages += statusOk ? statuses.statuses[i].messages : 0;
        continue;
      }
      if (f.isInbox && statusOk) {
        MIGRATE_RETURN_IF_ERROR(
            checkSourceIsSelf(session, sink_, statuses.statuses[i], src_, opt_.localUser));
      }
      FolderVerify fv;
      fv.source = f.sourceName;
      fv.destination = f.destName;
      // A folder the source refuses (STATUS or EXAMINE: NO) is named and the others go on; any
      // other failure (connection, destination) ends the verify.
      Status st = statusOk ? verifyFolder(f, fv) : statuses.errors[i];
      if (!st.isOk() && (!statusOk || st.kind() == ErrorKind::NotFound)) {
        fv.error = st.describe();
      } else if (!st.isOk()) {
        return st;
      }
      report_.folders.push_back(std::move(fv));
    }
    return Status::ok();
  }

  Status verifyFolder(const PlannedFolder& f, FolderVerify& fv) {
    imap::Session& session = conn_->session();
    MIGRATE_ASSIGN_OR_RETURN(imap::MailboxStatus ex, session.examine(f.rawName));
    FolderMatch m;
    const bool dedupe = planner_.dedupes(session, f);
    MIGRATE_RETURN_IF_ERROR(listSource(ex, dedupe, m.source));
    fv.sourceMessages = static_cast<uint32_t>(m.source.size());
    Result<std::vector<DestMessage>> dest = sink_.listMessages(f.destName);
    if (dest.isOk()) {
      m.dest = std::move(dest).value();
    } else if (dest.status().kind() == ErrorKind::NotFound) {
      fv.destMissing = true;
    } else {
      return dest.status();
    }
    match(f, ex.uidValidity, m, fv);
    MessageRules rules = planner_.rules();
    rules.dedupe = dedupe;
    for (size_t i = 0; i < m.source.size(); i++) {
      const Listed& s = m.source[i];
      if (m.destOf[i] >= 0) {
        fv.matched++;
        compareMetadata(fv, s, m.dest[static_cast<size_t>(m.destOf[i])]);
      } else if (const char* reason = filterReason(rules, s)) {
        fv.filtered[reason]++;
      } else {
        fv.missing.push_back(s.uid);
      }
    }
    if (vopt_.full) {
      MIGRATE_RETURN_IF_ERROR(compareBodies(f, m, fv));
    }
    findExtra(f, ex, m, fv);
    return Status::ok();
  }

  Status listSource(const imap::MailboxStatus& ex, bool dedupe, std::vector<Listed>& out) {
    if (ex.messages == 0) {
      return Status::ok();
    }
    std::string items = "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]";
    if (dedupe) {
      items += " X-GM-LABELS";
    }
    return conn_->session().uidFetch(1, 0, items, [&](const imap::FetchedMessage& fm) {
      out.push_back(
          {fm.uid, ContentKey{fm.messageId, fm.internalDate, fm.size, fm.uid, {}}, fm.flags, fm.gmLabels});
      return Status::ok();
    });
  }

  // Pairs source and destination messages: by the GUID a migration saved, then by content.
  void match(const PlannedFolder& f, uint32_t uidValidity, FolderMatch& m, FolderVerify& fv) {
    m.destOf.assign(m.source.size(), -1);
    m.used.assign(m.dest.size(), false);
    std::unordered_map<std::string, size_t> byGuid;
    for (size_t j = 0; j < m.dest.size(); j++) {
      if (!m.dest[j].key.guid.empty()) {
        byGuid.emplace(m.dest[j].key.guid, j);
      }
    }
    for (size_t i = 0; i < m.source.size(); i++) {
      auto it = byGuid.find(sourceMessageGuid(src_.user, f.rawName, uidValidity, m.source[i].uid));
      if (it != byGuid.end() && !m.used[it->second]) {
        m.destOf[i] = static_cast<int>(it->second);
        m.used[it->second] = true;
      }
    }
    std::unordered_multimap<ContentKey, size_t, ContentKeyHash> byContent;
    for (size_t j = 0; j < m.dest.size(); j++) {
      if (!m.used[j]) {
        byContent.emplace(m.dest[j].key, j);
      }
    }
    for (size_t i = 0; i < m.source.size(); i++) {
      if (m.destOf[i] >= 0) {
        continue;
      }
      auto it = byContent.find(m.source[i].key);
      if (it != byContent.end()) {
        m.destOf[i] = static_cast<int>(it->second);
        m.used[it->second] = true;
        fv.byContent++;
        byContent.erase(it);
      }
    }
  }

  const char* filterReason(const MessageRules& rules, const Listed& s) const {
    const char* reason = skipReason(rules, s.key.size, s.key.internalDate);
    if (reason == nullptr && rules.dedupe && hasCopiedLabel(s.labels, copiedLabels_)) {
      reason = kSkipDuplicate;
    }
    return reason;
  }

  // --full: the digest of every matched pair's body at both ends.
  Status compareBodies(const PlannedFolder& f, const FolderMatch& m, FolderVerify& fv) {
    std::vector<size_t> pairs;
    for (size_t i = 0; i < m.source.size(); i++) {
      if (m.destOf[i] >= 0) {
        pairs.push_back(i);
      }
    }
    for (size_t start = 0; start < pairs.size(); start += kBodyChunk) {
      const size_t end = std::min(pairs.size(), start + kBodyChunk);
      std::vector<uint32_t> srcUids;
      std::vector<uint32_t> destUids;
      std::unordered_map<uint32_t, size_t> bySourceUid;
      for (size_t k = start; k < end; k++) {
        srcUids.push_back(m.source[pairs[k]].uid);
        destUids.push_back(m.dest[static_cast<size_t>(m.destOf[pairs[k]])].key.uid);
        bySourceUid[m.source[pairs[k]].uid] = pairs[k];
      }
      MIGRATE_ASSIGN_OR_RETURN(auto here, sink_.bodyDigests(f.destName, destUids));
      BodyDigest digest;
      Status st = conn_->session().uidFetchSet(
          imap::compressUidSet(srcUids), "UID BODY.PEEK[]", [&](const imap::FetchedMessage& fm) -> Status {
            auto it = bySourceUid.find(fm.uid);
            if (it == bySourceUid.end() || fm.body == nullptr) {
              return Status::ok();
            }
            MIGRATE_RETURN_IF_ERROR(digestBody(*fm.body, digest));
            report_.bytesCompared += fm.body->size();
            const Listed& s = m.source[it->second];
            const DestMessage& d = m.dest[static_cast<size_t>(m.destOf[it->second])];
            const std::string sourceDigest = digest.finish();
            auto h = here.find(d.key.uid);
            if (h != here.end() && h->second != sourceDigest) {
              addDifference(fv, s, d, "body", "sha256:" + sourceDigest.substr(0, 16),
                            "sha256:" + h->second.substr(0, 16));
            }
            return Status::ok();
          });
      MIGRATE_RETURN_IF_ERROR(st);
    }
    return Status::ok();
  }

  // The destination messages left over: copies of source messages that are gone (their GUID is
  // the one a source UID below UIDNEXT that is no longer listed would have), or local mail.
  void findExtra(const PlannedFolder& f, const imap::MailboxStatus& ex, const FolderMatch& m,
                 FolderVerify& fv) {
    std::unordered_map<std::string, uint32_t> left;  // GUID -> destination UID
    for (size_t j = 0; j < m.dest.size(); j++) {
      if (!m.used[j]) {
        fv.local++;
        if (!m.dest[j].key.guid.empty()) {
          left.emplace(m.dest[j].key.guid, m.dest[j].key.uid);
        }
      }
    }
    if (left.empty()) {
      return;
    }
    std::unordered_set<uint32_t> listed;
    uint32_t last = ex.uidNext > 0 ? ex.uidNext - 1 : 0;
    for (const Listed& s : m.source) {
      listed.insert(s.uid);
      last = std::max(last, s.uid);
    }
    if (last > kMaxExtraScan) {
      report_.warnings.push_back(f.sourceName + ": UIDNEXT " + std::to_string(ex.uidNext) +
                                 " is too high to look for copies of deleted messages; they count as local");
      return;
    }
    for (uint32_t uid = 1; uid <= last && !left.empty(); uid++) {
      if (listed.count(uid) != 0) {
        continue;
      }
      auto it = left.find(sourceMessageGuid(src_.user, f.rawName, ex.uidValidity, uid));
      if (it != left.end()) {
        fv.extra[it->second] = uid;
        fv.local--;
        left.erase(it);
      }
    }
  }

  const MigrationOptions& opt_;
  const VerifyOptions& vopt_;
  SourceOptions src_;
  SourcePlanner planner_;  // after src_, which it changes (preset defaults)
  Sink& sink_;
  std::unique_ptr<SourceConnection> conn_;
  std::set<std::string> copiedLabels_;
  VerifyReport report_;
};

}  // namespace

uint32_t FolderVerify::differing() const {
  std::set<uint32_t> uids;
  for (const VerifyDifference& d : differences) {
    uids.insert(d.sourceUid);
  }
  return static_cast<uint32_t>(uids.size());
}

namespace {

template <class Fn>
uint32_t sum(const std::vector<FolderVerify>& folders, Fn fn) {
  uint32_t n = 0;
  for (const FolderVerify& f : folders) {
    n += fn(f);
  }
  return n;
}

}  // namespace

uint32_t VerifyReport::sourceMessages() const {
  return sum(folders, [](const FolderVerify& f) { return f.sourceMessages; });
}
uint32_t VerifyReport::matched() const {
  return sum(folders, [](const FolderVerify& f) { return f.matched; });
}
uint32_t VerifyReport::missing() const {
  return sum(folders, [](const FolderVerify& f) { return static_cast<uint32_t>(f.missing.size()); });
}
uint32_t VerifyReport::differing() const {
  return sum(folders, [](const FolderVerify& f) { return f.differing(); });
}
uint32_t VerifyReport::extra() const {
  return sum(folders, [](const FolderVerify& f) { return static_cast<uint32_t>(f.extra.size()); });
}
uint32_t VerifyReport::local() const {
  return sum(folders, [](const FolderVerify& f) { return f.local; });
}
uint32_t VerifyReport::filtered() const {
  return sum(folders, [](const FolderVerify& f) {
    uint32_t n = 0;
    for (const auto& [reason, count] : f.filtered) {
      n += count;
    }
    return n;
  });
}
uint32_t VerifyReport::folderErrors() const {
  return sum(folders, [](const FolderVerify& f) { return f.error.empty() ? 0u : 1u; });
}

bool VerifyReport::complete() const {
  return status.isOk() &&
         std::all_of(folders.begin(), folders.end(), [](const FolderVerify& f) { return f.complete(); });
}

const char* VerifyReport::result() const {
  return !status.isOk() ? "failed" : complete() ? "complete" : "incomplete";
}

std::string VerifyReport::summary() const {
  if (!status.isOk()) {
    return "verify failed: " + status.describe();
  }
  const std::string in = " in " + std::to_string(folders.size()) + " folders";
  if (complete()) {
    std::string line =
        "ready for cut-over: all " + std::to_string(matched()) + " messages" + in + " are here";
    line += full ? " (bodies compared)" : "";
    return line;
  }
  std::map<std::string, uint32_t> kinds;
  for (const FolderVerify& f : folders) {
    for (const VerifyDifference& d : f.differences) {
      kinds[d.what]++;
    }
  }
  std::string line = "NOT ready for cut-over: " + std::to_string(missing()) + " missing, " +
                     std::to_string(differing()) + " differing";
  std::string detail;
  for (const auto& [what, n] : kinds) {
    detail += (detail.empty() ? "" : ", ") + what + " " + std::to_string(n);
  }
  line += detail.empty() ? "" : " (" + detail + ")";
  line += ", " + std::to_string(extra()) + " here but gone at the source";
  if (folderErrors() > 0) {
    line += ", " + std::to_string(folderErrors()) + " folders not verified";
  }
  return line + in;
}

VerifyReport runVerify(const MigrationOptions& options, const VerifyOptions& verify, Sink& sink,
                       const TransportFactory& connect) {
  Verify v(options, verify, sink, connect);
  return v.run();
}

}  // namespace migrate
