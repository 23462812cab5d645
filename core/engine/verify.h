#pragma once
// `doveadm migrate verify`: an independent check that one user's mail is all here, for the
// moment before the old account is closed. It does not read the state file: it lists the source
// again (per folder: UID, size, INTERNALDATE, flags, Message-ID), plans the folders exactly as a
// migration does (engine/source_plan.h: the same mapping, presets and filters) and finds each
// source message in its destination folder:
//   1. by the deterministic GUID a migration saved it with (engine/guid.h), else
//   2. by Message-ID, INTERNALDATE and size (copies made before a UIDVALIDITY change at the
//      source, storages that do not keep GUIDs); each destination message matches once.
// Then it compares what it found (flags and keywords, INTERNALDATE, size; with `full` the body's
// digest, engine/body_digest.h) and looks at what is left over here: a message whose GUID is the
// one a source message that no longer exists would have had (UID below the folder's UIDNEXT, not
// listed) is "extra" (deleted or moved at the source since it was copied); everything else (mail
// delivered here, or moved here by the user) is only counted as "local".
//
// Read-only at both ends: EXAMINE and BODY.PEEK at the source, read-only listings here
// (Sink::listMessages/bodyDigests). Calling thread only (lib-storage through the Sink).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/options.h"
#include "engine/sink.h"
#include "engine/source_connection.h"

namespace migrate {

// One thing that differs between a source message and its copy here.
struct VerifyDifference {
  uint32_t sourceUid = 0;
  uint32_t destUid = 0;
  std::string what;    // "flags", "date", "size" or "body"
  std::string source;  // the value at the source (flags as "\Seen $Label"; date as unix time)
  std::string here;    // the value here
};

struct FolderVerify {
  std::string source;       // decoded, source separator
  std::string destination;  // destination name
  uint32_t sourceMessages = 0;
  uint32_t matched = 0;           // found here
  uint32_t byContent = 0;         // of those, found by Message-ID, date and size (not by GUID)
  std::vector<uint32_t> missing;  // source UIDs with no copy here (and not left out by a filter)
  std::vector<VerifyDifference> differences;
  // Copies this tool made of source messages that the source no longer has: destination UID ->
  // the source UID it was copied from.
  std::map<uint32_t, uint32_t> extra;
  uint32_t local = 0;  // messages here that are not copies of this folder's source messages
  // Left out by --max-size / --since / --before / Gmail's duplicates (and not here), by reason
  // key (engine/selection.h).
  std::map<std::string, uint32_t> filtered;
  bool destMissing = false;  // the destination folder does not exist
  std::string error;         // the folder could not be verified ("" : it was)

  uint32_t differing() const;  // source messages with at least one difference
  bool complete() const { return error.empty() && missing.empty() && differences.empty() && extra.empty(); }
};

struct VerifyReport {
  std::string user;    // local user
  std::string source;  // SourceOptions::describe()
  Status status;       // ok, or why the verify could not finish
  bool full = false;
  std::vector<FolderVerify> folders;
  // Source folders left out by --include / --exclude / the preset: "name: reason", and their
  // messages (STATUS), which are not called missing.
  std::vector<std::string> excludedFolders;
  uint32_t excludedMessages = 0;
  std::vector<std::string> warnings;
  uint64_t bytesCompared = 0;  // full: source bytes downloaded and compared
  double seconds = 0;
  int64_t finished = 0;  // unix time

  // Totals over the folders.
  uint32_t sourceMessages() const;
  uint32_t matched() const;
  uint32_t missing() const;
  uint32_t differing() const;
  uint32_t extra() const;
  uint32_t local() const;
  uint32_t filtered() const;
  uint32_t folderErrors() const;
  // Everything the source has (and the filters take) is here, the same, and nothing that came
  // from the source is here without being there any more.
  bool complete() const;
  // "complete", "incomplete" (it finished and found differences) or "failed" (it could not finish).
  const char* result() const;
  // One line for the admin: "ready for cut-over: 1234 messages in 12 folders" or what is wrong.
  std::string summary() const;
};

struct VerifyOptions {
  bool full = false;  // also compare every body (downloads everything once more)
};

// Verifies one user. Never throws; a failure to connect or list is in report.status.
VerifyReport runVerify(const MigrationOptions& options, const VerifyOptions& verify, Sink& sink,
                       const TransportFactory& connect = nullptr);

}  // namespace migrate
