#include "engine/dest_changes.h"

#include <algorithm>

namespace migrate {

Status recordOwnWrite(Sink& sink, FolderState& fs, const std::vector<uint32_t>& ours) {
  MIGRATE_ASSIGN_OR_RETURN(DestChanges changes, sink.changesSince(fs.destName, fs.destModSeq));
  if (changes.highestModSeq < fs.destModSeq) {
    fs.changedHere.clear();
  } else {
    std::vector<uint32_t> mine = ours;
    std::sort(mine.begin(), mine.end());
    for (uint32_t uid : changes.uids) {
      if (!std::binary_search(mine.begin(), mine.end(), uid)) {
        fs.changedHere.add(uid);
      }
    }
  }
  fs.destModSeq = changes.highestModSeq;
  return Status::ok();
}

bool changedHere(const FolderState& fs, const DestCopy& copy) {
  return fs.changedHere.contains(copy.uid) || (fs.destModSeq != 0 && copy.modSeq > fs.destModSeq);
}

}  // namespace migrate
