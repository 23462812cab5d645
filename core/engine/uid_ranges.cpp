#include "engine/uid_ranges.h"

#include <iterator>

#include "common/textfile.h"

namespace migrate {

void UidRanges::add(uint32_t uid) {
  if (uid == 0 || contains(uid)) {
    return;
  }
  uint32_t first = uid;
  uint32_t last = uid;
  auto next = ranges_.upper_bound(uid);
  if (next != ranges_.end() && uid != UINT32_MAX && next->first == uid + 1) {
    last = next->second;
    next = ranges_.erase(next);
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second + 1 == uid) {
      first = prev->first;
      ranges_.erase(prev);
    }
  }
  ranges_[first] = last;
}

bool UidRanges::contains(uint32_t uid) const {
  auto it = ranges_.upper_bound(uid);
  if (it == ranges_.begin()) {
    return false;
  }
  --it;
  return uid >= it->first && uid <= it->second;
}

std::string UidRanges::serialize() const {
  std::string out;
  for (const auto& [first, last] : ranges_) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(first);
    if (last != first) {
      out += ':' + std::to_string(last);
    }
  }
  return out;
}

bool UidRanges::parse(const std::string& text) {
  ranges_.clear();
  size_t start = 0;
  uint32_t previous = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t colon = item.find(':');
    uint32_t first = 0;
    uint32_t last = 0;
    bool ok = false;
    if (colon == std::string::npos) {
      ok = textfile::parseU32(item, first);
      last = first;
    } else {
      ok = textfile::parseU32(item.substr(0, colon), first) &&
           textfile::parseU32(item.substr(colon + 1), last);
    }
    // Ascending, disjoint and not adjacent, as serialize() writes them.
    if (!ok || first == 0 || last < first || (previous != 0 && first <= previous + 1)) {
      ranges_.clear();
      return false;
    }
    ranges_[first] = last;
    previous = last;
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
    if (start == text.size()) {
      ranges_.clear();
      return false;  // a trailing comma
    }
  }
  return true;
}

}  // namespace migrate
