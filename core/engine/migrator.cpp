// The run: one user's migration from start to report. It opens the connection (retrying after
// drops and throttling), reads the account's state, plans the folders, checks the quota, hands
// each folder to a FolderCopier and writes what happened into the report and the state.

#include "engine/migrator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "engine/deletion_sync.h"
#include "engine/folder_copier.h"
#include "engine/folder_scan.h"
#include "engine/gmail_labels.h"
#include "engine/plan.h"
#include "engine/pop3_carry.h"
#include "engine/preset.h"
#include "engine/quota_notice.h"
#include "engine/selection.h"
#include "engine/self_check.h"
#include "engine/sieve_copy.h"
#include "engine/source_connection.h"
#include "engine/source_plan.h"
#include "engine/source_services.h"
#include "engine/state.h"

namespace migrate {

namespace {

using Clock = std::chrono::steady_clock;

// Adds the counts of `from` to `to` (a folder's counts over the attempts of a run).
void addCounts(FolderReport& to, const FolderReport& from) {
  to.copied += from.copied;
  to.skipped += from.skipped;
  to.failed += from.failed;
  to.bytes += from.bytes;
  to.flagsUpdated += from.flagsUpdated;
  to.expunged += from.expunged;
  to.moved += from.moved;
  to.changedHere += from.changedHere;
  to.created = to.created || from.created;
}

class Migration {
 public:
  Migration(const MigrationOptions& options, Sink& sink, const ProgressFn& progress,
            const TransportFactory& connect)
      : opt_(options), src_(options.source), planner_(src_), sink_(sink), progress_(progress) {
    SourceConnectionEnv env = runConnectionEnv(opt_, planner_.preset(), sink_.tempDir(), connect);
    // The POP3 and ManageSieve sides connect and are paced as the IMAP side is.
    serviceEnv_ = ServiceConnectEnv{connect, env.maxBytesPerSecond};
    env.note = [this](const std::string& text) { event("", 0, 0, text); };
    env.warn = [this](const std::string& text) { report_.warnings.push_back(text); };
    conn_ = std::make_unique<SourceConnection>(src_, std::move(env));
  }

  MigrationReport run() {
    auto t0 = Clock::now();
    report_.user = opt_.localUser;
    report_.source = src_.describe();
    report_.dryRun = opt_.dryRun;
    Status st = planner_.presetError().isOk() ? runWithRetries() : planner_.presetError();
    runSieve(st);
    countFilterSkips();
    countExclusions();
    pop3_.finish(report_.pop3, warnFn());
    conn_->close(st.isOk());
    conn_->releaseSlot();
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
  bool cancelled() const { return opt_.cancelled && opt_.cancelled(); }

  uint64_t progressMark() const {
    return static_cast<uint64_t>(report_.copied) + report_.skipped + report_.flagsUpdated + report_.failed +
           foldersDone_;
  }

  void waitFor(double seconds) {
    report_.waitedSeconds += seconds;
    if (opt_.sleepFn) {
      opt_.sleepFn(seconds);
      return;
    }
    auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until && !cancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Runs the migration, reconnecting after a lost connection, a timeout or throttling, as long as
  // each attempt (or one of the last `retries`) made progress. State only advances after local
  // commits, so a new attempt resumes every folder from its last committed UID.
  Status runWithRetries() {
    uint32_t idle = 0;
    Status st;
    for (uint32_t attempt = 0;; attempt++) {
      uint64_t before = progressMark();
      for (const FolderReport& f : report_.folders) {
        addCounts(carried_[f.destination], f);
      }
      report_.folders.clear();
      st = runAttempt();
      if (st.isOk() || !st.retriable() || opt_.dryRun || cancelled()) {
        break;
      }
      conn_->close(false);
      conn_->releaseSlot();  // the next attempt waits its turn like any other connection
      idle = progressMark() > before ? 0 : idle + 1;
      if (idle > opt_.retries || attempt >= 100000) {
        st = Status(st.kind(), st.message(),
                    (st.hint().empty() ? std::string() : st.hint() + "; ") + "gave up after " +
                        std::to_string(idle) + " attempts in a row without progress");
        break;
      }
      double delay = reconnectDelay(st, idle);
      report_.reconnects++;
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.0f", delay);
      report_.warnings.push_back(st.describe() + "; reconnecting in " + buf + " s and resuming");
      event("", 0, 0, report_.warnings.back());
      waitFor(delay);
    }
    for (FolderReport& f : report_.folders) {
      auto it = carried_.find(f.destination);
      if (it != carried_.end()) {
        addCounts(f, it->second);
      }
    }
    return st;
  }

  // One connection's worth of the run.
  Status runAttempt() {
    MIGRATE_RETURN_IF_ERROR(conn_->open());
    AccountState peeked;
    MIGRATE_ASSIGN_OR_RETURN(AccountState * as, accountState(peeked));
    MIGRATE_RETURN_IF_ERROR(planFolders());
    std::vector<FolderWork> work;
    MIGRATE_RETURN_IF_ERROR(folderWork(*as, work));
    if (src_.syncDeletions) {
      // Before the quota check and the copy: expunges free space, moves save downloads.
      report_.deletionStops.clear();
      DeletionEnv env{
          opt_, conn_->session(), sink_, store_.get(), src_.user, report_, [this](const std::string& text) {
            event("", 0, 0, text);
          }};
      MIGRATE_RETURN_IF_ERROR(DeletionSync(env, work).run());
    }
    FolderScanner scanner(conn_->session(), sink_, src_.user, copiedLabels_, filtered_);
    Status quotaShort;  // the new mail does not fit: a dry run shows its plan and says so
    MIGRATE_RETURN_IF_ERROR(checkQuota(work, scanner, quotaShort));
    MIGRATE_RETURN_IF_ERROR(readPop3(work));
    MIGRATE_RETURN_IF_ERROR(copyFolders(work, scanner));
    // Empty parents and \Noselect folders with no selectable children need nothing; subscriptions
    // of \Noselect folders are not carried (Dovecot drops them too).
    MIGRATE_RETURN_IF_ERROR(deletionStopStatus(report_));
    return opt_.dryRun ? quotaShort : Status::ok();
  }

  // After the mail (its folders exist now): the old server's Sieve scripts (engine/sieve_copy.h).
  // Never changes the run's result: its outcome is the report's sieve column and warnings.
  void runSieve(const Status& mail) {
    if (src_.sieve.mode == ServiceChoice::Mode::No) {
      return;
    }
    if (!mail.isOk()) {
      report_.sieve.result = "skipped";
      report_.sieve.reason = "the mail migration stopped first";
      return;
    }
    SieveStepEnv env;
    env.sink = &sink_;
    env.plan = &plan_;
    env.dryRun = opt_.dryRun;
    const ServiceEndpoint ep = sieveEndpoint(src_);
    env.autoMode = ep.automatic;
    env.where = ep.describe();
    env.connect = [this, &ep] { return openManageSieve(src_, ep, serviceEnv_); };
    report_.sieve = copySieveScripts(env);
    std::vector<std::string> notes;
    describeSieveReport(report_.sieve, report_.warnings, notes);
    for (const std::string& n : notes) {
      event("", 0, 0, n);
    }
  }

  // The account's state: opened (and locked) by the first attempt of a real run and kept by the
  // later ones; a dry run only peeks at it (into `peeked`).
  Result<AccountState*> accountState(AccountState& peeked) {
    if (store_) {
      return &store_->state();  // a later attempt of this run: the state (and its lock) is ours
    }
    if (opt_.dryRun) {
      Result<std::string> dir = sink_.stateDir(false);
      if (dir.isOk()) {
        auto peek = StateStore::peek(dir.value(), src_.host, src_.user);
        if (peek.isOk()) {
          peeked = std::move(peek).value();
        }
      }
      return &peeked;
    }
    MIGRATE_ASSIGN_OR_RETURN(std::string dir, sink_.stateDir(true));
    MIGRATE_ASSIGN_OR_RETURN(store_, StateStore::open(dir, src_.host, src_.user));
    AccountState* as = &store_->state();
    as->runStarted = static_cast<int64_t>(std::time(nullptr));
    as->runEnded = 0;
    as->runResult = "running";
    as->runMessage.clear();
    // Written when a folder's record changes (StateStore::save()), so a run with nothing new
    // writes nothing.
    return as;
  }

  // Lists the source's folders and maps them to the destination's (engine/plan.h).
  Status planFolders() {
    MIGRATE_ASSIGN_OR_RETURN(plan_, planner_.plan(conn_->session(), sink_, report_.warnings));
    return Status::ok();
  }

  // STATUS of every selectable folder (pipelined), and what each needs (`work`, in plan order).
  Status folderWork(AccountState& as, std::vector<FolderWork>& work) {
    imap::Session& session = conn_->session();
    const bool condstore = session.hasCapability("CONDSTORE");
    std::vector<std::string> names;
    std::vector<const PlannedFolder*> selectable;
    std::vector<std::string> excluded;  // per selectable folder: why it is left out ("" : it is not)
    std::vector<const PlannedFolder*> copied;
    for (const PlannedFolder& f : plan_.folders) {
      if (f.selectable) {
        names.push_back(f.rawName);
        selectable.push_back(&f);
        excluded.push_back(planner_.exclusionReason(f));
        if (excluded.back().empty()) {
          copied.push_back(&f);
        }
      }
    }
    MIGRATE_ASSIGN_OR_RETURN(imap::Session::StatusResult statuses, session.statusMany(names, condstore));
    copiedLabels_ = copiedLabels(copied);
    if (progress_) {
      ProgressEvent planned;
      planned.foldersTotal = static_cast<uint32_t>(copied.size());
      planned.bytes = report_.bytes;
      planned.message = std::to_string(copied.size()) + " folders to copy";
      progress_(planned);
    }
    work.resize(selectable.size());
    for (size_t i = 0; i < selectable.size(); i++) {
      FolderWork& w = work[i];
      w.plan = selectable[i];
      w.excluded = excluded[i];
      w.status = statuses.statuses[i];
      w.statusError = statuses.errors[i];
      w.rules = planner_.rules();
      w.rules.dedupe = planner_.dedupes(session, *w.plan);
      initWork(w, as, condstore);
      if (w.plan->isInbox) {
        MIGRATE_RETURN_IF_ERROR(checkSourceIsSelf(session, sink_, w.status, src_, opt_.localUser));
      }
    }
    return Status::ok();
  }

  // Where the folder's copy starts, from its STATUS and its record of earlier runs (or, for a
  // folder left out, what the report says of it).
  void initWork(FolderWork& w, AccountState& as, bool condstore) {
    if (!w.excluded.empty()) {
      excluded_[w.plan->sourceName] = {w.statusError.isOk() ? w.status.messages : 0,
                                       w.plan->sourceName + ": " + w.excluded};
      return;
    }
    auto it = as.folders.find(w.plan->rawName);
    w.known = it != as.folders.end() && it->second.uidValidity != 0;
    FolderState& fs = as.folders[w.plan->rawName];
    fs.rawName = w.plan->rawName;
    w.state = &fs;
    if (!w.statusError.isOk()) {
      return;
    }
    report_.sourceMessages += w.status.messages;
    w.uidValidityChanged = w.known && fs.uidValidity != w.status.uidValidity;
    const bool sameUids = w.known && !w.uidValidityChanged;
    w.firstNewUid = sameUids ? fs.lastUid + 1 : 1;
    w.oldRules = fs.rules;
    w.lastUidBefore = fs.lastUid;
    w.rescan = sameUids && fs.lastUid > 0 && fs.rules.widenedBy(w.rules);
    if (w.rescan) {
      w.firstNewUid = 1;
    }
    bool noNewUids =
        sameUids && fs.complete && fs.uidNext == w.status.uidNext && w.firstNewUid >= w.status.uidNext;
    bool noFlagChanges = condstore ? (fs.highestModSeq != 0 && fs.highestModSeq == w.status.highestModSeq)
                                   : w.status.messages == 0;
    w.nothingNew =
        noNewUids && noFlagChanges && fs.destName == w.plan->destName && !w.rescan && fs.retryUids.empty();
  }

  // Quota before copying: what is new at the source against the destination's free space.
  // `quotaShort`: it does not fit. The new messages of every folder are listed with their sizes
  // (UID RFC822.SIZE, FolderScanner::prescan) whether or not there is a quota: the copy then
  // fetches exactly those, and the run status shows progress against their total (issue 14;
  // the cost of the listing is in bench/README.md).
  Status checkQuota(std::vector<FolderWork>& work, FolderScanner& scanner, Status& quotaShort) {
    Result<QuotaInfo> quota = sink_.quota();
    if (!quota.isOk()) {
      report_.warnings.push_back("cannot read the quota: " + quota.status().describe());
    } else {
      report_.quotaLimited = quota.value().limited;
      report_.quotaUsed = quota.value().usedBytes;
      report_.quotaLimit = quota.value().limitBytes;
    }
    uint64_t needed = 0;
    uint64_t neededMessages = 0;
    for (FolderWork& w : work) {
      if (!w.excluded.empty() || !w.statusError.isOk() || w.nothingNew || w.status.messages == 0) {
        continue;
      }
      MIGRATE_RETURN_IF_ERROR(scanner.prescan(w));
      for (const auto& p : w.toCopy) {
        needed += p.second;
      }
      neededMessages += w.toCopy.size();
    }
    report_.sourceBytes = needed;
    if (progress_ && !opt_.dryRun) {
      // Counting what earlier attempts of this run copied (their messages are listed no more).
      ProgressEvent totals;
      totals.totalsKnown = true;
      totals.totalMessages = report_.copied + report_.failed + neededMessages;
      totals.totalBytes = report_.bytes + needed;
      totals.bytes = report_.bytes;
      totals.message = std::to_string(neededMessages) + " messages (" + formatBytes(needed) + ") to copy";
      progress_(totals);
    }
    if (quota.isOk() && opt_.quotaPrecheck) {
      quotaShort = quotaShortfall(quota.value(), needed, neededMessages, opt_.localUser, opt_.dryRun);
      // A dry run still shows its plan; a real run stops before copying anything.
      if (!quotaShort.isOk() && !opt_.dryRun) {
        return quotaShort;
      }
    }
    return Status::ok();
  }

  // The old server's POP3 UIDLs, once per run, when INBOX has mail to copy (engine/pop3_carry.h).
  Status readPop3(const std::vector<FolderWork>& work) {
    if (src_.pop3.mode == ServiceChoice::Mode::No || pop3Read_) {
      return Status::ok();
    }
    for (const FolderWork& w : work) {
      if (!w.plan->isInbox || !w.excluded.empty() || !w.statusError.isOk() || w.nothingNew ||
          w.status.messages == 0) {
        continue;
      }
      if (w.firstNewUid >= w.status.uidNext && !w.rescan && w.state->retryUids.empty()) {
        continue;  // flag changes only
      }
      MIGRATE_RETURN_IF_ERROR(pop3_.read(conn_->session(), src_, serviceEnv_, report_.pop3, warnFn()));
      pop3Read_ = true;
      if (report_.pop3.state == "skipped") {
        event("", 0, 0, "no POP3 UIDLs: " + report_.pop3.reason);
      } else if (report_.pop3.state == "read") {
        char secs[32];
        std::snprintf(secs, sizeof(secs), "%.2f", report_.pop3.seconds);
        event("", 0, 0,
              "POP3 UIDLs from " + report_.pop3.server + ": " + std::to_string(report_.pop3.listed) +
                  " listed and matched to INBOX in " + secs + " s");
      }
      addEarlierUidls(w);
    }
    return Status::ok();
  }

  // Copies of earlier runs saved without their old UIDL (a run with --source-pop3 no, or whose
  // POP3 side failed) get it now where the storage allows (maildir). Not worth stopping for.
  void addEarlierUidls(const FolderWork& inbox) {
    std::vector<Pop3UidlUpdate> updates = pop3_.earlierCopies(inbox, src_.user);
    if (updates.empty() || opt_.dryRun) {
      return;
    }
    Result<uint32_t> added = sink_.addPop3Uidls(inbox.plan->destName, updates);
    if (added.isOk()) {
      report_.pop3.added = added.value();
    } else {
      warnFn()("POP3 UIDLs of messages copied earlier not added: " + added.status().describe());
    }
  }

  Status copyFolders(std::vector<FolderWork>& work, FolderScanner& scanner) {
    for (FolderWork& w : work) {
      if (cancelled()) {
        return Status(ErrorKind::Cancelled,
                      "stopped on request after copying " + std::to_string(report_.copied) + " messages",
                      "what was copied stays; run the same command again to continue");
      }
      if (!w.excluded.empty()) {
        continue;
      }
      FolderReport fr;
      fr.source = w.plan->sourceName;
      fr.destination = w.plan->destName;
      fr.sourceMessages = w.status.messages;
      addDeletions(w, fr);
      if (!w.statusError.isOk()) {
        fr.note = w.statusError.describe();
        report_.warnings.push_back("folder '" + w.plan->sourceName +
                                   "' skipped: " + w.statusError.describe());
      } else if (opt_.dryRun) {
        describePending(w, fr);
        if (w.plan->isInbox) {
          for (const auto& p : w.toCopy) {
            pop3_.count(p.first);
          }
        }
      } else if (!w.nothingNew) {
        Status st = copyFolder(w, scanner, fr);
        report_.folders.push_back(fr);
        MIGRATE_RETURN_IF_ERROR(st);
        continue;
      }
      report_.folders.push_back(fr);
    }
    return Status::ok();
  }

  Status copyFolder(FolderWork& w, FolderScanner& scanner, FolderReport& fr) {
    CopierEnv env{opt_,
                  conn_->session(),
                  sink_,
                  store_.get(),
                  src_.user,
                  report_,
                  scanner,
                  [this](const std::string& folder, uint32_t done, uint32_t total, const std::string& text) {
                    event(folder, done, total, text);
                  },
                  w.plan->isInbox && pop3_.active() ? &pop3_ : nullptr};
    FolderCopier copier(env, w, fr);
    Status st = copier.run();
    foldersDone_ += copier.completed() ? 1 : 0;
    report_.copied += fr.copied;
    report_.skipped += fr.skipped;
    report_.failed += fr.failed;
    report_.flagsUpdated += fr.flagsUpdated;
    return st;
  }

  // What the deletion pass did in the folder (engine/deletion_sync.h).
  void addDeletions(const FolderWork& w, FolderReport& fr) {
    fr.expunged = w.expunged;
    fr.moved = w.moved;
    fr.changedHere = w.changedHere;
    fr.note = w.deletionNote;
    report_.expunged += w.expunged;
    report_.moved += w.moved;
    report_.changedHere += w.changedHere;
  }

  // A dry run's line for the folder: what a run would copy.
  static void describePending(const FolderWork& w, FolderReport& fr) {
    fr.pending = static_cast<uint32_t>(w.toCopy.size());
    fr.skipped = w.reconciledSkipped;
    for (const auto& p : w.toCopy) {
      fr.sourceBytes += p.second;
    }
    if (w.uidValidityChanged) {
      fr.note = "UIDVALIDITY changed at the source: messages will be matched by Message-ID, date and size";
    }
  }

  // Moves what the filters skipped into the report (once, after every attempt).
  void countFilterSkips() {
    for (FolderReport& f : report_.folders) {
      auto it = filtered_.find(f.source);
      if (it != filtered_.end()) {
        for (const auto& [uid, reason] : it->second) {
          f.skippedByReason[reason]++;
        }
      }
      if (f.skipped > 0) {
        f.skippedByReason[kSkipPresent] = f.skipped;
      }
    }
    for (const auto& [folder, uids] : filtered_) {
      for (const auto& [uid, reason] : uids) {
        report_.skippedByReason[reason]++;
      }
    }
    for (const FolderReport& f : report_.folders) {
      std::string counts;
      for (const auto& [reason, n] : f.skippedByReason) {
        if (reason != kSkipPresent) {
          counts += (counts.empty() ? "" : ", ") + std::string(reason) + " " + std::to_string(n);
        }
      }
      if (!counts.empty()) {
        event(f.destination, 0, 0, f.destination + ": not copied by the filters: " + counts);
      }
    }
  }

  // Moves the folders left out by --include / --exclude / the preset into the report.
  void countExclusions() {
    for (const auto& [folder, e] : excluded_) {
      if (e.first > 0) {
        report_.skippedByReason[kSkipExcluded] += e.first;
      }
      report_.excludedFolders.push_back(e.second);
      event("", 0, 0, "left out: " + e.second + " (" + std::to_string(e.first) + " messages)");
    }
    if (report_.skipped > 0) {
      report_.skippedByReason[kSkipPresent] = report_.skipped;
    }
  }

  // A warning for the report that the progress lines show too.
  std::function<void(const std::string&)> warnFn() {
    return [this](const std::string& text) {
      report_.warnings.push_back(text);
      event("", 0, 0, text);
    };
  }

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

  const MigrationOptions& opt_;
  SourceOptions src_;
  SourcePlanner planner_;  // after src_, which it changes (preset defaults)
  Sink& sink_;
  const ProgressFn& progress_;
  MigrationReport report_;
  std::unique_ptr<SourceConnection> conn_;
  std::map<std::string, FolderReport> carried_;  // per-folder counts of earlier attempts
  uint64_t foldersDone_ = 0;
  std::unique_ptr<StateStore> store_;
  FolderPlan plan_;
  std::set<std::string> copiedLabels_;  // Gmail: engine/gmail_labels.h
  // Skipped by the filters and the folder exclusions, kept across the attempts of a run so that
  // a reconnect does not count a message twice: source folder -> UID -> reason, and source
  // folder -> (messages, "name: reason").
  FilteredMessages filtered_;
  std::map<std::string, std::pair<uint32_t, std::string>> excluded_;
  ServiceConnectEnv serviceEnv_;
  Pop3Carry pop3_;
  bool pop3Read_ = false;
};

}  // namespace

MigrationReport runMigration(const MigrationOptions& options, Sink& sink, const ProgressFn& progress,
                             const TransportFactory& connect) {
  Migration m(options, sink, progress, connect);
  return m.run();
}

}  // namespace migrate
