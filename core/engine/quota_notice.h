#pragma once
// The run's "insufficient space" errors, with the numbers an admin needs to act on them
// (docs/admin-guide.md, quota): before copying, the new mail against the free space; while
// copying, where the destination's quota stopped the run and how much is still missing.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "engine/sink.h"

namespace migrate {

// Before copying: a Quota error when `neededBytes` / `neededMessages` of new mail do not fit the
// free space of `quota`, else OK. `dryRun` only changes the words ("a run would copy nothing").
Status quotaShortfall(const QuotaInfo& quota, uint64_t neededBytes, uint64_t neededMessages,
                      const std::string& localUser, bool dryRun);

// The destination refused a message for the quota while copying.
struct QuotaStop {
  std::string localUser;
  std::string folder;        // the destination folder the copy stopped in
  uint64_t copied = 0;       // messages the run copied before
  uint64_t refusedSize = 0;  // size of the refused message
  std::string refusal;       // the destination's words
  bool exact = false;        // the numbers below are the folder's whole rest (else: at least)
  uint64_t neededBytes = 0;  // still to copy from this folder
  uint64_t neededMessages = 0;
};

// The Quota error for `stop`, with the quota as read after the refusal (an error there: the
// destination's words are all there is to tell).
Status quotaStopped(const QuotaStop& stop, const Result<QuotaInfo>& quota);

}  // namespace migrate
