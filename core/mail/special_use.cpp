#include "mail/special_use.h"

#include "common/strings.h"

namespace migrate {

namespace {

const SpecialUseName kSpecialUseNames[] = {
    {"\\sent", kSpecialSent},       {"\\drafts", kSpecialDrafts},   {"\\trash", kSpecialTrash},
    {"\\junk", kSpecialJunk},       {"\\archive", kSpecialArchive}, {"\\all", kSpecialAll},
    {"\\flagged", kSpecialFlagged}, {"\\important", kSpecialNone},
};

}  // namespace

const SpecialUseName* findSpecialUseName(std::string_view name) {
  const std::string l = lowerAscii(name);
  for (const SpecialUseName& s : kSpecialUseNames) {
    if (l == s.name) {
      return &s;
    }
  }
  return nullptr;
}

uint8_t specialUseFromAttributes(const std::vector<std::string>& attributes) {
  uint8_t use = kSpecialNone;
  for (const std::string& a : attributes) {
    if (const SpecialUseName* s = findSpecialUseName(a)) {
      use |= s->use;
    }
  }
  return use;
}

}  // namespace migrate
