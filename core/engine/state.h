#pragma once
// Persisted migration state of one source account, kept with the local user
// (<mail home>/.migrate/<accountKey>.state). Written as new file -> fsync -> rename, under an
// exclusive lock (<file>.lock, flock) held for the whole run, so two runs for the same user and
// source never overlap. Versioned text format, one record per line, tab-separated with escaping:
//
//   dovecot-migrate-state  1
//   account  <host>  <login>
//   run      <started unix>  <ended unix>  <result>  <message>
//   folder   <raw name> <uidvalidity> <last uid> <uidnext> <highestmodseq> <dest name>
//            <dest uidvalidity> <dest uidnext> <flags>
//
// A folder's state advances only after the local commit of the messages it covers.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"

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

constexpr int kStateVersion = 1;

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
  // Atomically replaces the file with the current state.
  Status save();

 private:
  StateStore() = default;
  std::string path_;
  int lockFd_ = -1;
  AccountState state_;
};

}  // namespace migrate
