#pragma once
// Special-use folders (RFC 6154): the bits a folder's use is kept in, and their names as LIST
// attributes and folder patterns write them ("\Sent", "\Junk", ... and Gmail's "\Important").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace migrate {

enum SpecialUse : uint8_t {
  kSpecialNone = 0,
  kSpecialAll = 1,
  kSpecialArchive = 2,
  kSpecialDrafts = 4,
  kSpecialFlagged = 8,
  kSpecialJunk = 16,
  kSpecialSent = 32,
  kSpecialTrash = 64,
};

struct SpecialUseName {
  const char* name;  // lower case, with the backslash
  uint8_t use;       // kSpecialNone for \Important (a Gmail view, no special use)
};

// The entry of a special-use name in any case ("\sent", "\Sent"), or nullptr.
const SpecialUseName* findSpecialUseName(std::string_view name);

// The special-use bits of a folder's LIST attributes (\Sent ...), or kSpecialNone.
uint8_t specialUseFromAttributes(const std::vector<std::string>& attributes);

}  // namespace migrate
