#include "engine/folder_copier.h"

#include <algorithm>
#include <chrono>

#include "engine/dest_changes.h"
#include "engine/guid.h"
#include "engine/quota_notice.h"
#include "imap/command.h"

namespace migrate {

namespace {

constexpr const char* kFetchItems = "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]";
// For messages whose BODY[] may hold a NUL as 0x80 (see engine/nul_bytes.h).
constexpr const char* kBinaryFetchItems = "UID FLAGS INTERNALDATE RFC822.SIZE BINARY.PEEK[]";
// UIDs per UID FETCH of planned messages.
constexpr size_t kUidsPerCommand = 2000;

}  // namespace

MessageRules narrowest(const MessageRules& a, const MessageRules& b) {
  auto minNonZero = [](auto x, auto y) { return x == 0 ? y : y == 0 ? x : std::min(x, y); };
  MessageRules r;
  r.maxSize = minNonZero(a.maxSize, b.maxSize);
  r.since = std::max(a.since, b.since);
  r.before = minNonZero(a.before, b.before);
  r.dedupe = a.dedupe || b.dedupe;
  return r;
}

FolderCopier::FolderCopier(const CopierEnv& env, FolderWork& w, FolderReport& fr)
    : env_(env), w_(w), fr_(fr), fs_(*w.state), pf_(*w.plan) {}

Status FolderCopier::run() {
  MIGRATE_RETURN_IF_ERROR(prepareDestination());
  bool found = false;
  MIGRATE_RETURN_IF_ERROR(examineSource(found));
  if (!found) {
    return Status::ok();
  }
  if (fs_.lastUid > 0 && !contentMatch_) {
    MIGRATE_RETURN_IF_ERROR(syncFlags());
  }
  first_ = fs_.lastUid + 1;
  if (w_.rescan) {
    first_ = 1;
    destFrom_ = dst_.messages > 0 ? 1 : 0;
  }
  // The messages the server sent without content last time: fetched again (below the last UID).
  retry_ = fs_.retryUids;
  if (ex_.uidNext != 0 && first_ >= ex_.uidNext && retry_.empty()) {
    fs_.rules = w_.rescan ? w_.rules : narrowest(fs_.rules, w_.rules);
    markComplete();
    return Status::ok();  // written later, as at the end of copyMessages()
  }
  // Which messages are already here (FolderScanner::reconcile()); the prescan's when it holds.
  if (w_.reconciledUidValidity != fs_.uidValidity) {
    w_.reconciled = false;
  }
  if (!w_.reconciled && (destFrom_ != 0 || w_.rules.any() || w_.rescan)) {
    MIGRATE_RETURN_IF_ERROR(env_.scanner.reconcile(w_, ex_, first_, destFrom_));
  }
  fr_.skipped += w_.reconciled ? w_.reconciledSkipped : 0;
  return copyMessages();
}

// Creates the destination folder and starts (or corrects) the folder's record.
Status FolderCopier::prepareDestination() {
  PrepareFolderOptions po;
  po.create = true;
  po.subscribe = pf_.subscribed;
  po.uidValidity = !w_.known ? w_.status.uidValidity : 0;
  MIGRATE_ASSIGN_OR_RETURN(dst_, env_.sink.prepareFolder(pf_.destName, po));
  destFrom_ = uncertainFrom(w_, dst_);
  fr_.created = dst_.created;
  if (!w_.known) {
    fs_.uidValidity = w_.status.uidValidity;
    fs_.lastUid = 0;
    fs_.destName = pf_.destName;
    fs_.destUidValidity = dst_.uidValidity;
    fs_.destUidNext = dst_.uidNext;
    fs_.preserveUids = dst_.uidValidity == w_.status.uidValidity && dst_.messages == 0 && dst_.uidNext <= 1;
    fs_.complete = false;
    fs_.rules = MessageRules();
    // Recorded before copying (whether UIDs are kept must survive a crash in the first batch),
    // unless the prescan found nothing to copy.
    if (env_.store != nullptr && !(w_.reconciled && w_.toCopy.empty())) {
      MIGRATE_RETURN_IF_ERROR(env_.store->save());
    }
  }
  if (w_.uidValidityChanged) {
    resetAfterUidValidityChange();
  }
  if (fs_.destName != pf_.destName) {
    // The plan now puts this folder elsewhere (e.g. a special-use folder appeared locally): copy
    // new messages there, and look for earlier ones by GUID as after a crash.
    fs_.destName = pf_.destName;
    fs_.destUidNext = 1;
    fs_.preserveUids = false;
    fs_.destModSeq = 0;  // the modseqs of another folder
    fs_.changedHere.clear();
  }
  fr_.uidsPreserved = fs_.preserveUids;
  return Status::ok();
}

void FolderCopier::resetAfterUidValidityChange() {
  fr_.note = "UIDVALIDITY changed at the source (" + std::to_string(fs_.uidValidity) + " -> " +
             std::to_string(w_.status.uidValidity) + "): matched by Message-ID, date and size";
  env_.report.warnings.push_back("folder '" + pf_.sourceName + "': " + fr_.note);
  contentMatch_ = true;
  fs_.uidValidity = w_.status.uidValidity;
  fs_.lastUid = 0;
  fs_.highestModSeq = 0;
  fs_.preserveUids = false;
  fs_.complete = false;
  fs_.destName = pf_.destName;
  fs_.destUidNext = dst_.uidNext;
  fs_.rules = MessageRules();
  fs_.retryUids.clear();  // UIDs of the old UIDVALIDITY
}

// EXAMINEs the source folder (`found` false: it is gone, the folder is skipped with a warning).
Status FolderCopier::examineSource(bool& found) {
  Result<imap::MailboxStatus> exr = env_.session.examine(pf_.rawName);
  if (!exr.isOk()) {
    if (exr.status().kind() != ErrorKind::NotFound) {
      return exr.status();
    }
    fr_.note = exr.status().describe();
    env_.report.warnings.push_back("folder '" + pf_.sourceName + "' skipped: " + exr.status().describe());
    return Status::ok();
  }
  found = true;
  ex_ = exr.value();
  if (ex_.uidValidity != fs_.uidValidity) {
    // Changed between STATUS and EXAMINE: treat like a UIDVALIDITY change.
    contentMatch_ = true;
    destFrom_ = dst_.messages > 0 ? 1 : 0;
    fs_.uidValidity = ex_.uidValidity;
    fs_.lastUid = 0;
    fs_.rules = MessageRules();
    fs_.retryUids.clear();
    w_.rescan = false;
    fs_.preserveUids = false;
    fr_.uidsPreserved = false;
  }
  binary_ = env_.session.hasCapability("BINARY");
  return Status::ok();
}

// Flag changes at the source on messages copied earlier (the source wins for those); with
// CONDSTORE only those changed since the last pass.
Status FolderCopier::syncFlags() {
  std::string modifiers;
  if (env_.session.hasCapability("CONDSTORE") && fs_.highestModSeq != 0 && ex_.highestModSeq != 0) {
    if (ex_.highestModSeq == fs_.highestModSeq) {
      return Status::ok();
    }
    modifiers = "(CHANGEDSINCE " + std::to_string(fs_.highestModSeq) + ")";
  }
  std::vector<FlagUpdate> updates;
  MIGRATE_RETURN_IF_ERROR(env_.session.uidFetch(
      1, fs_.lastUid, "UID FLAGS",
      [&](const imap::FetchedMessage& m) {
        if (m.uid <= fs_.lastUid && m.hasFlags) {
          FlagUpdate u;
          u.guid = sourceMessageGuid(env_.sourceUser, pf_.rawName, fs_.uidValidity, m.uid);
          u.uidHint = fs_.preserveUids ? m.uid : 0;
          u.flags = m.flags;
          updates.push_back(std::move(u));
        }
        return Status::ok();
      },
      modifiers));
  if (updates.empty()) {
    return Status::ok();
  }
  std::vector<uint32_t> changed;
  MIGRATE_ASSIGN_OR_RETURN(fr_.flagsUpdated, env_.sink.updateFlags(pf_.destName, updates, &changed));
  noteOwnWrite(changed);
  return Status::ok();
}

Status FolderCopier::copyMessages() {
  MIGRATE_RETURN_IF_ERROR(env_.sink.beginBatch(pf_.destName));
  batch_.started = now();
  below_ = retry_;
  if (w_.reconciled) {
    for (const auto& p : w_.toCopy) {
      if (p.first <= fs_.lastUid) {
        below_.insert(p.first);
      }
    }
  }
  Status fst = fetchAll();
  if (!fst.isOk() || !stop_.isOk()) {
    return endAfterFailure(fst);
  }
  // Everything listed is copied or here already: the skipped tail counts as done too, and so do
  // the UIDs below the UIDNEXT the listing started from that no longer exist (expunged at the
  // source). Without them, a folder whose newest messages were deleted would never look
  // unchanged again, and every pass would list it and commit again.
  uint32_t listedUidNext = w_.reconciled ? w_.listedUidNext : ex_.uidNext;
  batch_.maxUid = std::max(
      {batch_.maxUid, w_.reconciled ? w_.listedMaxUid : 0u, listedUidNext > 0 ? listedUidNext - 1 : 0u});
  MIGRATE_RETURN_IF_ERROR(commit());
  if (w_.rescan) {
    fs_.rules = w_.rules;  // every UID was decided again by these rules
  }
  // What the end of the pass adds to the record (complete, UIDNEXT, HIGHESTMODSEQ) only tells
  // the next run that nothing changed since: it is written with the next commit that saves
  // mail, or at the end of the run (a run killed before that lists the folder again and finds
  // nothing to copy). So a pass that copies nothing writes the state once, at its end.
  markComplete();
  return Status::ok();
}

// The retry list, then what the scan planned (or everything from first_ on), then the messages
// that need BINARY[]. Stops at the first error (a failed save is in stop_).
Status FolderCopier::fetchAll() {
  Status fst;
  if (!retry_.empty()) {
    fst = fetchRetries();
  }
  if (fst.isOk() && stop_.isOk()) {
    fst = w_.reconciled
              ? fetchPlanned()
              : env_.session.uidFetch(first_, 0, kFetchItems,
                                      [this](const imap::FetchedMessage& m) { return onMessage(m); });
  }
  if (fst.isOk() && stop_.isOk() && !nulCandidates_.empty()) {
    fst = fetchWithNuls();
  }
  return fst;
}

Status FolderCopier::fetchRetries() {
  std::set<uint32_t> seen;
  Status fst =
      env_.session.uidFetchSet(imap::compressUidSet(std::vector<uint32_t>(retry_.begin(), retry_.end())),
                               kFetchItems, [&](const imap::FetchedMessage& m) {
                                 seen.insert(m.uid);
                                 return onMessage(m);
                               });
  if (fst.isOk() && stop_.isOk()) {
    for (uint32_t u : retry_) {
      if (seen.count(u) == 0) {
        fs_.retryUids.erase(u);  // no longer at the source
      }
    }
  }
  return fst;
}

// Only what is missing, in UID sets of a bounded size.
Status FolderCopier::fetchPlanned() {
  std::vector<uint32_t> uids;
  for (const auto& p : w_.toCopy) {
    if (p.first > fs_.lastUid || below_.count(p.first) != 0) {
      uids.push_back(p.first);
    }
  }
  Status fst;
  for (size_t i = 0; i < uids.size() && fst.isOk(); i += kUidsPerCommand) {
    std::vector<uint32_t> chunk(uids.begin() + static_cast<long>(i),
                                uids.begin() + static_cast<long>(std::min(uids.size(), i + kUidsPerCommand)));
    fst = env_.session.uidFetchSet(imap::compressUidSet(chunk), kFetchItems,
                                   [this](const imap::FetchedMessage& m) { return onMessage(m); });
  }
  return fst;
}

// The messages whose BODY[] had a 0x80 byte and no encoding BINARY[] would decode: fetched with
// BINARY[] and saved from it when it is provably the same message with NUL bytes where BODY[]
// had 0x80 (engine/nul_bytes.h); otherwise fetched with BODY[] again and saved as it sends them,
// with a warning. Save errors end the fetch and are returned.
Status FolderCopier::fetchWithNuls() {
  auto uidSet = [this]() {
    std::vector<uint32_t> uids;
    uids.reserve(nulCandidates_.size());
    for (const auto& c : nulCandidates_) {
      uids.push_back(c.first);
    }
    return imap::compressUidSet(uids);
  };
  Status saveError;
  Status st =
      env_.session.uidFetchSet(uidSet(), kBinaryFetchItems, [&](const imap::FetchedMessage& m) -> Status {
        auto it = nulCandidates_.find(m.uid);
        if (it == nulCandidates_.end() || m.body == nullptr) {
          return Status::ok();
        }
        Result<BinaryMatch> match = compareBinary(*m.body, it->second);
        if (!match.isOk()) {
          return saveError = match.status();
        }
        if (match.value() == BinaryMatch::Different) {
          return Status::ok();
        }
        nulCandidates_.erase(it);
        saveError = saveOne(m, true);
        return saveError;
      });
  MIGRATE_RETURN_IF_ERROR(saveError);
  // A refusal (e.g. Dovecot's "NO [UNKNOWN-CTE]") leaves the rest to BODY[]; a lost connection
  // does not: the messages stay on the retry list.
  if (!st.isOk() && st.kind() != ErrorKind::Protocol) {
    return st;
  }
  if (nulCandidates_.empty()) {
    return Status::ok();
  }
  return env_.session.uidFetchSet(uidSet(), kFetchItems, [this](const imap::FetchedMessage& m) {
    if (nulCandidates_.erase(m.uid) == 0 || m.body == nullptr) {
      return Status::ok();  // not asked for, or without content: the retry list keeps it
    }
    env_.report.warnings.push_back("folder '" + pf_.sourceName + "' UID " + std::to_string(m.uid) +
                                   ": BINARY[] did not give the same message as BODY[]; stored as BODY[] "
                                   "sent it (its 0x80 bytes may stand for NUL bytes)");
    return saveOne(m, true);
  });
}

Status FolderCopier::onMessage(const imap::FetchedMessage& m) {
  if (m.uid <= fs_.lastUid && below_.count(m.uid) == 0) {
    return Status::ok();
  }
  below_.erase(m.uid);  // once, also when the server sends a message twice
  if (env_.opt.cancelled && env_.opt.cancelled()) {
    stop_ = Status(
        ErrorKind::Cancelled,
        "stopped on request in folder '" + pf_.destName + "' after copying " + copiedSoFar() + " messages",
        "what was copied stays; run the same command again to continue");
    return stop_;
  }
  if (m.body == nullptr) {
    fr_.failed++;
    fs_.retryUids.insert(m.uid);
    env_.report.warnings.push_back("folder '" + pf_.sourceName + "': the server sent no content for UID " +
                                   std::to_string(m.uid) + "; not copied, the next run fetches it again");
    batch_.maxUid = std::max(batch_.maxUid, m.uid);
    return Status::ok();
  }
  if (binary_ && m.body->has0x80()) {
    Result<NulCandidate> c = scanNulCandidate(*m.body);
    if (!c.isOk()) {
      stop_ = c.status();
      return stop_;
    }
    if (c.value().wantBinary()) {
      nulCandidates_[m.uid] = c.value();
      fs_.retryUids.insert(m.uid);  // committed with the batch that passes its UID
      batch_.maxUid = std::max(batch_.maxUid, m.uid);
      return Status::ok();
    }
  }
  return saveOne(m, false);
}

// `late`: saved after messages with higher UIDs, so it keeps its UID only above them.
Status FolderCopier::saveOne(const imap::FetchedMessage& m, bool late) {
  IncomingMessage im;
  im.sourceUid = m.uid;
  im.guid = sourceMessageGuid(env_.sourceUser, pf_.rawName, fs_.uidValidity, m.uid);
  im.flags = m.flags;
  im.internalDate = m.internalDate;
  im.tzOffsetMinutes = m.tzOffsetMinutes;
  // A message below the UIDs copied before (a retry, a rescan) cannot keep its UID.
  im.wantUid = fs_.preserveUids && m.uid > w_.lastUidBefore && (!late || m.uid > highestSaved_) ? m.uid : 0;
  im.body = m.body;
  if (env_.pop3 != nullptr) {
    env_.pop3->apply(m.uid, im);
  }
  Status s = env_.sink.save(im);
  if (!s.isOk()) {
    stop_ = s;
    stopUid_ = m.uid;
    stopSize_ = m.body->size();
    return stop_;
  }
  if (env_.pop3 != nullptr) {
    env_.pop3->count(m.uid);
  }
  const uint64_t size = m.body->size();
  fr_.copied++;
  fr_.bytes += size;
  env_.report.bytes += size;
  batch_.maxUid = std::max(batch_.maxUid, m.uid);
  highestSaved_ = std::max(highestSaved_, m.uid);
  if (fs_.retryUids.count(m.uid) != 0) {
    batch_.retried.push_back(m.uid);
  }
  batch_.count++;
  batch_.bytes += size;
  if (!batchFull()) {
    return Status::ok();
  }
  Status cs = commit();
  if (cs.isOk()) {
    cs = env_.sink.beginBatch(pf_.destName);
    batch_.started = now();
  }
  if (!cs.isOk()) {
    stop_ = cs;
  }
  return cs;
}

bool FolderCopier::batchFull() const {
  const MigrationOptions& o = env_.opt;
  return batch_.count >= o.batchMessages || batch_.bytes >= o.batchBytes ||
         (o.batchSeconds > 0 && now() - batch_.started >= o.batchSeconds);
}

// Commits the batch and records it: the UIDs up to its highest are decided.
Status FolderCopier::commit() {
  MIGRATE_ASSIGN_OR_RETURN(Sink::CommitResult cr, env_.sink.commitBatch());
  fs_.lastUid = std::max(fs_.lastUid, batch_.maxUid);
  // The UIDs up to lastUid are now decided by these rules too.
  fs_.rules = narrowest(fs_.rules, w_.rules);
  for (uint32_t u : batch_.retried) {
    fs_.retryUids.erase(u);
  }
  batch_.retried.clear();
  fs_.destUidNext = cr.uidNext;
  fs_.destUidValidity = cr.uidValidity;
  batch_.count = 0;
  batch_.bytes = 0;
  noteOwnWrite(cr.uids);
  // A batch that saved nothing is recorded with the end of the folder (or of the run).
  Status ss = env_.store != nullptr && !cr.uids.empty() ? env_.store->save() : Status::ok();
  const uint32_t done = fr_.copied + fr_.skipped;
  env_.event(pf_.destName, done, ex_.messages,
             pf_.destName + ": " + std::to_string(done) + "/" + std::to_string(ex_.messages) + " messages");
  return ss;
}

// Keeps what was saved before the failure, then explains it.
Status FolderCopier::endAfterFailure(const Status& fetchError) {
  if (!commit().isOk()) {
    env_.sink.rollbackBatch();
  }
  if (stop_.isOk()) {
    return fetchError;
  }
  if (stop_.kind() != ErrorKind::Quota) {
    return stop_;
  }
  QuotaStop qs;
  qs.localUser = env_.opt.localUser;
  qs.folder = pf_.destName;
  qs.copied = env_.report.copied + fr_.copied;
  qs.refusedSize = stopSize_;
  qs.refusal = stop_.message();
  qs.exact = w_.reconciled;
  qs.neededBytes = stopSize_;
  qs.neededMessages = 1;
  if (qs.exact) {
    qs.neededBytes = 0;
    qs.neededMessages = 0;
    for (const auto& p : w_.toCopy) {
      if (p.first >= stopUid_) {
        qs.neededBytes += p.second;
        qs.neededMessages++;
      }
    }
  }
  return quotaStopped(qs, env_.sink.quota());
}

// The destination's modseq after our write (engine/dest_changes.h). Not an error when it cannot
// be read: the record stays behind, so this write's messages count as changed here, which only
// keeps --sync-deletions from touching them.
void FolderCopier::noteOwnWrite(const std::vector<uint32_t>& uids) {
  if (uids.empty()) {
    return;
  }
  Status st = recordOwnWrite(env_.sink, fs_, uids);
  if (!st.isOk()) {
    env_.report.warnings.push_back("folder '" + pf_.destName +
                                   "': cannot read which messages changed here: " + st.describe());
  }
}

void FolderCopier::markComplete() {
  fs_.uidNext = ex_.uidNext;
  fs_.highestModSeq = ex_.highestModSeq;
  fs_.complete = true;
  completed_ = true;
}

double FolderCopier::now() const {
  if (env_.opt.nowFn) {
    return env_.opt.nowFn();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string FolderCopier::copiedSoFar() const {
  return std::to_string(env_.report.copied + fr_.copied);
}

}  // namespace migrate
