#pragma once
// Which copies were changed at the destination by someone other than this tool (the user read,
// flagged or moved them there, a client or a Sieve rule touched them), so that --sync-deletions
// leaves them alone (engine/deletion_sync.h).
//
// Dovecot gives every message a modseq that grows with each change. After each write of this
// tool into a destination folder, recordOwnWrite() records the folder's HIGHESTMODSEQ in its
// state (FolderState::destModSeq). Before advancing it, every message changed since the previous
// record that this write did not touch is added to FolderState::changedHere: this tool's later
// writes can then not hide a change made in between. A copy with a modseq above destModSeq, or in
// changedHere, was changed here since this tool wrote it.
//
// A change made in the moment between one of this tool's commits and the read of HIGHESTMODSEQ
// right after it is not seen (milliseconds); a state without a record (written by an older
// version, or a folder this tool has not written to yet) has no baseline: its copies count as
// unchanged until the first write records one.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/sink.h"
#include "engine/state.h"

namespace migrate {

// After this tool wrote into `fs.destName` (`ours`: the UIDs it saved or changed there; expunges
// leave none), records the folder's HIGHESTMODSEQ and who else changed what since the last record.
// A HIGHESTMODSEQ below the record means the folder was made anew here: the old record goes.
Status recordOwnWrite(Sink& sink, FolderState& fs, const std::vector<uint32_t>& ours);

// Whether `copy` (a message of fs.destName) was changed here since this tool last wrote it.
bool changedHere(const FolderState& fs, const DestCopy& copy);

}  // namespace migrate
