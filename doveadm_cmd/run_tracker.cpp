#include "run_tracker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <utility>

namespace migrate::cmd {
namespace {

// Forwards everything to the real sink and tells the tracker what the engine is doing.
class TrackingSink : public Sink {
 public:
  TrackingSink(Sink& inner, RunTracker& tracker) : inner_(inner), tracker_(tracker) {}

  char separator() const override { return inner_.separator(); }
  std::string unsafeNameChars() const override { return inner_.unsafeNameChars(); }
  Result<std::string> stateDir(bool create) override { return inner_.stateDir(create); }
  std::string tempDir() const override { return inner_.tempDir(); }
  Result<std::vector<DestFolder>> listFolders() override {
    // The engine lists the destination right after taking the account lock (StateStore::open).
    tracker_.onLocked();
    return inner_.listFolders();
  }
  Result<DestFolderStatus> prepareFolder(const std::string& name,
                                         const PrepareFolderOptions& options) override {
    tracker_.onFolder(name);
    return inner_.prepareFolder(name, options);
  }
  Result<DestFolderStatus> folderStatus(const std::string& name) override {
    return inner_.folderStatus(name);
  }
  Status setSubscribed(const std::string& name) override { return inner_.setSubscribed(name); }
  Result<std::unordered_map<std::string, uint32_t>> guidsFrom(const std::string& name,
                                                              uint32_t minUid) override {
    return inner_.guidsFrom(name, minUid);
  }
  Result<std::vector<ContentKey>> contentKeys(const std::string& name, uint32_t minUid) override {
    return inner_.contentKeys(name, minUid);
  }
  Result<std::vector<DestMessage>> listMessages(const std::string& name) override {
    return inner_.listMessages(name);
  }
  Result<std::unordered_map<uint32_t, std::string>> bodyDigests(const std::string& name,
                                                                const std::vector<uint32_t>& uids) override {
    return inner_.bodyDigests(name, uids);
  }
  Status beginBatch(const std::string& name) override { return inner_.beginBatch(name); }
  Status save(const IncomingMessage& message) override { return inner_.save(message); }
  Result<CommitResult> commitBatch() override {
    Result<CommitResult> r = inner_.commitBatch();
    if (r.isOk()) {
      tracker_.onCommitted(r.value().uids.size());
    }
    return r;
  }
  void rollbackBatch() override { inner_.rollbackBatch(); }
  Result<uint32_t> updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                               std::vector<uint32_t>* changedUids) override {
    return inner_.updateFlags(name, updates, changedUids);
  }
  Result<uint32_t> addPop3Uidls(const std::string& name,
                                const std::vector<Pop3UidlUpdate>& updates) override {
    return inner_.addPop3Uidls(name, updates);
  }
  Result<DestChanges> changesSince(const std::string& name, uint64_t modSeq) override {
    return inner_.changesSince(name, modSeq);
  }
  Result<std::vector<DestCopy>> copies(const std::string& name, const std::vector<uint32_t>& uids) override {
    return inner_.copies(name, uids);
  }
  Result<std::vector<uint32_t>> expunge(const std::string& name, const std::vector<DestCopy>& copies,
                                        uint64_t unchangedSince) override {
    return inner_.expunge(name, copies, unchangedSince);
  }
  Result<uint32_t> move(const MoveRequest& request) override { return inner_.move(request); }
  Result<QuotaInfo> quota() override { return inner_.quota(); }
  Status sieveAvailable() const override { return inner_.sieveAvailable(); }
  Result<std::unique_ptr<SieveStorage>> openSieveStorage() override { return inner_.openSieveStorage(); }

 private:
  Sink& inner_;
  RunTracker& tracker_;
};

}  // namespace

std::string runTrigger() {
  const char* env = std::getenv("MIGRATE_TRIGGER");
  const std::string value = env != nullptr ? env : "";
  return value == "login" || value == "batch" || value == "panel" || value == "schedule" ? value : "doveadm";
}

RunTracker::RunTracker(std::string dir, std::string trigger, std::string source)
    : dir_(std::move(dir)), trigger_(std::move(trigger)), source_(std::move(source)) {}

Status RunTracker::start() {
  Result<std::optional<RunStatus>> prev = readRunStatus(dir_);
  if (prev.isOk()) {
    previous_ = std::move(prev).value();
  }
  // An unreadable (e.g. newer) status file is simply replaced: it is advisory.
  status_ = beginRunStatus(previous_, trigger_, source_);
  if (previous_ && previous_->foldersTotal > 0) {
    // Until this run's plan is known, the last run's folder count is the best estimate.
    status_.foldersTotal = previous_->foldersTotal;
  }
  deferred_ = previous_ && runStatusAlive(*previous_);
  if (!deferred_) {
    write(true);
    clearPause();
  }
  return writeError_;
}

std::unique_ptr<Sink> RunTracker::wrap(Sink& inner) {
  return std::make_unique<TrackingSink>(inner, *this);
}

ProgressFn RunTracker::progressFn() {
  return [this](const ProgressEvent& event) { onProgress(event); };
}

void RunTracker::onLocked() {
  if (deferred_) {
    deferred_ = false;
    write(true);
    clearPause();
  }
}

// This run is the user's migration now: a pause or stop asked of an earlier one is over.
void RunTracker::clearPause() {
  Result<std::optional<RunJob>> job = readRunJob(dir_);
  if (job.isOk() && job.value() && (job.value()->paused || job.value()->held)) {
    job.value()->paused = false;
    job.value()->held = false;
    (void)writeRunJob(dir_, *job.value());
  }
}

// The end of a run: "stopped" by `migrate pause` is "paused"; a job that is over (no pass of its
// schedule to come, not paused or stopped) no longer needs its stored password.
void RunTracker::settleJob() {
  Result<std::optional<RunJob>> read = readRunJob(dir_);
  if (!read.isOk() || !read.value()) {
    return;
  }
  RunJob& job = *read.value();
  if (status_.state == "stopped" && job.paused) {
    status_.state = "paused";
    status_.errorHint = "what was copied stays; doveadm migrate resume continues";
    status_.error = "paused on request after copying " + std::to_string(status_.copied) +
                    " messages in this run (" + status_.errorHint + ")";
    return;
  }
  const bool over = status_.state == "ok" || status_.state == "partial" || status_.state == "failed";
  if (over && job.secret && !schedulePending(dir_)) {
    Status removed = removeRunSecret(dir_);
    if (removed.isOk()) {
      job.secret = false;
      removed = writeRunJob(dir_, job);
    }
    if (!removed.isOk() && writeError_.isOk()) {
      writeError_ = removed;
    }
  }
}

void RunTracker::onFolder(const std::string& name) {
  foldersSeen_.insert(name);
  // Every folder started before this one is done (folders are copied one after the other).
  status_.foldersDone = static_cast<uint32_t>(foldersSeen_.size() - 1);
  if (plannedFolders_ > 0) {
    status_.foldersTotal = plannedFolders_;
  }
  if (status_.foldersDone >= status_.foldersTotal) {
    status_.foldersTotal = status_.foldersDone + 1;
  }
  status_.folder = name;
  write(false);
}

void RunTracker::onCommitted(size_t messages) {
  status_.copied += messages;
  write(false);
}

void RunTracker::onProgress(const ProgressEvent& event) {
  if (event.foldersTotal > 0) {
    // The plan is known: the exact number of folders this run copies.
    plannedFolders_ = event.foldersTotal;
    status_.foldersTotal = std::max(plannedFolders_, status_.foldersDone);
  }
  if (event.totalsKnown) {
    status_.totalMessages = event.totalMessages;
    status_.totalBytes = event.totalBytes;
  }
  if (event.bytes > status_.bytes) {
    status_.bytes = event.bytes;
  }
  sampleRate();
  write(event.totalsKnown);  // the plan at once: a panel shows 0 % rather than nothing
}

void RunTracker::sampleRate() {
  const std::chrono::duration<double> since = std::chrono::steady_clock::now() - begun_;
  rate_.add(since.count(), status_.bytes);
  status_.rate = rate_.rate();
}

Status RunTracker::finish(const MigrationReport& report) {
  if (report.status.kind() == ErrorKind::Busy && !report.status.isOk()) {
    // Another run of the account holds the lock: its status stays. Put back what this run
    // replaced (only possible when the previous file did not say "running" on this host).
    if (written_ && previous_) {
      writeError_ = writeRunStatus(dir_, *previous_);
    } else if (written_) {
      ::unlink((dir_ + "/" + kRunStatusFile).c_str());
    }
    return writeError_;
  }
  if (deferred_) {
    // Another run was alive at the start and this one never got the account lock (it failed
    // before, e.g. connecting): the other run's status stays.
    return writeError_;
  }
  finishRunStatus(status_, report);
  settleJob();
  write(true);
  return writeError_;
}

void RunTracker::write(bool force) {
  if (deferred_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!force && written_ && now - lastWrite_ < kMinInterval) {
    return;
  }
  status_.updated = static_cast<int64_t>(std::time(nullptr));
  Status st = writeRunStatus(dir_, status_);
  if (!st.isOk() && writeError_.isOk()) {
    writeError_ = st;
  }
  written_ = true;
  lastWrite_ = now;
}

}  // namespace migrate::cmd
