#pragma once
// A set of UIDs kept as ranges ("1:500,731"), for sets that may hold most of a large folder
// (e.g. the destination UIDs the user changed here: engine/dest_changes.h). Memory and the
// text form grow with the number of gaps, not with the number of UIDs.

#include <cstdint>
#include <map>
#include <string>

namespace migrate {

class UidRanges {
 public:
  void add(uint32_t uid);
  bool contains(uint32_t uid) const;
  bool empty() const { return ranges_.empty(); }
  void clear() { ranges_.clear(); }
  // "1:5,9" (IMAP sequence-set syntax, ascending); "" when empty.
  std::string serialize() const;
  // The text serialize() writes; false (and empty) for anything else.
  bool parse(const std::string& text);
  bool operator==(const UidRanges& o) const { return ranges_ == o.ranges_; }

 private:
  std::map<uint32_t, uint32_t> ranges_;  // first -> last, disjoint and not adjacent
};

}  // namespace migrate
