#include "engine/migrator.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "engine/guid.h"
#include "engine/nul_bytes.h"
#include "engine/oauth2_token.h"
#include "engine/plan.h"
#include "engine/preset.h"
#include "engine/selection.h"
#include "engine/state.h"
#include "imap/command.h"
#include "imap/session.h"
#include "net/limits.h"
#include "options/option_values.h"

namespace migrate {

namespace {

using Clock = std::chrono::steady_clock;

// Rules that skip whatever either of `a` and `b` skips.
MessageRules narrowest(const MessageRules& a, const MessageRules& b) {
  auto minNonZero = [](auto x, auto y) { return x == 0 ? y : y == 0 ? x : std::min(x, y); };
  MessageRules r;
  r.maxSize = minNonZero(a.maxSize, b.maxSize);
  r.since = std::max(a.since, b.since);
  r.before = minNonZero(a.before, b.before);
  r.dedupe = a.dedupe || b.dedupe;
  return r;
}

constexpr const char* kFetchItems = "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]";
// For messages whose BODY[] may hold a NUL as 0x80 (see engine/nul_bytes.h).
constexpr const char* kBinaryFetchItems = "UID FLAGS INTERNALDATE RFC822.SIZE BINARY.PEEK[]";

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
    Result<Preset> preset = applyPreset(src_);
    if (preset.isOk()) {
      preset_ = preset.value();
    } else {
      presetError_ = preset.status();
    }
    src_.applyDefaults();
    filter_ = src_.filter;
    if (filter_.maxSize == 0) {
      filter_.maxSize = preset_.maxSize;
    }
    rules_.maxSize = filter_.maxSize;
    rules_.since = filter_.since;
    rules_.before = filter_.before;
    maxRate_ = opt_.maxBytesPerSecond != 0 ? opt_.maxBytesPerSecond : preset_.maxRate;
    maxConnections_ = opt_.maxConnectionsPerHost != 0 ? opt_.maxConnectionsPerHost : preset_.maxConnections;
  }

  MigrationReport run() {
    auto t0 = Clock::now();
    report_.user = opt_.localUser;
    report_.source = src_.describe();
    report_.dryRun = opt_.dryRun;
    Status st = presetError_.isOk() ? runWithRetries() : presetError_;
    tallySkips();
    if (session_) {
      if (st.isOk()) {
        (void)session_->logout();
      } else {
        session_->close();
      }
    }
    slot_.release();
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
  uint64_t progressMark() const {
    return static_cast<uint64_t>(report_.copied) + report_.skipped + report_.flagsUpdated + report_.failed +
           foldersDone_;
  }

  // Office 365 says "Request is throttled. Suggested Backoff Time: 4000 milliseconds".
  static double suggestedBackoff(const std::string& text) {
    std::string lower;
    for (char c : text) {
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    size_t p = lower.find("backoff time:");
    if (p == std::string::npos) {
      return 0;
    }
    double ms = std::strtod(lower.c_str() + p + 13, nullptr);
    return ms > 0 ? ms / 1000.0 : 0;
  }

  double now() const {
    if (opt_.nowFn) {
      return opt_.nowFn();
    }
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  }

  void waitFor(double seconds) {
    report_.waitedSeconds += seconds;
    if (opt_.sleepFn) {
      opt_.sleepFn(seconds);
      return;
    }
    auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until && !(opt_.cancelled && opt_.cancelled())) {
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
      for (FolderReport& f : report_.folders) {
        FolderReport& c = carried_[f.destination];
        c.copied += f.copied;
        c.skipped += f.skipped;
        c.failed += f.failed;
        c.bytes += f.bytes;
        c.flagsUpdated += f.flagsUpdated;
        c.created = c.created || f.created;
      }
      report_.folders.clear();
      st = runInner();
      if (st.isOk() || !st.retriable() || opt_.dryRun || (opt_.cancelled && opt_.cancelled())) {
        break;
      }
      if (session_) {
        session_->close();
        session_.reset();
      }
      slot_.release();  // the next attempt waits its turn like any other connection
      idle = progressMark() > before ? 0 : idle + 1;
      if (idle > opt_.retries || attempt >= 100000) {
        st = Status(st.kind(), st.message(),
                    (st.hint().empty() ? std::string() : st.hint() + "; ") + "gave up after " +
                        std::to_string(idle) + " attempts in a row without progress");
        break;
      }
      double delay = idle == 0 ? 1.0 : std::min(60.0, 2.0 * static_cast<double>(1u << std::min(idle, 5u)));
      if (st.kind() == ErrorKind::Throttled) {
        delay = std::max({delay, suggestedBackoff(st.message()), 10.0 * (idle + 1)});
        delay = std::min(delay, 300.0);
      }
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
        f.copied += it->second.copied;
        f.skipped += it->second.skipped;
        f.failed += it->second.failed;
        f.bytes += it->second.bytes;
        f.flagsUpdated += it->second.flagsUpdated;
        f.created = f.created || it->second.created;
      }
    }
    return st;
  }

  // Moves what the filters and exclusions skipped into the report (once, after every attempt).
  void tallySkips() {
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

  // Why a planned folder is left out ("" : it is not).
  std::string exclusionReason(const PlannedFolder& f) const {
    auto matches = [&f](const std::string& pattern) {
      return folderPatternMatches(pattern, f.sourceName, f.delimiter, f.sourceSpecialUse, f.important);
    };
    if (!filter_.include.empty() && std::none_of(filter_.include.begin(), filter_.include.end(), matches)) {
      return "not in --include";
    }
    for (const std::string& p : filter_.exclude) {
      if (matches(p)) {
        return "--exclude " + p;
      }
    }
    if (std::any_of(preset_.exclude.begin(), preset_.exclude.end(), matches)) {
      return preset_.excludeReason;
    }
    return {};
  }

  // Gmail: the labels whose messages are copied from another folder, so that the \All folder
  // skips them. System labels by the special use of the folder that is copied; user labels by name.
  std::set<std::string> copiedLabels(const std::vector<const PlannedFolder*>& copied) const {
    std::set<std::string> out;
    for (const PlannedFolder* f : copied) {
      if ((f->sourceSpecialUse & kSpecialAll) != 0) {
        continue;
      }
      // Labels come as the folder's raw (modified UTF-7) name; the decoded one too, for safety.
      out.insert(f->rawName);
      out.insert(f->sourceName);
      if (f->isInbox) {
        out.insert("\\inbox");
      }
      const std::pair<uint8_t, const char*> kSystem[] = {{kSpecialSent, "\\sent"},
                                                         {kSpecialDrafts, "\\draft"},
                                                         {kSpecialTrash, "\\trash"},
                                                         {kSpecialJunk, "\\spam"}};
      for (const auto& [use, label] : kSystem) {
        if ((f->sourceSpecialUse & use) != 0) {
          out.insert(label);
        }
      }
    }
    return out;
  }

  bool hasCopiedLabel(const std::vector<std::string>& labels) const {
    for (const std::string& l : labels) {
      std::string key = l;
      if (!key.empty() && key[0] == '\\') {
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      }
      if (copiedLabels_.count(key) != 0) {
        return true;
      }
    }
    return false;
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

  Status connect() {
    if (src_.host.empty()) {
      return Status(ErrorKind::Config, "no source host for " + opt_.localUser,
                    "give --source-host or set " + options::settingRef("migrate_source_host"));
    }
    if (src_.user.empty()) {
      return Status(ErrorKind::Config, "no source login name for " + opt_.localUser,
                    "give --source-user or set " + options::settingRef("migrate_source_user"));
    }
    const bool oauth = !src_.oauth2TokenFile.empty() || !src_.oauth2TokenCommand.empty();
    if (!src_.oauth2TokenFile.empty() && !src_.oauth2TokenCommand.empty()) {
      return Status(
          ErrorKind::Config, "both an OAuth2 token file and a token command are set for " + opt_.localUser,
          "set only one of migrate_source_oauth2_token_file and migrate_source_oauth2_token_command");
    }
    if (oauth && !src_.password.empty()) {
      return Status(ErrorKind::Config,
                    "both a source password and an OAuth2 token are set for " + opt_.localUser,
                    "set only one: migrate_source_password, or migrate_source_oauth2_token_file / "
                    "migrate_source_oauth2_token_command");
    }
    if (oauth && !src_.masterUser.empty()) {
      return Status(ErrorKind::Config,
                    "a master-user login needs a password, not an OAuth2 token (" + opt_.localUser + ")",
                    "drop the master user to log in with the user's token");
    }
    if (!oauth && src_.password.empty()) {
      return Status(ErrorKind::Config, "no source password for " + opt_.localUser,
                    "give --source-password-file, --source-password-stdin, --source-oauth2-token-file or "
                    "--source-oauth2-token-command, or set migrate_source_password in the userdb");
    }
    if (src_.tlsMode == TlsMode::None) {
      report_.warnings.push_back(std::string(oauth ? "the OAuth2 access token" : "the password") +
                                 " is sent without encryption (--source-tls none)");
    }
    if (!src_.tls.verify && src_.tlsMode != TlsMode::None) {
      report_.warnings.push_back("TLS certificate verification is off (--insecure)");
    }
    Status st = openSession();
    if (!st.isOk()) {
      return st;
    }
    st = oauth ? loginOAuth() : session_->login(src_.user, src_.password, src_.masterUser);
    if (!st.isOk() || !src_.compress) {
      return st;
    }
    st = session_->enableCompression();
    if (st.isOk() && session_->compressed()) {
      event("", 0, 0, "COMPRESS=DEFLATE active");
    }
    return st;
  }

  // Connects, reads the greeting and does STARTTLS when asked: a session ready to log in.
  Status openSession() {
    if (!slot_) {
      MIGRATE_RETURN_IF_ERROR(acquireSlot());
    }
    net::Endpoint ep{src_.host, src_.port};
    auto t = connect_ ? connect_(src_)
                      : net::connectTcp(ep, src_.tlsMode == TlsMode::Imaps, src_.tls, src_.timeouts);
    if (!t.isOk()) {
      return t.status();
    }
    if (maxRate_ > 0) {
      t = net::rateLimited(std::move(t).value(), src_.host, maxRate_);
    }
    imap::SessionOptions so;
    so.tempDir = sink_.tempDir();
    so.peerName = src_.host + ":" + std::to_string(src_.port);
    so.greetingTimeoutMs = src_.timeouts.connectMs;
    so.ioTimeoutMs = src_.timeouts.ioMs;
    so.implicitTls = src_.tlsMode == TlsMode::Imaps;
    so.host = src_.host;
    so.port = src_.port;
    session_ = std::make_unique<imap::Session>(std::move(t).value(), so);
    if (!src_.rawlogDir.empty()) {
      MIGRATE_RETURN_IF_ERROR(session_->startRawlog(src_.rawlogDir));
    }
    MIGRATE_RETURN_IF_ERROR(session_->readGreeting());
    if (src_.tlsMode == TlsMode::StartTls) {
      return session_->startTls(src_.tls);
    }
    return Status::ok();
  }

  // A connection slot of the source host (maxConnectionsPerHost), held while session_ lives (a
  // re-login on a new connection keeps it). Waits, polling `cancelled`, while the host is full.
  Status acquireSlot() {
    std::shared_ptr<net::ConnectionLimiter> limiter = net::connectionLimitFor(src_.host, maxConnections_);
    if (!limiter) {
      return Status::ok();
    }
    if (!limiter->tryAcquire()) {
      event("", 0, 0,
            "waiting for a free connection to " + src_.host + " (" + std::to_string(limiter->inUse()) +
                " in use)");
      while (!limiter->acquire(std::chrono::milliseconds(200))) {
        if (opt_.cancelled && opt_.cancelled()) {
          return Status(ErrorKind::Cancelled, "cancelled while waiting for a free connection to " +
                                                  src_.host + " for " + opt_.localUser);
        }
      }
    }
    slot_ = net::ConnectionSlot(std::move(limiter));
    return Status::ok();
  }

  Result<std::string> oauthToken(bool refresh) {
    if (!token_) {
      token_ = std::make_unique<OAuth2Token>(
          src_.oauth2TokenFile, src_.oauth2TokenCommand,
          std::vector<std::string>{"MIGRATE_SOURCE_USER=" + src_.user, "MIGRATE_SOURCE_HOST=" + src_.host,
                                   "MIGRATE_LOCAL_USER=" + opt_.localUser});
    }
    Result<std::string> token = token_->token(refresh);
    if (token.isOk() && token_->fileReadableByOthers() && !tokenFileWarned_) {
      tokenFileWarned_ = true;
      report_.warnings.push_back(token_->describe() + " is readable by group or others: chmod 600 it");
    }
    return token;
  }

  // The token is obtained once per run and again when the server refuses it (it expired since,
  // also between the reconnects of one run): when the new token differs, one more login on a
  // new connection.
  Status loginOAuth() {
    Result<std::string> token = oauthToken(false);
    if (!token.isOk()) {
      return token.status();
    }
    Status st = session_->loginOAuth(src_.user, token.value());
    const imap::Session::OAuthFailure& failure = session_->oauthFailure();
    if (st.isOk() || !failure.refused || !failure.expired) {
      return st;
    }
    const std::string refused = token.value();
    token = oauthToken(true);
    if (!token.isOk()) {
      return token.status();
    }
    if (token.value() == refused) {
      if (token_->fromCommand()) {
        return Status(st.kind(), st.message(),
                      "the token is expired or lacks the IMAP scope, and " + token_->describe() +
                          " printed the same one again: it must print a fresh, valid access token");
      }
      return Status(st.kind(), st.message(),
                    "the token in " + token_->describe() +
                        " is expired or lacks the IMAP scope: write a new one into it, or use "
                        "--source-oauth2-token-command, which runs again when the token expires");
    }
    session_->close();
    session_.reset();
    st = openSession();
    if (!st.isOk()) {
      return st;
    }
    st = session_->loginOAuth(src_.user, token.value());
    if (!st.isOk() && session_->oauthFailure().refused) {
      return Status(st.kind(), st.message(),
                    "a new token from " + token_->describe() +
                        " was refused too: check that it is issued for '" + src_.user +
                        "' with the IMAP scope (Gmail: https://mail.google.com/; Office 365: "
                        "IMAP.AccessAsUser.All, or IMAP.AccessAsApp for an app-only token)");
    }
    return st;
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
    // After reconcile(): the source messages from firstNewUid on that still have to be copied,
    // (uid, size), and how many were found to be here already.
    bool reconciled = false;
    std::vector<std::pair<uint32_t, uint64_t>> toCopy;
    uint32_t reconciledSkipped = 0;
    uint32_t listedMaxUid = 0;
    uint32_t listedUidNext = 0;  // the UIDNEXT the listing started from: every UID below was listed
    uint32_t reconciledUidValidity = 0;
    std::string excluded;  // why the folder is left out ("" : it is not)
    MessageRules rules;    // the message filter for this folder
    // The stored rules may have skipped messages that `rules` take: list the folder from UID 1
    // and copy those (oldRules: the stored rules at the start, lastUidBefore: the last UID then).
    bool rescan = false;
    MessageRules oldRules;
    uint32_t lastUidBefore = 0;
  };

  Status runInner() {
    Status st = connect();
    if (!st.isOk()) {
      return st;
    }
    AccountState peeked;
    AccountState* as = &peeked;
    if (store_) {
      as = &store_->state();  // a later attempt of this run: the state (and its lock) is ours
    } else if (!opt_.dryRun) {
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
      // Written when a folder's record changes (StateStore::save()), so a run with nothing new
      // writes nothing.
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
    if (src_.presetName.empty() && preset_.name.empty() && session_->hasCapability("X-GM-EXT-1")) {
      // Without the gmail preset every message would come twice: from its label and from All Mail.
      preset_ = *builtinPreset("gmail");
      preset_.name.clear();
      if (!gmailWarned_) {
        gmailWarned_ = true;
        report_.warnings.push_back(
            "the source is Gmail (X-GM-EXT-1): its folder rules apply (views left out, All Mail only for "
            "unlabelled mail); --preset generic copies every folder as it is");
      }
    }
    pin.folderRules = preset_.folderRules;
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
    std::vector<const PlannedFolder*> copied;
    for (const PlannedFolder* f : selectable) {
      if (exclusionReason(*f).empty()) {
        copied.push_back(f);
      }
    }
    copiedLabels_ = copiedLabels(copied);
    if (progress_) {
      ProgressEvent planned;
      planned.foldersTotal = static_cast<uint32_t>(copied.size());
      planned.bytes = report_.bytes;
      planned.message = std::to_string(copied.size()) + " folders to copy";
      progress_(planned);
    }
    const bool gmailLabels = preset_.gmailLabels && session_->hasCapability("X-GM-EXT-1");
    for (size_t i = 0; i < selectable.size(); i++) {
      FolderWork& w = work[i];
      w.plan = selectable[i];
      w.status = statuses.value().statuses[i];
      w.statusError = statuses.value().errors[i];
      w.excluded = exclusionReason(*w.plan);
      w.rules = rules_;
      w.rules.dedupe = gmailLabels && (w.plan->sourceSpecialUse & kSpecialAll) != 0;
      if (!w.excluded.empty()) {
        excluded_[w.plan->sourceName] = {w.statusError.isOk() ? w.status.messages : 0,
                                         w.plan->sourceName + ": " + w.excluded};
        if (w.plan->isInbox) {
          st = checkSourceIsSelf(w.status);
          if (!st.isOk()) {
            return st;
          }
        }
        continue;
      }
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
      w.oldRules = fs.rules;
      w.lastUidBefore = fs.lastUid;
      w.rescan = w.known && !w.uidValidityChanged && fs.lastUid > 0 && fs.rules.widenedBy(w.rules);
      if (w.rescan) {
        w.firstNewUid = 1;
      }
      bool noNewUids = w.known && !w.uidValidityChanged && fs.complete && fs.uidNext == w.status.uidNext &&
                       w.firstNewUid >= w.status.uidNext;
      bool noFlagChanges = condstore ? (fs.highestModSeq != 0 && fs.highestModSeq == w.status.highestModSeq)
                                     : w.status.messages == 0;
      w.nothingNew =
          noNewUids && noFlagChanges && fs.destName == w.plan->destName && !w.rescan && fs.retryUids.empty();
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
    bool needSizes = opt_.dryRun || report_.quotaLimited || (quota.isOk() && quota.value().messagesLimited);
    uint64_t needed = 0;
    uint64_t neededMessages = 0;
    if (needSizes) {
      for (FolderWork& w : work) {
        if (!w.excluded.empty() || !w.statusError.isOk() || w.nothingNew || w.status.messages == 0) {
          continue;
        }
        st = prescan(w);
        if (!st.isOk()) {
          return st;
        }
        for (const auto& p : w.toCopy) {
          needed += p.second;
        }
        neededMessages += w.toCopy.size();
      }
    }
    report_.sourceBytes = needed;
    Status quotaShort;  // the new mail does not fit
    if (quota.isOk() && opt_.quotaPrecheck) {
      const QuotaInfo& q = quota.value();
      uint64_t free = q.limitBytes > q.usedBytes ? q.limitBytes - q.usedBytes : 0;
      uint64_t freeMessages = q.limitMessages > q.usedMessages ? q.limitMessages - q.usedMessages : 0;
      std::string what = opt_.dryRun ? "a run would copy nothing" : "nothing was copied";
      if (q.limited && needed > free) {
        quotaShort = Status(ErrorKind::Quota,
                            "insufficient space for " + opt_.localUser + ": needs " + formatBytes(needed) +
                                ", " + formatBytes(free) + " free of " + formatBytes(q.limitBytes) + " quota",
                            what + "; raise " + opt_.localUser + "'s quota (e.g. " +
                                options::quotaStorageHint() + ") and run the same command again");
      } else if (q.messagesLimited && neededMessages > freeMessages) {
        quotaShort =
            Status(ErrorKind::Quota,
                   "insufficient space for " + opt_.localUser + ": needs " + std::to_string(neededMessages) +
                       " messages, " + std::to_string(freeMessages) + " free of a " +
                       std::to_string(q.limitMessages) + "-message quota",
                   what + "; raise " + opt_.localUser + "'s message limit (" + options::quotaMessagesHint() +
                       ") and run the same command again");
      }
      // A dry run still shows its plan; a real run stops before copying anything.
      if (!quotaShort.isOk() && !opt_.dryRun) {
        return quotaShort;
      }
    }

    for (FolderWork& w : work) {
      if (opt_.cancelled && opt_.cancelled()) {
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
      if (!w.statusError.isOk()) {
        fr.note = w.statusError.describe();
        report_.warnings.push_back("folder '" + w.plan->sourceName +
                                   "' skipped: " + w.statusError.describe());
        report_.folders.push_back(fr);
        continue;
      }
      if (opt_.dryRun) {
        fr.pending = static_cast<uint32_t>(w.toCopy.size());
        fr.skipped = w.reconciledSkipped;
        for (const auto& p : w.toCopy) {
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
    return opt_.dryRun ? quotaShort : Status::ok();
  }

  // The destination messages that may be copies of source messages without our records saying
  // so: none when the folder is as we left it; those from the UIDNEXT after our last commit on
  // (a run that died between its commit and its state write, mail delivered locally since);
  // all of them when there is no usable state (first run into a folder that holds mail, state
  // file lost, UIDVALIDITY changed at the source). Returns the first such UID, or 0.
  uint32_t uncertainFrom(const FolderWork& w, const DestFolderStatus& d) const {
    if (d.messages == 0) {
      return 0;
    }
    const FolderState& fs = *w.state;
    bool asRecorded =
        w.known && !w.uidValidityChanged && fs.destName == w.plan->destName && fs.destUidNext > 0;
    uint32_t from = asRecorded ? fs.destUidNext : 1;
    return d.uidNext > from ? from : 0;
  }

  // Lists the source messages from `first` on (the folder must be EXAMINEd) and decides which
  // need copying. With destFrom != 0, a source message is already here when a destination
  // message (UID >= destFrom) has its deterministic GUID, or else the same Message-ID,
  // INTERNALDATE and size: the content match catches copies whose GUID never reached the storage
  // (a maildir commit cut short by kill -9 leaves files in cur/ that dovecot-uidlist never
  // recorded) and copies made before a UIDVALIDITY change. A destination message matched by
  // GUID is not used for content matching, so exact duplicates at the source stay distinct.
  // `ex`: the folder as EXAMINE showed it just before.
  Status reconcile(FolderWork& w, const imap::MailboxStatus& ex, uint32_t first, const std::string& destName,
                   uint32_t destFrom) {
    const uint32_t uidValidity = ex.uidValidity;
    w.reconciled = false;
    w.toCopy.clear();
    w.reconciledSkipped = 0;
    w.listedMaxUid = 0;
    w.listedUidNext = ex.uidNext;
    struct Listed {
      uint32_t uid;
      uint64_t size;
      ContentKey key;
      std::vector<std::string> labels;
    };
    std::vector<Listed> listed;
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
    Status st = session_->uidFetch(first, 0, items, [&](const imap::FetchedMessage& m) {
      listed.push_back({m.uid, m.size, ContentKey{m.messageId, m.internalDate, m.size, 0, {}}, m.gmLabels});
      return Status::ok();
    });
    if (!st.isOk()) {
      return st;
    }
    std::unordered_set<std::string> destGuids;
    std::unordered_map<ContentKey, uint32_t, ContentKeyHash> destContent;
    if (destFrom != 0) {
      Result<std::vector<ContentKey>> keys = sink_.contentKeys(destName, destFrom);
      if (!keys.isOk()) {
        return keys.status();
      }
      std::unordered_set<std::string> sourceGuids;
      for (const Listed& l : listed) {
        sourceGuids.insert(sourceMessageGuid(src_.user, w.plan->rawName, uidValidity, l.uid));
      }
      for (const ContentKey& k : keys.value()) {
        if (!k.guid.empty() && sourceGuids.count(k.guid) != 0) {
          destGuids.insert(k.guid);
        } else {
          destContent[k]++;
        }
      }
    }
    std::map<uint32_t, const char*>& filtered = filtered_[w.plan->sourceName];
    for (const Listed& l : listed) {
      w.listedMaxUid = std::max(w.listedMaxUid, l.uid);
      if (w.rescan && l.uid <= w.lastUidBefore && skipReason(old, l.size, l.key.internalDate) == nullptr &&
          !(old.dedupe && hasCopiedLabel(l.labels))) {
        continue;  // taken by an earlier run (it may have been deleted here since: not again)
      }
      if (destFrom != 0) {
        if (destGuids.count(sourceMessageGuid(src_.user, w.plan->rawName, uidValidity, l.uid)) != 0) {
          w.reconciledSkipped++;
          continue;
        }
        auto it = destContent.find(l.key);
        if (it != destContent.end() && it->second > 0) {
          it->second--;
          w.reconciledSkipped++;
          continue;
        }
      }
      const char* reason = skipReason(w.rules, l.size, l.key.internalDate);
      if (reason == nullptr && w.rules.dedupe && hasCopiedLabel(l.labels)) {
        reason = kSkipDuplicate;
      }
      if (reason != nullptr) {
        filtered[l.uid] = reason;
        continue;
      }
      filtered.erase(l.uid);
      w.toCopy.emplace_back(l.uid, l.size);
    }
    w.reconciledUidValidity = uidValidity;
    w.reconciled = true;
    return Status::ok();
  }

  // Before copying (quota check, dry run): what each folder would copy.
  Status prescan(FolderWork& w) {
    Result<imap::MailboxStatus> ex = session_->examine(w.plan->rawName);
    if (!ex.isOk()) {
      return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
    }
    if (ex.value().uidValidity != w.status.uidValidity) {
      return Status::ok();  // changed since STATUS: migrateFolder() sorts it out
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
    return reconcile(w, ex.value(), w.firstNewUid, w.plan->destName, destFrom);
  }

  // The quota refused a message: what was saved before it is committed; say what is missing.
  Status quotaStop(const FolderWork& w, uint32_t uid, uint64_t size, const Status& saveError) {
    Result<QuotaInfo> q = sink_.quota();
    uint64_t neededBytes = size;
    uint64_t neededMessages = 1;
    bool exact = w.reconciled;
    if (exact) {
      neededBytes = 0;
      neededMessages = 0;
      for (const auto& p : w.toCopy) {
        if (p.first >= uid) {
          neededBytes += p.second;
          neededMessages++;
        }
      }
    }
    std::string numbers;
    std::string fix =
        "raise " + opt_.localUser + "'s quota (e.g. " + options::quotaStorageHint() + ") or free space";
    if (q.isOk() && q.value().messagesLimited && q.value().usedMessages >= q.value().limitMessages) {
      numbers = "the message quota is full (" + std::to_string(q.value().usedMessages) + " of " +
                std::to_string(q.value().limitMessages) + " messages) and " + std::to_string(neededMessages) +
                (exact ? "" : " or more") + " messages of this folder are still to copy";
      fix = "raise " + opt_.localUser + "'s message limit (" + options::quotaMessagesHint() + ")";
    } else if (q.isOk() && q.value().limited) {
      uint64_t free =
          q.value().limitBytes > q.value().usedBytes ? q.value().limitBytes - q.value().usedBytes : 0;
      numbers = "needs " + formatBytes(neededBytes) + (exact ? "" : " or more") + " more, " +
                formatBytes(free) + " free of " + formatBytes(q.value().limitBytes) + " quota";
    } else {
      numbers =
          "the destination refused a message of " + formatBytes(size) + " (" + saveError.message() + ")";
    }
    return Status(ErrorKind::Quota,
                  "insufficient space for " + opt_.localUser + ": " + numbers + "; stopped in folder '" +
                      w.plan->destName + "' after copying " + std::to_string(report_.copied + folderCopied_) +
                      " messages",
                  "what was copied stays; " + fix +
                      ", then run the same command again: it continues where it "
                      "stopped");
  }

  // The messages whose BODY[] had a 0x80 byte and no encoding BINARY[] would decode: fetched
  // with BINARY[] and saved from it when it is provably the same message with NUL bytes where
  // BODY[] had 0x80 (engine/nul_bytes.h); otherwise fetched with BODY[] again and saved as it
  // sends them, with a warning. `save` errors end the fetch and are returned.
  Status fetchWithNuls(const std::string& folder, std::map<uint32_t, NulCandidate>& candidates,
                       const imap::Session::MessageFn& save) {
    auto uidSet = [&candidates]() {
      std::vector<uint32_t> uids;
      uids.reserve(candidates.size());
      for (const auto& c : candidates) {
        uids.push_back(c.first);
      }
      return imap::compressUidSet(uids);
    };
    Status saveError;
    Status st =
        session_->uidFetchSet(uidSet(), kBinaryFetchItems, [&](const imap::FetchedMessage& m) -> Status {
          auto it = candidates.find(m.uid);
          if (it == candidates.end() || m.body == nullptr) {
            return Status::ok();
          }
          Result<BinaryMatch> match = compareBinary(*m.body, it->second);
          if (!match.isOk()) {
            return saveError = match.status();
          }
          if (match.value() == BinaryMatch::Different) {
            return Status::ok();
          }
          candidates.erase(it);
          saveError = save(m);
          return saveError;
        });
    if (!saveError.isOk()) {
      return saveError;
    }
    // A refusal (e.g. Dovecot's "NO [UNKNOWN-CTE]") leaves the rest to BODY[]; a lost connection
    // does not: the messages stay on the retry list.
    if (!st.isOk() && st.kind() != ErrorKind::Protocol) {
      return st;
    }
    if (candidates.empty()) {
      return Status::ok();
    }
    return session_->uidFetchSet(uidSet(), kFetchItems, [&](const imap::FetchedMessage& m) {
      if (candidates.erase(m.uid) == 0 || m.body == nullptr) {
        return Status::ok();  // not asked for, or without content: the retry list keeps it
      }
      report_.warnings.push_back("folder '" + folder + "' UID " + std::to_string(m.uid) +
                                 ": BINARY[] did not give the same message as BODY[]; stored as BODY[] "
                                 "sent it (its 0x80 bytes may stand for NUL bytes)");
      return save(m);
    });
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
      return dst.status();
    }
    uint32_t destFrom = uncertainFrom(w, dst.value());
    fr.created = dst.value().created;
    if (!w.known) {
      fs.uidValidity = w.status.uidValidity;
      fs.lastUid = 0;
      fs.destName = pf.destName;
      fs.destUidValidity = dst.value().uidValidity;
      fs.destUidNext = dst.value().uidNext;
      fs.preserveUids = dst.value().uidValidity == w.status.uidValidity && dst.value().messages == 0 &&
                        dst.value().uidNext <= 1;
      fs.complete = false;
      fs.rules = MessageRules();
      // Recorded before copying (whether UIDs are kept must survive a crash in the first batch),
      // unless the prescan found nothing to copy.
      if (store_ && !(w.reconciled && w.toCopy.empty())) {
        MIGRATE_RETURN_IF_ERROR(store_->save());
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
      fs.rules = MessageRules();
      fs.retryUids.clear();  // UIDs of the old UIDVALIDITY
    }
    if (fs.destName != pf.destName) {
      // The plan now puts this folder elsewhere (e.g. a special-use folder appeared locally):
      // copy new messages there, and look for earlier ones by GUID as after a crash.
      fs.destName = pf.destName;
      fs.destUidNext = 1;
      fs.preserveUids = false;
    }
    fr.uidsPreserved = fs.preserveUids;

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
      destFrom = dst.value().messages > 0 ? 1 : 0;
      fs.uidValidity = ex.uidValidity;
      fs.lastUid = 0;
      fs.rules = MessageRules();
      fs.retryUids.clear();
      w.rescan = false;
      fs.preserveUids = false;
      fr.uidsPreserved = false;
    }
    bool condstore = session_->hasCapability("CONDSTORE");

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
                u.guid = sourceMessageGuid(src_.user, pf.rawName, fs.uidValidity, m.uid);
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
            return n.status();
          }
          fr.flagsUpdated = n.value();
        }
      }
    }

    uint32_t first = fs.lastUid + 1;
    if (w.rescan) {
      first = 1;
      destFrom = dst.value().messages > 0 ? 1 : 0;
    }
    // The messages the server sent without content last time: fetched again (below the last UID).
    const std::set<uint32_t> retry = fs.retryUids;
    if (ex.uidNext != 0 && first >= ex.uidNext && retry.empty()) {
      fs.rules = w.rescan ? w.rules : narrowest(fs.rules, w.rules);
      fs.uidNext = ex.uidNext;
      fs.highestModSeq = ex.highestModSeq;
      fs.complete = true;
      foldersDone_++;
      return Status::ok();  // written later, as at the end below
    }
    // Which messages are already here (see reconcile()); reuse the prescan when it still holds.
    if (w.reconciledUidValidity != fs.uidValidity) {
      w.reconciled = false;
    }
    if (!w.reconciled && (destFrom != 0 || w.rules.any() || w.rescan)) {
      MIGRATE_RETURN_IF_ERROR(reconcile(w, ex, first, pf.destName, destFrom));
    }
    fr.skipped += w.reconciled ? w.reconciledSkipped : 0;

    Status st = sink_.beginBatch(pf.destName);
    if (!st.isOk()) {
      return st;
    }
    uint32_t batchCount = 0;
    uint64_t batchBytes = 0;
    uint32_t batchMaxUid = 0;
    double batchStarted = now();
    uint32_t total = ex.messages;
    // Source UIDs at or below the last UID that this pass copies: retries, and what a rescan found.
    std::set<uint32_t> below = retry;
    if (w.reconciled) {
      for (const auto& p : w.toCopy) {
        if (p.first <= fs.lastUid) {
          below.insert(p.first);
        }
      }
    }
    std::vector<uint32_t> retriedInBatch;  // leave the retry list when their batch is committed
    auto commit = [&]() -> Status {
      Result<Sink::CommitResult> cr = sink_.commitBatch();
      if (!cr.isOk()) {
        return cr.status();
      }
      if (batchMaxUid > fs.lastUid) {
        fs.lastUid = batchMaxUid;
      }
      // The UIDs up to lastUid are now decided by these rules too.
      fs.rules = narrowest(fs.rules, w.rules);
      for (uint32_t u : retriedInBatch) {
        fs.retryUids.erase(u);
      }
      retriedInBatch.clear();
      fs.destUidNext = cr.value().uidNext;
      fs.destUidValidity = cr.value().uidValidity;
      batchCount = 0;
      batchBytes = 0;
      // A batch that saved nothing is recorded with the end of the folder (or of the run).
      Status ss = store_ && !cr.value().uids.empty() ? store_->save() : Status::ok();
      event(pf.destName, fr.copied + fr.skipped, total,
            pf.destName + ": " + std::to_string(fr.copied + fr.skipped) + "/" + std::to_string(total) +
                " messages");
      return ss;
    };

    Status stop;  // why the fetch was aborted: a failed save, or a stop request
    uint32_t stopUid = 0;
    uint64_t stopSize = 0;
    uint32_t highestSaved = 0;
    // Messages whose BODY[] has a 0x80 that may stand for a NUL, fetched again with BINARY[]
    // after the others (fetchWithNuls()); on the retry list until saved.
    const bool binary = session_->hasCapability("BINARY");
    std::map<uint32_t, NulCandidate> nulCandidates;
    // `late`: saved after messages with higher UIDs, so it keeps its UID only above them.
    auto saveOne = [&](const imap::FetchedMessage& m, bool late) -> Status {
      IncomingMessage im;
      im.sourceUid = m.uid;
      im.guid = sourceMessageGuid(src_.user, pf.rawName, fs.uidValidity, m.uid);
      im.flags = m.flags;
      im.internalDate = m.internalDate;
      im.tzOffsetMinutes = m.tzOffsetMinutes;
      // A message below the UIDs copied before (a retry, a rescan) cannot keep its UID.
      im.wantUid = fs.preserveUids && m.uid > w.lastUidBefore && (!late || m.uid > highestSaved) ? m.uid : 0;
      im.body = m.body;
      Status s = sink_.save(im);
      if (!s.isOk()) {
        stop = s;
        stopUid = m.uid;
        stopSize = m.body->size();
        return stop;
      }
      fr.copied++;
      folderCopied_++;
      fr.bytes += m.body->size();
      report_.bytes += m.body->size();
      batchMaxUid = std::max(batchMaxUid, m.uid);
      highestSaved = std::max(highestSaved, m.uid);
      if (fs.retryUids.count(m.uid) != 0) {
        retriedInBatch.push_back(m.uid);
      }
      batchCount++;
      batchBytes += m.body->size();
      if (batchCount >= opt_.batchMessages || batchBytes >= opt_.batchBytes ||
          (opt_.batchSeconds > 0 && now() - batchStarted >= opt_.batchSeconds)) {
        Status cs = commit();
        if (cs.isOk()) {
          cs = sink_.beginBatch(pf.destName);
          batchStarted = now();
        }
        if (!cs.isOk()) {
          stop = cs;
          return cs;
        }
      }
      return Status::ok();
    };

    auto onMessage = [&](const imap::FetchedMessage& m) -> Status {
      if (m.uid <= fs.lastUid && below.count(m.uid) == 0) {
        return Status::ok();
      }
      below.erase(m.uid);  // once, also when the server sends a message twice
      if (opt_.cancelled && opt_.cancelled()) {
        stop = Status(ErrorKind::Cancelled,
                      "stopped on request in folder '" + pf.destName + "' after copying " +
                          std::to_string(report_.copied + folderCopied_) + " messages",
                      "what was copied stays; run the same command again to continue");
        return stop;
      }
      if (m.body == nullptr) {
        fr.failed++;
        fs.retryUids.insert(m.uid);
        report_.warnings.push_back("folder '" + pf.sourceName + "': the server sent no content for UID " +
                                   std::to_string(m.uid) + "; not copied, the next run fetches it again");
        batchMaxUid = std::max(batchMaxUid, m.uid);
        return Status::ok();
      }
      if (binary && m.body->has0x80()) {
        Result<NulCandidate> c = scanNulCandidate(*m.body);
        if (!c.isOk()) {
          stop = c.status();
          return stop;
        }
        if (c.value().wantBinary()) {
          nulCandidates[m.uid] = c.value();
          fs.retryUids.insert(m.uid);  // committed with the batch that passes its UID
          batchMaxUid = std::max(batchMaxUid, m.uid);
          return Status::ok();
        }
      }
      return saveOne(m, false);
    };

    Status fst;
    if (!retry.empty()) {
      std::set<uint32_t> seen;
      fst = session_->uidFetchSet(imap::compressUidSet(std::vector<uint32_t>(retry.begin(), retry.end())),
                                  kFetchItems, [&](const imap::FetchedMessage& m) {
                                    seen.insert(m.uid);
                                    return onMessage(m);
                                  });
      if (fst.isOk() && stop.isOk()) {
        for (uint32_t u : retry) {
          if (seen.count(u) == 0) {
            fs.retryUids.erase(u);  // no longer at the source
          }
        }
      }
    }
    if (!fst.isOk() || !stop.isOk()) {
      // handled below
    } else if (w.reconciled) {
      // Only what is missing, in UID sets of a bounded size.
      std::vector<uint32_t> uids;
      for (const auto& p : w.toCopy) {
        if (p.first > fs.lastUid || below.count(p.first) != 0) {
          uids.push_back(p.first);
        }
      }
      constexpr size_t kUidsPerCommand = 2000;
      for (size_t i = 0; i < uids.size() && fst.isOk(); i += kUidsPerCommand) {
        std::vector<uint32_t> chunk(
            uids.begin() + static_cast<long>(i),
            uids.begin() + static_cast<long>(std::min(uids.size(), i + kUidsPerCommand)));
        fst = session_->uidFetchSet(imap::compressUidSet(chunk), kFetchItems, onMessage);
      }
    } else {
      fst = session_->uidFetch(first, 0, kFetchItems, onMessage);
    }
    if (fst.isOk() && stop.isOk() && !nulCandidates.empty()) {
      fst = fetchWithNuls(pf.sourceName, nulCandidates,
                          [&](const imap::FetchedMessage& m) { return saveOne(m, true); });
    }
    if (!stop.isOk() || !fst.isOk()) {
      // Keep what was saved before the failure, then explain it.
      Status cs = commit();
      if (!cs.isOk()) {
        sink_.rollbackBatch();
      }
      if (!stop.isOk() && stop.kind() == ErrorKind::Quota) {
        return quotaStop(w, stopUid, stopSize, stop);
      }
      if (!stop.isOk()) {
        return stop;
      }
      return fst;
    }
    // Everything listed is copied or here already: the skipped tail counts as done too, and so
    // do the UIDs below the UIDNEXT the listing started from that no longer exist (expunged at
    // the source). Without them, a folder whose newest messages were deleted would never look
    // unchanged again, and every pass would list it and commit again.
    uint32_t listedUidNext = w.reconciled ? w.listedUidNext : ex.uidNext;
    batchMaxUid = std::max(
        {batchMaxUid, w.reconciled ? w.listedMaxUid : 0u, listedUidNext > 0 ? listedUidNext - 1 : 0u});
    st = commit();
    if (!st.isOk()) {
      return st;
    }
    if (w.rescan) {
      fs.rules = w.rules;  // every UID was decided again by these rules
    }
    fs.uidNext = ex.uidNext;
    fs.highestModSeq = ex.highestModSeq;
    fs.complete = true;
    foldersDone_++;
    // What the end of the pass adds to the record (complete, UIDNEXT, HIGHESTMODSEQ) only tells
    // the next run that nothing changed since: it is written with the next commit that saves
    // mail, or at the end of the run (a run killed before that lists the folder again and finds
    // nothing to copy). So a pass that copies nothing writes the state once, at its end.
    return Status::ok();
  }

  const MigrationOptions& opt_;
  SourceOptions src_;
  Sink& sink_;
  const ProgressFn& progress_;
  const TransportFactory& connect_;
  MigrationReport report_;
  std::map<std::string, FolderReport> carried_;  // per-folder counts of earlier attempts
  uint64_t foldersDone_ = 0;
  net::ConnectionSlot slot_;  // declared before session_: released after the connection closes
  std::unique_ptr<imap::Session> session_;
  std::unique_ptr<OAuth2Token> token_;  // one per run: a refreshed token serves later reconnects
  bool tokenFileWarned_ = false;
  std::unique_ptr<StateStore> store_;
  FolderPlan plan_;
  uint32_t folderCopied_ = 0;
  Preset preset_;       // resolved from src_.presetName (or gmail's, detected by X-GM-EXT-1)
  Status presetError_;  // an unknown preset or a bad admin preset setting
  MessageFilter filter_;
  MessageRules rules_;  // from filter_; dedupe is set per folder
  uint64_t maxRate_ = 0;
  uint32_t maxConnections_ = 0;
  bool gmailWarned_ = false;
  std::set<std::string> copiedLabels_;  // Gmail: see copiedLabels()
  // Skipped by the filters and the folder exclusions, kept across the attempts of a run so that
  // a reconnect does not count a message twice: source folder -> UID -> reason, and source
  // folder -> (messages, "name: reason").
  std::map<std::string, std::map<uint32_t, const char*>> filtered_;
  std::map<std::string, std::pair<uint32_t, std::string>> excluded_;
};

}  // namespace

MigrationReport runMigration(const MigrationOptions& options, Sink& sink, const ProgressFn& progress,
                             const TransportFactory& connect) {
  Migration m(options, sink, progress, connect);
  return m.run();
}

}  // namespace migrate
