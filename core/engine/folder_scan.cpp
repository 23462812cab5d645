#include "engine/folder_scan.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "engine/gmail_labels.h"
#include "engine/guid.h"

namespace migrate {

struct FolderScanner::DestIndex {
  std::unordered_set<std::string> guids;
  std::unordered_map<ContentKey, uint32_t, ContentKeyHash> content;

  // Whether a destination message is this source message: by GUID, or by content (each
  // destination message matches one source message only).
  bool matches(const std::string& guid, const ContentKey& key) {
    if (guids.count(guid) != 0) {
      return true;
    }
    auto it = content.find(key);
    if (it == content.end() || it->second == 0) {
      return false;
    }
    it->second--;
    return true;
  }
};

uint32_t uncertainFrom(const FolderWork& w, const DestFolderStatus& dest) {
  if (dest.messages == 0) {
    return 0;
  }
  const FolderState& fs = *w.state;
  bool asRecorded = w.known && !w.uidValidityChanged && fs.destName == w.plan->destName && fs.destUidNext > 0;
  uint32_t from = asRecorded ? fs.destUidNext : 1;
  return dest.uidNext > from ? from : 0;
}

Status FolderScanner::prescan(FolderWork& w) {
  Result<imap::MailboxStatus> ex = session_.examine(w.plan->rawName);
  if (!ex.isOk()) {
    return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
  }
  if (ex.value().uidValidity != w.status.uidValidity) {
    return Status::ok();  // changed since STATUS: the copy sorts it out
  }
  uint32_t destFrom = 0;
  Result<DestFolderStatus> d = sink_.folderStatus(w.plan->destName);
  if (d.isOk()) {
    destFrom = uncertainFrom(w, d.value());
    if (w.rescan && d.value().messages > 0) {
      destFrom = 1;  // anything the stored rules skipped may have come in another way since
    }
  } else if (d.status().kind() != ErrorKind::NotFound) {
    return d.status();
  }
  return reconcile(w, ex.value(), w.firstNewUid, destFrom);
}

Status FolderScanner::reconcile(FolderWork& w, const imap::MailboxStatus& ex, uint32_t first,
                                uint32_t destFrom) {
  w.reconciled = false;
  w.toCopy.clear();
  w.reconciledSkipped = 0;
  w.listedMaxUid = 0;
  w.listedUidNext = ex.uidNext;
  std::vector<Listed> listed;
  MIGRATE_RETURN_IF_ERROR(listSource(w, first, destFrom, listed));
  DestIndex dest;
  if (destFrom != 0) {
    MIGRATE_RETURN_IF_ERROR(indexDestination(w, ex.uidValidity, destFrom, listed, dest));
  }
  std::map<uint32_t, const char*>& filtered = filtered_[w.plan->sourceName];
  for (const Listed& l : listed) {
    w.listedMaxUid = std::max(w.listedMaxUid, l.uid);
    if (takenBefore(w, l)) {
      continue;  // taken by an earlier run (it may have been deleted here since: not again)
    }
    if (destFrom != 0 &&
        dest.matches(sourceMessageGuid(sourceUser_, w.plan->rawName, ex.uidValidity, l.uid), l.key)) {
      w.reconciledSkipped++;
      continue;
    }
    if (const char* reason = filterReason(w.rules, l)) {
      filtered[l.uid] = reason;
      continue;
    }
    filtered.erase(l.uid);
    w.toCopy.emplace_back(l.uid, l.size);
  }
  w.reconciledUidValidity = ex.uidValidity;
  w.reconciled = true;
  return Status::ok();
}

// UID, size, and what the decisions need: dates for date rules and content matching, labels
// for Gmail, Message-IDs for content matching.
Status FolderScanner::listSource(const FolderWork& w, uint32_t first, uint32_t destFrom,
                                 std::vector<Listed>& listed) {
  const MessageRules& old = w.oldRules;
  std::string items = "UID RFC822.SIZE";
  if (destFrom != 0 || w.rules.since != 0 || w.rules.before != 0 ||
      (w.rescan && (old.since != 0 || old.before != 0))) {
    items += " INTERNALDATE";
  }
  if (w.rules.dedupe || (w.rescan && old.dedupe)) {
    items += " X-GM-LABELS";
  }
  if (destFrom != 0) {
    items += " BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]";
  }
  return session_.uidFetch(first, 0, items, [&](const imap::FetchedMessage& m) {
    listed.push_back({m.uid, m.size, ContentKey{m.messageId, m.internalDate, m.size, 0, {}}, m.gmLabels});
    return Status::ok();
  });
}

Status FolderScanner::indexDestination(const FolderWork& w, uint32_t uidValidity, uint32_t destFrom,
                                       const std::vector<Listed>& listed, DestIndex& index) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<ContentKey> keys, sink_.contentKeys(w.plan->destName, destFrom));
  std::unordered_set<std::string> sourceGuids;
  for (const Listed& l : listed) {
    sourceGuids.insert(sourceMessageGuid(sourceUser_, w.plan->rawName, uidValidity, l.uid));
  }
  for (const ContentKey& k : keys) {
    if (!k.guid.empty() && sourceGuids.count(k.guid) != 0) {
      index.guids.insert(k.guid);
    } else {
      index.content[k]++;
    }
  }
  return Status::ok();
}

// A rescan lists UIDs that an earlier run decided already: those its rules took are not copied
// again.
bool FolderScanner::takenBefore(const FolderWork& w, const Listed& l) const {
  return w.rescan && l.uid <= w.lastUidBefore && filterReason(w.oldRules, l) == nullptr;
}

const char* FolderScanner::filterReason(const MessageRules& rules, const Listed& l) const {
  const char* reason = skipReason(rules, l.size, l.key.internalDate);
  if (reason == nullptr && rules.dedupe && hasCopiedLabel(l.labels, copiedLabels_)) {
    reason = kSkipDuplicate;
  }
  return reason;
}

}  // namespace migrate
