#include "engine/deletion_sync.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "engine/dest_changes.h"
#include "engine/guid.h"
#include "imap/command.h"

namespace migrate {

namespace {

// Gaps below the last copied UID whose GUIDs are computed per folder and pass (about 0.3 s per
// million): a folder with more holes than this is not checked, with a warning.
constexpr uint64_t kMaxGoneUids = 20000000;

constexpr const char* kNewMessageItems =
    "UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]";

std::string folderName(const FolderWork& w) {
  return "folder '" + w.plan->sourceName + "'";
}

}  // namespace

Status DeletionSync::run() {
  checked_.clear();
  for (FolderWork& w : work_) {
    if (eligible(w)) {
      MIGRATE_RETURN_IF_ERROR(checkFolder(w));
    }
  }
  MIGRATE_RETURN_IF_ERROR(matchMoves());
  for (Checked& c : checked_) {
    MIGRATE_RETURN_IF_ERROR(applyFolder(c));
  }
  return Status::ok();
}

Status deletionStopStatus(const MigrationReport& report) {
  if (report.deletionStops.empty()) {
    return Status::ok();
  }
  const size_t n = report.deletionStops.size();
  return Status(
      ErrorKind::Protocol,
      "deletions not carried in " + std::to_string(n) + (n == 1 ? " folder" : " folders") +
          ", for safety: " + report.deletionStops.front() + (n > 1 ? " (and more: see the warnings)" : ""),
      "everything else was copied, and nothing was expunged in that folder; check it at the source. "
      "If its mail really was deleted there, remove the copies here yourself (doveadm expunge); once "
      "the source lists mail again, later runs carry its deletions");
}

// Folders copied by an earlier run, listed without error and not left out now.
bool DeletionSync::eligible(const FolderWork& w) {
  return w.excluded.empty() && w.statusError.isOk() && w.known && w.state != nullptr &&
         w.state->lastUid > 0 && w.state->destName == w.plan->destName;
}

std::string DeletionSync::guidOf(const FolderWork& w, uint32_t uid) const {
  return sourceMessageGuid(env_.sourceUser, w.plan->rawName, w.state->uidValidity, uid);
}

void DeletionSync::stop(FolderWork& w, const std::string& why) {
  w.deletionNote = "deletions not carried: " + why;
  env_.report.deletionStops.push_back(w.plan->sourceName + ": " + why);
  env_.report.warnings.push_back(folderName(w) + ": " + w.deletionNote);
}

Status DeletionSync::checkFolder(FolderWork& w) {
  const FolderState& fs = *w.state;
  if (w.uidValidityChanged) {
    stop(w, "its UIDVALIDITY changed at the source (" + std::to_string(fs.uidValidity) + " -> " +
                std::to_string(w.status.uidValidity) +
                "), so its UIDs no longer say which messages are gone");
    return Status::ok();
  }
  if (fs.checkedUidNext != 0 && w.status.uidNext == fs.checkedUidNext &&
      w.status.messages == fs.checkedMessages) {
    return Status::ok();  // nothing added (same UIDNEXT) and nothing expunged (same count)
  }
  Result<DestFolderStatus> dest = env_.sink.folderStatus(fs.destName);
  if (!dest.isOk()) {
    // Deleted here: no copy left to expunge.
    return dest.status().kind() == ErrorKind::NotFound ? Status::ok() : dest.status();
  }
  if (!dest.value().haveSaveGuids) {
    if (!noGuidsWarned_) {
      noGuidsWarned_ = true;
      env_.report.warnings.push_back(
          "--sync-deletions: the destination storage keeps no message GUIDs (mbox?), so this tool cannot "
          "tell its copies from other mail: deletions are not carried");
    }
    return Status::ok();
  }
  Result<imap::MailboxStatus> ex = env_.session.examine(w.plan->rawName);
  if (!ex.isOk()) {
    return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
  }
  if (ex.value().uidValidity != fs.uidValidity) {
    stop(w, "its UIDVALIDITY changed at the source (" + std::to_string(fs.uidValidity) + " -> " +
                std::to_string(ex.value().uidValidity) +
                "), so its UIDs no longer say which messages are gone");
    return Status::ok();
  }
  MIGRATE_ASSIGN_OR_RETURN(std::vector<uint32_t> listed, listUids(w));
  bool checked = true;
  MIGRATE_ASSIGN_OR_RETURN(std::vector<DestCopy> gone, goneCopies(w, listed, checked));
  if (!checked) {
    return Status::ok();
  }
  if (!gone.empty() && listed.empty()) {
    stop(w, "the source lists none of the messages up to UID " + std::to_string(fs.lastUid) +
                " that this tool copied from it (" + std::to_string(gone.size()) +
                " copies are here); a server that lost its index looks the same");
    return Status::ok();
  }
  Checked c;
  c.w = &w;
  c.ex = ex.value();
  keepChanged(w, gone, c);
  checked_.push_back(std::move(c));
  return Status::ok();
}

// The source UIDs up to the last copied one, ascending.
Result<std::vector<uint32_t>> DeletionSync::listUids(const FolderWork& w) {
  const uint32_t last = w.state->lastUid;
  std::vector<uint32_t> listed;
  MIGRATE_RETURN_IF_ERROR(env_.session.uidFetch(1, last, "UID", [&](const imap::FetchedMessage& m) {
    if (m.uid >= 1 && m.uid <= last) {
      listed.push_back(m.uid);
    }
    return Status::ok();
  }));
  std::sort(listed.begin(), listed.end());
  listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
  return listed;
}

// This tool's copies (by GUID) of the source UIDs up to the last copied one that are not listed.
// `checked` false: the folder has too many gaps to look at (warned).
Result<std::vector<DestCopy>> DeletionSync::goneCopies(const FolderWork& w,
                                                       const std::vector<uint32_t>& listed, bool& checked) {
  const FolderState& fs = *w.state;
  MIGRATE_ASSIGN_OR_RETURN(auto here, env_.sink.guidsFrom(fs.destName, 1));
  std::unordered_set<std::string> listedGuids;
  listedGuids.reserve(listed.size());
  for (uint32_t uid : listed) {
    listedGuids.insert(guidOf(w, uid));
  }
  // What here is not a copy of a listed message: mail delivered here, copies made otherwise, or
  // copies of gone messages.
  std::unordered_map<std::string, uint32_t> others;
  for (const auto& [guid, uid] : here) {
    if (listedGuids.count(guid) == 0) {
      others.emplace(guid, uid);
    }
  }
  if (others.empty()) {
    return std::vector<DestCopy>();
  }
  if (fs.lastUid - listed.size() > kMaxGoneUids) {
    checked = false;
    env_.report.warnings.push_back(folderName(w) + ": deletions not checked: more than " +
                                   std::to_string(kMaxGoneUids) + " source UIDs below " +
                                   std::to_string(fs.lastUid) + " are unused");
    return std::vector<DestCopy>();
  }
  std::vector<uint32_t> uids;
  size_t next = 0;
  for (uint32_t uid = 1; uid <= fs.lastUid && !others.empty(); uid++) {
    if (next < listed.size() && listed[next] == uid) {
      next++;
      continue;
    }
    auto it = others.find(guidOf(w, uid));
    if (it != others.end()) {
      uids.push_back(it->second);
      others.erase(it);
    }
  }
  if (uids.empty()) {
    return std::vector<DestCopy>();
  }
  return env_.sink.copies(fs.destName, uids);
}

// Copies changed here since this tool wrote them stay, and are reported; the rest go to `c`.
void DeletionSync::keepChanged(FolderWork& w, const std::vector<DestCopy>& gone, Checked& c) {
  std::vector<uint32_t> kept;
  for (const DestCopy& copy : gone) {
    if (changedHere(*w.state, copy)) {
      kept.push_back(copy.uid);
    } else {
      Gone g;
      g.copy = copy;
      c.gone.push_back(std::move(g));
    }
  }
  if (kept.empty()) {
    return;
  }
  w.changedHere += static_cast<uint32_t>(kept.size());
  env_.report.warnings.push_back(folderName(w) + ": " + std::to_string(kept.size()) +
                                 " messages deleted or moved at the source were left in '" +
                                 w.plan->destName +
                                 "' because they were changed here since this tool copied them (UIDs " +
                                 imap::compressUidSet(kept) + ")");
}

// Gone messages that reappeared as new messages in another (or the same) folder: moved there.
Status DeletionSync::matchMoves() {
  std::unordered_map<ContentKey, std::vector<Gone*>, ContentKeyHash> byContent;
  for (Checked& c : checked_) {
    for (Gone& g : c.gone) {
      if (!g.copy.key.messageId.empty()) {
        byContent[g.copy.key].push_back(&g);
      }
    }
  }
  for (FolderWork& w : work_) {
    if (byContent.empty()) {
      break;
    }
    const FolderState* fs = w.state;
    if (!eligible(w) || w.uidValidityChanged || !w.deletionNote.empty() ||
        w.status.uidNext <= fs->lastUid + 1) {
      continue;
    }
    Result<imap::MailboxStatus> ex = env_.session.examine(w.plan->rawName);
    if (!ex.isOk() || ex.value().uidValidity != fs->uidValidity) {
      continue;  // the copy pass reports it
    }
    MIGRATE_RETURN_IF_ERROR(
        env_.session.uidFetch(fs->lastUid + 1, 0, kNewMessageItems, [&](const imap::FetchedMessage& m) {
          auto it = byContent.find(ContentKey{m.messageId, m.internalDate, m.size, 0, {}});
          if (m.uid <= fs->lastUid || m.messageId.empty() || it == byContent.end()) {
            return Status::ok();
          }
          Gone* g = it->second.front();
          g->moveTo = &w;
          g->newUid = m.uid;
          g->newFlags = m.flags;
          g->newDate = m.internalDate;
          g->newTz = m.tzOffsetMinutes;
          it->second.erase(it->second.begin());
          if (it->second.empty()) {
            byContent.erase(it);
          }
          return Status::ok();
        }));
  }
  return Status::ok();
}

// Moves, then expunges what is left; records the check.
Status DeletionSync::applyFolder(Checked& c) {
  FolderWork& w = *c.w;
  FolderState& fs = *w.state;
  MIGRATE_RETURN_IF_ERROR(applyMoves(c));
  std::vector<DestCopy> expunge;
  for (const Gone& g : c.gone) {
    if (g.moveTo == nullptr) {
      expunge.push_back(g.copy);
    }
  }
  if (env_.opt.dryRun) {
    w.expunged += static_cast<uint32_t>(expunge.size());
  } else if (!expunge.empty()) {
    MIGRATE_ASSIGN_OR_RETURN(std::vector<uint32_t> done,
                             env_.sink.expunge(fs.destName, expunge, fs.destModSeq));
    w.expunged += static_cast<uint32_t>(done.size());
    // Not expunged: changed (or gone) here between the check and the expunge.
    w.changedHere += static_cast<uint32_t>(expunge.size() - done.size());
  }
  if (env_.opt.dryRun) {
    return Status::ok();
  }
  if (w.expunged > 0 || w.moved > 0) {
    MIGRATE_RETURN_IF_ERROR(recordOwnWrite(env_.sink, fs, {}));
  }
  fs.checkedMessages = c.ex.messages;
  fs.checkedUidNext = c.ex.uidNext;
  if (w.expunged > 0 || w.moved > 0) {
    env_.note(w.plan->destName + ": " + std::to_string(w.expunged) + " expunged, " + std::to_string(w.moved) +
              " moved (deleted or moved at the source)");
  }
  return env_.store != nullptr ? env_.store->save() : Status::ok();
}

Status DeletionSync::applyMoves(Checked& c) {
  FolderWork& w = *c.w;
  for (Gone& g : c.gone) {
    if (g.moveTo == nullptr) {
      continue;
    }
    if (env_.opt.dryRun) {
      w.moved++;
      continue;
    }
    FolderState& to = *g.moveTo->state;
    MoveRequest r;
    r.from = w.state->destName;
    r.uid = g.copy.uid;
    r.guid = g.copy.guid;
    r.unchangedSince = w.state->destModSeq;
    r.to = to.destName;
    r.newGuid = guidOf(*g.moveTo, g.newUid);
    r.flags = g.newFlags;
    r.internalDate = g.newDate;
    r.tzOffsetMinutes = g.newTz;
    r.wantUid = to.preserveUids ? g.newUid : 0;
    Result<uint32_t> moved = env_.sink.move(r);
    if (!moved.isOk() && moved.status().kind() == ErrorKind::NotFound) {
      g.moveTo = nullptr;  // its new folder was deleted here: expunged, and the copy pass copies it
      continue;
    }
    MIGRATE_ASSIGN_OR_RETURN(uint32_t uid, std::move(moved));
    if (uid == 0) {
      w.changedHere++;  // changed here between the check and the move
      continue;
    }
    w.moved++;
    MIGRATE_RETURN_IF_ERROR(recordOwnWrite(env_.sink, to, {uid}));
    g.moveTo->reconciled = false;  // the copy pass must see the moved copy (by its GUID)
  }
  return Status::ok();
}

}  // namespace migrate
