#pragma once
// Persisted migration state of one source account, kept with the local user
// (dovecot-migrate.<accountKey>.state in the user's state directory, dovecot_adapter/state_location.h).
// Written as new file -> fsync -> rename, under an exclusive lock (<file>.lock, flock) held for the whole
// run, so two runs for the same user and source never overlap. Versioned text format, one record per line,
// tab-separated with escaping:
//
//   dovecot-migrate-state  3
//   account  <host>  <login>
//   run      <started unix>  <ended unix>  <result>  <message>
//   folder   <raw name> <uidvalidity> <last uid> <uidnext> <highestmodseq> <dest name>
//            <dest uidvalidity> <dest uidnext> <flags> <rules> <retry uids>
//            <dest modseq> <changed here> <checked messages> <checked uidnext>
//
// Version 2 added <rules> and <retry uids> (MessageRules::serialize(), e.g. "-" or
// "31457280,0,0,0"; a UID set such as "4,9:11" or empty). Version 3 added the last four (for
// --sync-deletions: engine/dest_changes.h, engine/deletion_sync.h). Older files are read as
// having no rules, nothing to retry, no destination modseq and no deletion check.
// A folder's state advances only after the local commit of the messages it covers.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "engine/selection.h"
#include "engine/uid_ranges.h"

namespace migrate {

struct FolderState {
  std::string rawName;
  uint32_t uidValidity = 0;    // source UIDVALIDITY the UIDs below refer to
  uint32_t lastUid = 0;        // every source UID <= lastUid is committed locally (or skipped)
  uint32_t uidNext = 0;        // source UIDNEXT at the end of the last complete pass
  uint64_t highestModSeq = 0;  // source HIGHESTMODSEQ at the start of the last complete pass
  std::string destName;
  uint32_t destUidValidity = 0;
  uint32_t destUidNext = 0;   // destination UIDNEXT after our last commit
  bool preserveUids = false;  // destination UIDs equal source UIDs
  bool complete = false;      // the last pass over this folder finished
  // The message filter (--max-size, --since, --before, Gmail dedupe) under which the UIDs up to
  // lastUid were decided: a source message <= lastUid that is not in the destination was skipped
  // by these rules. A later run whose rules could take such a message lists the folder again.
  MessageRules rules;
  // Messages the server listed but sent without content (FETCH without BODY[]): fetched again by
  // the next run, until they arrive or disappear from the source.
  std::set<uint32_t> retryUids;
  // The destination folder's HIGHESTMODSEQ after this tool's last write to it (0: not known),
  // and the destination UIDs changed here by someone else since this tool wrote them (the user
  // flagged, read or moved them in): engine/dest_changes.h. --sync-deletions leaves those alone.
  uint64_t destModSeq = 0;
  UidRanges changedHere;
  // The source folder's MESSAGES and UIDNEXT when deletions were last checked (0: never): the
  // same two numbers in STATUS mean nothing was expunged since.
  uint32_t checkedMessages = 0;
  uint32_t checkedUidNext = 0;
};

struct AccountState {
  std::string host;
  std::string user;
  int64_t runStarted = 0;
  int64_t runEnded = 0;
  std::string runResult;  // ok / partial / failed / running
  std::string runMessage;
  std::map<std::string, FolderState> folders;  // by raw name
};

constexpr int kStateVersion = 3;

// Serialization (also used by the fuzz target and the status command).
std::string serializeState(const AccountState& state);
// A Config error naming the line for a corrupt file (the admin must act: move it away); a newer version is a
// Config error ("written by a newer dovecot-migrate").
Result<AccountState> parseState(const std::string& text);

class StateStore {
 public:
  // Opens (and locks) the state of (host, user) in `dir`. A second run for the same account
  // while this one holds the lock gets a Config error "another migration ... is running".
  static Result<std::unique_ptr<StateStore>> open(const std::string& dir, const std::string& host,
                                                  const std::string& user);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Reads the state without locking or creating anything (dry runs, status).
  static Result<AccountState> peek(const std::string& dir, const std::string& host, const std::string& user);

  AccountState& state() { return state_; }
  const std::string& path() const { return path_; }
  // Atomically replaces the file with the current state (new file, fsync, rename) when it
  // differs from the file: a pass that changes nothing writes and flushes nothing. The run
  // record alone (run times, result) is no reason to write: it is written along with the first
  // folder change of this store's run and then kept current, so the file's run record is the
  // last run that changed a folder. dovecot-migrate.status records every run.
  Status save();

 private:
  StateStore() = default;
  // Reads the state at `path` (a fresh one when there is no file: exists=false).
  static Result<AccountState> load(const std::string& path, const std::string& host, const std::string& user,
                                   bool& exists);
  std::string path_;
  int lockFd_ = -1;
  AccountState state_;
  std::string written_;          // serializeState() of the file as read or last written
  std::string writtenFolders_;   // the same without its run record ("" : no file)
  bool changedFolders_ = false;  // this store has written a folder change
};

}  // namespace migrate
