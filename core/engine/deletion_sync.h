#pragma once
// --sync-deletions (migrate_sync_deletions): carries deletions and moves made at the source since
// the last run to the copies this tool made, and to nothing else. Runs once per run, after the
// folders' STATUS and before anything is copied (docs/cutover.md, "Deletions and moves during
// the switch").
//
// Per source folder with a record of earlier runs (same UIDVALIDITY):
// - Unchanged MESSAGES and UIDNEXT since the last check: nothing was expunged; nothing is listed.
// - Otherwise it is EXAMINEd and its UIDs up to the last copied one are listed ("UID FETCH 1:n
//   (UID)"). A copy here whose GUID is the deterministic GUID (engine/guid.h) of a source UID that
//   is no longer listed is a copy of a gone message. Only the destination messages whose GUID is
//   not one of the listed UIDs' are looked up that way, so mail delivered here, copies made by
//   other tools and copies from before a UIDVALIDITY change are never candidates.
// - A copy changed here since this tool wrote it (engine/dest_changes.h) is left alone and
//   reported (a warning naming its UIDs and FolderReport::changedHere). A copy the user moved to
//   another folder here is not in its folder any more: nothing to do.
// - A gone message whose content (Message-ID, INTERNALDATE, size; not without a Message-ID)
//   appeared as a new message in a folder with a record (the source moved it there) is moved:
//   its copy is saved into that folder's destination with that message's GUID and flags, and
//   expunged where it was; the copy pass then finds it there by GUID and downloads nothing. Each
//   new message takes at most one copy. The rest is expunged.
// - Safety: a UIDVALIDITY change (at STATUS or at EXAMINE), or a folder that lists none of the
//   UIDs this tool copied from it while copies of them are here, stops the pass for that folder:
//   nothing is expunged or moved from it, MigrationReport::deletionStops names it and the run
//   ends with an error once everything else is done. A folder whose STATUS or listing failed is
//   never taken as empty (its error ends or retries the run as any other).
// - Dry runs count what would be expunged or moved and change nothing.
// Every expunge and move checks the GUID and the modseq again when it happens (Sink::expunge(),
// Sink::move()).

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/folder_scan.h"
#include "engine/options.h"
#include "engine/report.h"
#include "engine/sink.h"
#include "engine/state.h"
#include "imap/session.h"

namespace migrate {

struct DeletionEnv {
  const MigrationOptions& opt;  // dryRun
  imap::Session& session;
  Sink& sink;
  StateStore* store;  // where the changes are recorded (null: dry run)
  const std::string& sourceUser;
  MigrationReport& report;  // warnings and deletionStops
  std::function<void(const std::string& text)> note;
};

class DeletionSync {
 public:
  DeletionSync(const DeletionEnv& env, std::vector<FolderWork>& work) : env_(env), work_(work) {}

  // The whole pass; counts go into each FolderWork. An error is a connection or storage error
  // (the run's retry logic handles it); safety stops are not errors here (see above).
  Status run();

 private:
  // A copy here of a source message that is gone, and where it goes when the source moved it.
  struct Gone {
    DestCopy copy;
    FolderWork* moveTo = nullptr;
    uint32_t newUid = 0;
    MessageFlags newFlags;
    int64_t newDate = 0;
    int newTz = 0;
  };
  struct Checked {
    FolderWork* w = nullptr;
    imap::MailboxStatus ex;
    std::vector<Gone> gone;
  };

  static bool eligible(const FolderWork& w);
  Status checkFolder(FolderWork& w);
  Result<std::vector<uint32_t>> listUids(const FolderWork& w);
  Result<std::vector<DestCopy>> goneCopies(const FolderWork& w, const std::vector<uint32_t>& listed,
                                           bool& checked);
  void keepChanged(FolderWork& w, const std::vector<DestCopy>& gone, Checked& c);
  Status matchMoves();
  Status applyFolder(Checked& c);
  Status applyMoves(Checked& c);
  void stop(FolderWork& w, const std::string& why);
  std::string guidOf(const FolderWork& w, uint32_t uid) const;

  const DeletionEnv& env_;
  std::vector<FolderWork>& work_;
  std::vector<Checked> checked_;
  bool noGuidsWarned_ = false;
};

// The run's error when the pass stopped in a folder (Protocol: not retried), else ok.
Status deletionStopStatus(const MigrationReport& report);

}  // namespace migrate
