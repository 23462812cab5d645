#include "engine/gmail_labels.h"

#include <cstdint>
#include <utility>

#include "common/strings.h"

namespace migrate {

std::set<std::string> copiedLabels(const std::vector<const PlannedFolder*>& copied) {
  static const std::pair<uint8_t, const char*> kSystem[] = {{kSpecialSent, "\\sent"},
                                                            {kSpecialDrafts, "\\draft"},
                                                            {kSpecialTrash, "\\trash"},
                                                            {kSpecialJunk, "\\spam"}};
  std::set<std::string> out;
  for (const PlannedFolder* f : copied) {
    if ((f->sourceSpecialUse & kSpecialAll) != 0) {
      continue;
    }
    // Labels come as the folder's raw (modified UTF-7) name; the decoded one too, for safety.
    out.insert(f->rawName);
    out.insert(f->sourceName);
    if (f->isInbox) {
      out.insert("\\inbox");
    }
    for (const auto& [use, label] : kSystem) {
      if ((f->sourceSpecialUse & use) != 0) {
        out.insert(label);
      }
    }
  }
  return out;
}

bool hasCopiedLabel(const std::vector<std::string>& labels, const std::set<std::string>& copied) {
  for (const std::string& l : labels) {
    const bool system = !l.empty() && l[0] == '\\';
    if (copied.count(system ? lowerAscii(l) : l) != 0) {
      return true;
    }
  }
  return false;
}

}  // namespace migrate
