#include "engine/migrator.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "engine/guid.h"
#include "engine/plan.h"
#include "engine/state.h"
#include "imap/session.h"

namespace migrate {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kFetchItems = "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]";
constexpr const char* kFetchItemsWithMessageId =
    "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[]";

struct ContentKeyHash {
  size_t operator()(const ContentKey& k) const {
    return std::hash<std::string>()(k.messageId) ^ (std::hash<int64_t>()(k.internalDate) * 31) ^
           (std::hash<uint64_t>()(k.size) * 131);
  }
};

class Migration {
 public:
  Migration(const MigrationOptions& options, Sink& sink, const ProgressFn& progress,
            const TransportFactory& connect)
      : opt_(options), sink_(sink), progress_(progress), connect_(connect) {
    src_ = opt_.source;
    src_.applyDefaults();
  }

  MigrationReport run() {
    auto t0 = Clock::now();
    report_.user = opt_.localUser;
    report_.source = src_.describe();
    report_.dryRun = opt_.dryRun;
    Status st = runInner();
    if (session_) {
      if (st.isOk()) {
        (void)session_->logout();
      } else {
        session_->close();
      }
    }
    report_.status = st;
    report_.partial = !st.isOk() && report_.copied > 0;
    report_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (store_) {
      AccountState& as = store_->state();
      as.runEnded = static_cast<int64_t>(std::time(nullptr));
      as.runResult = report_.result();
      as.runMessage = st.isOk() ? std::string() : st.describe();
      Status ss = store_->save();
      if (!ss.isOk() && report_.status.isOk()) {
        report_.status = ss;
      }
    }
    return report_;
  }

 private:
  void event(const std::string& folder, uint32_t done, uint32_t total, const std::string& text) {
    if (progress_) {
      ProgressEvent e;
      e.folder = folder;
      e.done = done;
      e.total = total;
      e.bytes = report_.bytes;
      e.message = text;
      progress_(e);
    }
  }

  Status connect() {
    if (src_.host.empty()) {
      return Status(ErrorKind::Config, "no source host for " + opt_.localUser,
                    "give --source-host or set plugin { migrate_source_host }");
    }
    if (src_.user.empty()) {
      return Status(ErrorKind::Config, "no source login name for " + opt_.localUser,
                    "give --source-user or set plugin { migrate_source_user }");
    }
    if (src_.password.empty()) {
      return Status(
          ErrorKind::Config, "no source password for " + opt_.localUser,
          "give --source-password-file or --source-password-stdin, or set migrate_source_password in "
          "the userdb");
    }
    if (src_.tlsMode == TlsMode::None) {
      report_.warnings.push_back("the password is sent without encryption (--source-tls none)");
    }
    if (!src_.tls.verify && src_.tlsMode != TlsMode::None) {
      report_.warnings.push_back("TLS certificate verification is off (--insecure)");
    }
    net::Endpoint ep{src_.host, src_.port};
    auto t = connect_ ? connect_(src_)
                      : net::connectTcp(ep, src_.tlsMode == TlsMode::Imaps, src_.tls, src_.timeouts);
    if (!t.isOk()) {
      return t.status();
    }
    imap::SessionOptions so;
    so.tempDir = sink_.tempDir();
    so.peerName = src_.host + ":" + std::to_string(src_.port);
    so.greetingTimeoutMs = src_.timeouts.connectMs;
    so.ioTimeoutMs = src_.timeouts.ioMs;
    so.implicitTls = src_.tlsMode == TlsMode::Imaps;
    session_ = std::make_unique<imap::Session>(std::move(t).value(), so);
    Status st = session_->readGreeting();
    if (!st.isOk()) {
      return st;
    }
    if (src_.tlsMode == TlsMode::StartTls) {
      st = session_->startTls(src_.tls);
      if (!st.isOk()) {
        return st;
      }
    }
    return session_->login(src_.user, src_.password, src_.masterUser);
  }

  // The source is this very server when the newest INBOX message at the source has the GUID
  // and UID of a message in the local INBOX (Dovecot's X-GUID; other servers answer BAD, which
  // is fine: they are not this Dovecot).
  Status checkSourceIsSelf(const imap::MailboxStatus& inbox) {
    if (inbox.messages == 0 || inbox.uidNext < 2) {
      return Status::ok();
    }
    // Only a local INBOX that looks exactly like the source's can be the same mailbox.
    Result<DestFolderStatus> localInbox = sink_.folderStatus("INBOX");
    if (!localInbox.isOk() || localInbox.value().uidValidity != inbox.uidValidity ||
        localInbox.value().uidNext != inbox.uidNext || localInbox.value().messages != inbox.messages) {
      return Status::ok();
    }
    Result<imap::MailboxStatus> ex = session_->examine("INBOX");
    if (!ex.isOk()) {
      return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
    }
    std::string xguid;
    uint32_t uid = 0;
    Status st = session_->uidFetch(inbox.uidNext - 1, 0, "UID X-GUID", [&](const imap::FetchedMessage& m) {
      xguid = m.xGuid;
      uid = m.uid;
      return Status::ok();
    });
    if (!st.isOk() && st.kind() != ErrorKind::Protocol) {
      return st;
    }
    if (xguid.empty() || uid == 0) {
      return Status::ok();
    }
    Result<std::unordered_map<std::string, uint32_t>> local = sink_.guidsFrom("INBOX", uid);
    if (!local.isOk()) {
      return Status::ok();  // no local INBOX yet: certainly not the same mailbox
    }
    auto it = local.value().find(xguid);
    if (it != local.value().end() && it->second == uid) {
      return Status(
          ErrorKind::SourceIsSelf,
          "the source " + src_.host + ":" + std::to_string(src_.port) + " is this server: " + src_.user +
              "'s INBOX there is " + opt_.localUser + "'s local INBOX",
          "--source-host must name the OLD server; after the DNS switch its name may point here: use "
          "the old server's IP address or another name for it");
    }
    return Status::ok();
  }

  struct FolderWork {
    const PlannedFolder* plan = nullptr;
    imap::MailboxStatus status;
    Status statusError;
    FolderState* state = nullptr;
    bool known = false;  // there is state from an earlier run
    bool uidValidityChanged = false;
    bool nothingNew = false;
    uint32_t firstNewUid = 1;
    std::vector<std::pair<uint32_t, uint64_t>> pending;  // prescan: (uid, size) to copy
    bool prescanned = false;
  };

  Status runInner() {
    Status st = connect();
    if (!st.isOk()) {
      return st;
    }
    AccountState peeked;
    AccountState* as = &peeked;
    if (!opt_.dryRun) {
      Result<std::string> dir = sink_.stateDir(true);
      if (!dir.isOk()) {
        return dir.status();
      }
      auto store = StateStore::open(dir.value(), src_.host, src_.user);
      if (!store.isOk()) {
        return store.status();
      }
      store_ = std::move(store).value();
      as = &store_->state();
      as->runStarted = static_cast<int64_t>(std::time(nullptr));
      as->runEnded = 0;
      as->runResult = "running";
      as->runMessage.clear();
      // Written with the first folder that changes (and always at the end), so a run with
      // nothing new costs one state write.
    } else {
      Result<std::string> dir = sink_.stateDir(false);
      if (dir.isOk()) {
        auto peek = StateStore::peek(dir.value(), src_.host, src_.user);
        if (peek.isOk()) {
          peeked = std::move(peek).value();
        }
      }
    }

    Result<imap::NamespaceEntry> ns = session_->personalNamespace();
    if (!ns.isOk()) {
      return ns.status();
    }
    Result<std::vector<imap::ListEntry>> entries = session_->list();
    if (!entries.isOk()) {
      return entries.status();
    }
    Result<std::vector<std::string>> subs = session_->lsub();
    if (!subs.isOk()) {
      return subs.status();
    }
    Result<std::vector<DestFolder>> dest = sink_.listFolders();
    if (!dest.isOk()) {
      return dest.status();
    }
    PlanInput pin;
    pin.entries = std::move(entries).value();
    pin.personal = ns.value();
    pin.subscribed.insert(subs.value().begin(), subs.value().end());
    pin.destSeparator = sink_.separator();
    pin.destUnsafeChars = sink_.unsafeNameChars();
    pin.destFolders = std::move(dest).value();
    plan_ = buildPlan(pin);
    for (const std::string& w : plan_.warnings) {
      report_.warnings.push_back(w);
    }

    // STATUS of every selectable folder, pipelined.
    bool condstore = session_->hasCapability("CONDSTORE");
    std::vector<std::string> names;
    std::vector<const PlannedFolder*> selectable;
    for (const PlannedFolder& f : plan_.folders) {
      if (f.selectable) {
        names.push_back(f.rawName);
        selectable.push_back(&f);
      }
    }
    Result<imap::Session::StatusResult> statuses = session_->statusMany(names, condstore);
    if (!statuses.isOk()) {
      return statuses.status();
    }
    std::vector<FolderWork> work(selectable.size());
    for (size_t i = 0; i < selectable.size(); i++) {
      FolderWork& w = work[i];
      w.plan = selectable[i];
      w.status = statuses.value().statuses[i];
      w.statusError = statuses.value().errors[i];
      auto it = as->folders.find(w.plan->rawName);
      w.known = it != as->folders.end() && it->second.uidValidity != 0;
      FolderState& fs = as->folders[w.plan->rawName];
      fs.rawName = w.plan->rawName;
      w.state = &fs;
      if (!w.statusError.isOk()) {
        continue;
      }
      report_.sourceMessages += w.status.messages;
      w.uidValidityChanged = w.known && fs.uidValidity != w.status.uidValidity;
      w.firstNewUid = (w.known && !w.uidValidityChanged) ? fs.lastUid + 1 : 1;
      bool noNewUids = w.known && !w.uidValidityChanged && fs.complete && fs.uidNext == w.status.uidNext &&
                       w.firstNewUid >= w.status.uidNext;
      bool noFlagChanges = condstore ? (fs.highestModSeq != 0 && fs.highestModSeq == w.status.highestModSeq)
                                     : w.status.messages == 0;
      w.nothingNew = noNewUids && noFlagChanges && fs.destName == w.plan->destName;
      if (w.plan->isInbox) {
        st = checkSourceIsSelf(w.status);
        if (!st.isOk()) {
          return st;
        }
      }
    }
    if (!as->folders.empty()) {
      // Drop state of folders that are no longer listed only when they never held anything: a
      // folder that vanished at the source keeps its record for a later reappearance.
    }

    // Quota before copying: what is new at the source against the destination's free space.
    Result<QuotaInfo> quota = sink_.quota();
    if (!quota.isOk()) {
      report_.warnings.push_back("cannot read the quota: " + quota.status().describe());
    } else {
      report_.quotaLimited = quota.value().limited;
      report_.quotaUsed = quota.value().usedBytes;
      report_.quotaLimit = quota.value().limitBytes;
    }
    bool needSizes = opt_.dryRun || report_.quotaLimited;
    uint64_t needed = 0;
    if (needSizes) {
      for (FolderWork& w : work) {
        if (!w.statusError.isOk() || w.nothingNew || w.status.messages == 0) {
          continue;
        }
        st = prescan(w);
        if (!st.isOk()) {
          return st;
        }
        for (const auto& p : w.pending) {
          needed += p.second;
        }
      }
    }
    report_.sourceBytes = needed;
    if (report_.quotaLimited && opt_.quotaPrecheck) {
      uint64_t free = report_.quotaLimit > report_.quotaUsed ? report_.quotaLimit - report_.quotaUsed : 0;
      if (needed > free) {
        return Status(ErrorKind::Quota,
                      "insufficient space for " + opt_.localUser + ": needs " + formatBytes(needed) + ", " +
                          formatBytes(free) + " free of " + formatBytes(report_.quotaLimit) + " quota",
                      "nothing was copied; raise " + opt_.localUser +
                          "'s quota (e.g. userdb quota_rule=*:storage=...) and run the same command again");
      }
    }

    for (FolderWork& w : work) {
      if (opt_.cancelled && opt_.cancelled()) {
        return Status(ErrorKind::Cancelled,
                      "stopped on request after copying " + std::to_string(report_.copied) + " messages",
                      "what was copied stays; run the same command again to continue");
      }
      FolderReport fr;
      fr.source = w.plan->sourceName;
      fr.destination = w.plan->destName;
      fr.sourceMessages = w.status.messages;
      if (!w.statusError.isOk()) {
        fr.note = w.statusError.describe();
        report_.warnings.push_back("folder '" + w.plan->sourceName +
                                   "' skipped: " + w.statusError.describe());
        report_.folders.push_back(fr);
        continue;
      }
      if (opt_.dryRun) {
        fr.pending = static_cast<uint32_t>(w.pending.size());
        for (const auto& p : w.pending) {
          fr.sourceBytes += p.second;
        }
        if (w.uidValidityChanged) {
          fr.note =
              "UIDVALIDITY changed at the source: messages will be matched by Message-ID, date and size";
        }
        report_.folders.push_back(fr);
        continue;
      }
      if (w.nothingNew) {
        report_.folders.push_back(fr);
        continue;
      }
      st = migrateFolder(w, fr);
      report_.folders.push_back(fr);
      report_.copied += fr.copied;
      report_.skipped += fr.skipped;
      report_.failed += fr.failed;
      report_.flagsUpdated += fr.flagsUpdated;
      if (!st.isOk()) {
        return st;
      }
    }
    // Empty parents and \Noselect folders with no selectable children need nothing; subscriptions
    // of \Noselect folders are not carried (Dovecot drops them too).
    return Status::ok();
  }

  Status prescan(FolderWork& w) {
    Result<imap::MailboxStatus> ex = session_->examine(w.plan->rawName);
    if (!ex.isOk()) {
      return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
    }
    uint32_t first = ex.value().uidValidity == w.state->uidValidity ? w.firstNewUid : 1;
    Status st = session_->uidFetch(first, 0, "UID RFC822.SIZE", [&](const imap::FetchedMessage& m) {
      w.pending.emplace_back(m.uid, m.size);
      return Status::ok();
    });
    w.prescanned = st.isOk();
    return st;
  }

  uint64_t pendingAfter(const FolderWork& w, uint32_t uid) const {
    uint64_t n = 0;
    for (const auto& p : w.pending) {
      if (p.first >= uid) {
        n += p.second;
      }
    }
    return n;
  }

  Status quotaStop(const FolderWork& w, const std::vector<FolderWork>* /*unused*/, uint32_t uid,
                   uint64_t size, const Status& saveError) {
    Result<QuotaInfo> q = sink_.quota();
    uint64_t needed = w.prescanned ? pendingAfter(w, uid) : size;
    std::string numbers;
    if (q.isOk() && q.value().limited) {
      uint64_t free =
          q.value().limitBytes > q.value().usedBytes ? q.value().limitBytes - q.value().usedBytes : 0;
      numbers = "needs " + formatBytes(needed) + (w.prescanned ? "" : " or more") + " more, " +
                formatBytes(free) + " free of " + formatBytes(q.value().limitBytes) + " quota";
    } else {
      numbers =
          "the destination refused a message of " + formatBytes(size) + " (" + saveError.message() + ")";
    }
    return Status(
        ErrorKind::Quota,
        "insufficient space for " + opt_.localUser + ": " + numbers + "; stopped in folder '" +
            w.plan->destName + "' after copying " + std::to_string(report_.copied + folderCopied_) +
            " messages",
        "what was copied stays; raise " + opt_.localUser +
            "'s quota (e.g. userdb quota_rule=*:storage=...) or free space, then run the same command "
            "again: it continues where it stopped");
  }

  Status migrateFolder(FolderWork& w, FolderReport& fr) {
    FolderState& fs = *w.state;
    const PlannedFolder& pf = *w.plan;
    folderCopied_ = 0;
    PrepareFolderOptions po;
    po.create = true;
    po.subscribe = pf.subscribed;
    po.uidValidity = (!w.known || w.uidValidityChanged) ? w.status.uidValidity : 0;
    if (w.uidValidityChanged) {
      po.uidValidity = 0;
    }
    Result<DestFolderStatus> dst = sink_.prepareFolder(pf.destName, po);
    if (!dst.isOk()) {
      return dst.status().withPrefix("folder '" + pf.destName + "'");
    }
    fr.created = dst.value().created;
    // Without state, messages already in the folder may be ours (state file lost, or a folder
    // that several source folders go into): check all of their GUIDs once.
    const bool checkAllGuids = !w.known && dst.value().messages > 0;
    if (!w.known) {
      fs.uidValidity = w.status.uidValidity;
      fs.lastUid = 0;
      fs.destName = pf.destName;
      fs.destUidValidity = dst.value().uidValidity;
      fs.destUidNext = dst.value().uidNext;
      fs.preserveUids = dst.value().uidValidity == w.status.uidValidity && dst.value().messages == 0 &&
                        dst.value().uidNext <= 1;
      fs.complete = false;
      if (store_) {
        Status ss = store_->save();
        if (!ss.isOk()) {
          return ss;
        }
      }
    }
    bool contentMatch = false;
    if (w.uidValidityChanged) {
      fr.note = "UIDVALIDITY changed at the source (" + std::to_string(fs.uidValidity) + " -> " +
                std::to_string(w.status.uidValidity) + "): matched by Message-ID, date and size";
      report_.warnings.push_back("folder '" + pf.sourceName + "': " + fr.note);
      contentMatch = true;
      fs.uidValidity = w.status.uidValidity;
      fs.lastUid = 0;
      fs.highestModSeq = 0;
      fs.preserveUids = false;
      fs.complete = false;
      fs.destName = pf.destName;
      fs.destUidNext = dst.value().uidNext;
    }
    if (fs.destName != pf.destName) {
      // The plan now puts this folder elsewhere (e.g. a special-use folder appeared locally):
      // copy new messages there, and look for earlier ones by GUID as after a crash.
      fs.destName = pf.destName;
      fs.destUidNext = 1;
      fs.preserveUids = false;
    }
    fr.uidsPreserved = fs.preserveUids;
    if (!dst.value().haveSaveGuids && dst.value().messages > 0) {
      contentMatch = true;  // no GUIDs in this storage (mbox): recognise copies by content
    }

    Result<imap::MailboxStatus> exr = session_->examine(pf.rawName);
    if (!exr.isOk()) {
      if (exr.status().kind() == ErrorKind::NotFound) {
        fr.note = exr.status().describe();
        report_.warnings.push_back("folder '" + pf.sourceName + "' skipped: " + exr.status().describe());
        return Status::ok();
      }
      return exr.status();
    }
    imap::MailboxStatus ex = exr.value();
    if (ex.uidValidity != fs.uidValidity) {
      // Changed between STATUS and EXAMINE: treat like a UIDVALIDITY change.
      contentMatch = true;
      fs.uidValidity = ex.uidValidity;
      fs.lastUid = 0;
      fs.preserveUids = false;
      fr.uidsPreserved = false;
    }
    bool condstore = session_->hasCapability("CONDSTORE");
    const std::string& host = src_.host;

    // Flag changes at the source on messages copied earlier (source wins for those).
    if (fs.lastUid > 0 && !contentMatch) {
      std::string modifiers;
      bool doFetch = true;
      if (condstore && fs.highestModSeq != 0 && ex.highestModSeq != 0) {
        doFetch = ex.highestModSeq != fs.highestModSeq;
        modifiers = "(CHANGEDSINCE " + std::to_string(fs.highestModSeq) + ")";
      }
      if (doFetch) {
        std::vector<FlagUpdate> updates;
        Status st = session_->uidFetch(
            1, fs.lastUid, "UID FLAGS",
            [&](const imap::FetchedMessage& m) {
              if (m.uid <= fs.lastUid && m.hasFlags) {
                FlagUpdate u;
                u.guid = sourceMessageGuid(host, src_.user, pf.rawName, fs.uidValidity, m.uid);
                u.uidHint = fs.preserveUids ? m.uid : 0;
                u.flags = m.flags;
                updates.push_back(std::move(u));
              }
              return Status::ok();
            },
            modifiers);
        if (!st.isOk()) {
          return st;
        }
        if (!updates.empty()) {
          Result<uint32_t> n = sink_.updateFlags(pf.destName, updates);
          if (!n.isOk()) {
            return n.status().withPrefix("folder '" + pf.destName + "'");
          }
          fr.flagsUpdated = n.value();
        }
      }
    }

    uint32_t first = fs.lastUid + 1;
    if (ex.uidNext != 0 && first >= ex.uidNext) {
      fs.uidNext = ex.uidNext;
      fs.highestModSeq = ex.highestModSeq;
      fs.complete = true;
      return store_ ? store_->save() : Status::ok();
    }

    // Messages of this folder that may already be here: committed by a run that died before it
    // recorded them (found by GUID), or, after a UIDVALIDITY change, copies by content.
    std::unordered_map<std::string, uint32_t> existing;
    if (dst.value().haveSaveGuids && (checkAllGuids || dst.value().uidNext > fs.destUidNext)) {
      Result<std::unordered_map<std::string, uint32_t>> g =
          sink_.guidsFrom(pf.destName, (checkAllGuids || fs.destUidNext == 0) ? 1 : fs.destUidNext);
      if (!g.isOk()) {
        return g.status().withPrefix("folder '" + pf.destName + "'");
      }
      existing = std::move(g).value();
    }
    std::unordered_map<ContentKey, uint32_t, ContentKeyHash> keys;
    if (contentMatch) {
      Result<std::vector<ContentKey>> k = sink_.contentKeys(pf.destName);
      if (!k.isOk()) {
        return k.status().withPrefix("folder '" + pf.destName + "'");
      }
      for (const ContentKey& ck : k.value()) {
        keys[ck]++;
      }
    }

    Status st = sink_.beginBatch(pf.destName);
    if (!st.isOk()) {
      return st;
    }
    uint32_t batchCount = 0;
    uint64_t batchBytes = 0;
    uint32_t batchMaxUid = 0;
    uint32_t total = ex.messages;
    auto commit = [&]() -> Status {
      Result<Sink::CommitResult> cr = sink_.commitBatch();
      if (!cr.isOk()) {
        return cr.status().withPrefix("folder '" + pf.destName + "'");
      }
      if (batchMaxUid > fs.lastUid) {
        fs.lastUid = batchMaxUid;
      }
      fs.destUidNext = cr.value().uidNext;
      fs.destUidValidity = cr.value().uidValidity;
      batchCount = 0;
      batchBytes = 0;
      Status ss = store_ ? store_->save() : Status::ok();
      event(pf.destName, fr.copied + fr.skipped, total,
            pf.destName + ": " + std::to_string(fr.copied + fr.skipped) + "/" + std::to_string(total) +
                " messages");
      return ss;
    };

    Status stop;  // set when a save failed: the fetch is aborted
    Status fst = session_->uidFetch(
        first, 0, contentMatch ? kFetchItemsWithMessageId : kFetchItems,
        [&](const imap::FetchedMessage& m) -> Status {
          if (m.uid <= fs.lastUid) {
            return Status::ok();
          }
          if (opt_.cancelled && opt_.cancelled()) {
            stop = Status(ErrorKind::Cancelled,
                          "stopped on request in folder '" + pf.destName + "' after copying " +
                              std::to_string(report_.copied + folderCopied_) + " messages",
                          "what was copied stays; run the same command again to continue");
            return stop;
          }
          std::string guid = sourceMessageGuid(host, src_.user, pf.rawName, fs.uidValidity, m.uid);
          if (existing.count(guid) != 0) {
            fr.skipped++;
            batchMaxUid = m.uid;
            return Status::ok();
          }
          if (contentMatch) {
            ContentKey ck{m.messageId, m.internalDate, m.size};
            auto it = keys.find(ck);
            if (it != keys.end() && it->second > 0) {
              it->second--;
              fr.skipped++;
              batchMaxUid = m.uid;
              return Status::ok();
            }
          }
          if (m.body == nullptr) {
            fr.failed++;
            report_.warnings.push_back("folder '" + pf.sourceName + "': the server sent no content for UID " +
                                       std::to_string(m.uid) + "; not copied");
            batchMaxUid = m.uid;
            return Status::ok();
          }
          IncomingMessage im;
          im.sourceUid = m.uid;
          im.guid = guid;
          im.flags = m.flags;
          im.internalDate = m.internalDate;
          im.tzOffsetMinutes = m.tzOffsetMinutes;
          im.wantUid = fs.preserveUids ? m.uid : 0;
          im.body = m.body;
          Status s = sink_.save(im);
          if (!s.isOk()) {
            stop = s.kind() == ErrorKind::Quota
                       ? quotaStop(w, nullptr, m.uid, m.body->size(), s)
                       : s.withPrefix("folder '" + pf.destName + "', UID " + std::to_string(m.uid));
            return stop;
          }
          fr.copied++;
          folderCopied_++;
          fr.bytes += m.body->size();
          report_.bytes += m.body->size();
          batchMaxUid = m.uid;
          batchCount++;
          batchBytes += m.body->size();
          if (batchCount >= opt_.batchMessages || batchBytes >= opt_.batchBytes) {
            Status cs = commit();
            if (!cs.isOk()) {
              stop = cs;
              return cs;
            }
            cs = sink_.beginBatch(pf.destName);
            if (!cs.isOk()) {
              stop = cs;
              return cs;
            }
          }
          return Status::ok();
        });
    if (!stop.isOk()) {
      // Keep what was saved before the failure.
      Status cs = commit();
      if (!cs.isOk()) {
        sink_.rollbackBatch();
      }
      return stop;
    }
    if (!fst.isOk()) {
      Status cs = commit();
      if (!cs.isOk()) {
        sink_.rollbackBatch();
      }
      return fst;
    }
    st = commit();
    if (!st.isOk()) {
      return st;
    }
    fs.uidNext = ex.uidNext;
    fs.highestModSeq = ex.highestModSeq;
    fs.complete = true;
    return store_ ? store_->save() : Status::ok();
  }

  const MigrationOptions& opt_;
  SourceOptions src_;
  Sink& sink_;
  const ProgressFn& progress_;
  const TransportFactory& connect_;
  MigrationReport report_;
  std::unique_ptr<imap::Session> session_;
  std::unique_ptr<StateStore> store_;
  FolderPlan plan_;
  uint32_t folderCopied_ = 0;
};

}  // namespace

MigrationReport runMigration(const MigrationOptions& options, Sink& sink, const ProgressFn& progress,
                             const TransportFactory& connect) {
  Migration m(options, sink, progress, connect);
  return m.run();
}

}  // namespace migrate
