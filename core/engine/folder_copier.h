#pragma once
// Copies one source folder into its destination folder: creates it, carries flag changes of the
// messages copied before (the source wins), then fetches what is new and saves it in batches,
// each committed when it is full (messages, bytes or age) and then recorded in the folder's
// state, so an interrupted run resumes after the last commit. Also: what the server sent
// without content goes on the retry list; a 0x80 that may stand for a NUL byte is fetched again
// with BINARY[] (engine/nul_bytes.h); a quota refusal ends with the numbers.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/folder_scan.h"
#include "engine/nul_bytes.h"
#include "engine/options.h"
#include "engine/pop3_carry.h"
#include "engine/report.h"
#include "engine/sink.h"
#include "engine/state.h"
#include "imap/session.h"

namespace migrate {

// A progress line: destination folder, messages done of total, text.
using FolderEventFn =
    std::function<void(const std::string& folder, uint32_t done, uint32_t total, const std::string& text)>;

// What a copier works with, from its run.
struct CopierEnv {
  const MigrationOptions& opt;  // batch limits, cancelled, nowFn, localUser
  imap::Session& session;
  Sink& sink;
  StateStore* store;  // where each commit is recorded (null: nothing is recorded)
  const std::string& sourceUser;
  MigrationReport& report;  // warnings; bytes and copied so far (for progress and messages)
  FolderScanner& scanner;
  FolderEventFn event;
  Pop3Carry* pop3;  // INBOX: the old server's POP3 UIDLs for the copies (null: none)
};

class FolderCopier {
 public:
  // `w` is the run's record of the folder (plan, STATUS, state, a prescan's result); `fr` gets
  // this pass's counts.
  FolderCopier(const CopierEnv& env, FolderWork& w, FolderReport& fr);

  // Copies what is new and carries flag changes. On an error, what was saved before it is
  // committed and recorded; the error says why the copy stopped.
  Status run();
  // Whether the pass reached the folder's end (its state says "complete").
  bool completed() const { return completed_; }

 private:
  // The batch being saved: committed when it reaches the run's limits.
  struct Batch {
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint32_t maxUid = 0;  // the highest source UID it decides (saved, or on the retry list)
    double started = 0;
    std::vector<uint32_t> retried;  // leave the retry list when the batch is committed
  };

  Status prepareDestination();
  void resetAfterUidValidityChange();
  Status examineSource(bool& found);
  Status syncFlags();
  Status copyMessages();
  Status fetchAll();
  Status fetchRetries();
  Status fetchPlanned();
  Status fetchWithNuls();
  Status onMessage(const imap::FetchedMessage& m);
  Status saveOne(const imap::FetchedMessage& m, bool late);
  Status commit();
  Status endAfterFailure(const Status& fetchError);
  void noteOwnWrite(const std::vector<uint32_t>& uids);
  void markComplete();
  bool batchFull() const;
  double now() const;
  std::string copiedSoFar() const;

  const CopierEnv& env_;
  FolderWork& w_;
  FolderReport& fr_;
  FolderState& fs_;
  const PlannedFolder& pf_;
  DestFolderStatus dst_;
  imap::MailboxStatus ex_;     // the source folder as EXAMINE showed it
  uint32_t destFrom_ = 0;      // destination UIDs from here on may hold copies (uncertainFrom())
  bool contentMatch_ = false;  // the source's UIDs changed: match by content, no flag sync
  uint32_t first_ = 1;         // the first source UID this pass lists
  std::set<uint32_t> retry_;   // the retry list as the pass started
  // Source UIDs at or below the last UID that this pass copies: retries, and what a rescan found.
  std::set<uint32_t> below_;
  Batch batch_;
  uint32_t highestSaved_ = 0;
  Status stop_;  // why the fetch was aborted: a failed save, or a stop request
  uint32_t stopUid_ = 0;
  uint64_t stopSize_ = 0;
  // Messages whose BODY[] has a 0x80 that may stand for a NUL, fetched again with BINARY[]
  // after the others (fetchWithNuls()); on the retry list until saved.
  bool binary_ = false;
  std::map<uint32_t, NulCandidate> nulCandidates_;
  bool completed_ = false;
};

// Rules that skip whatever either of `a` and `b` skips.
MessageRules narrowest(const MessageRules& a, const MessageRules& b);

}  // namespace migrate
