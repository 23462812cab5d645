#pragma once
// Which of the source's mail a migration takes: folder patterns (--include / --exclude and the
// presets' exclusions) and message filters (--max-size, --since, --before, Gmail's All Mail
// duplicates). See docs/presets-and-filters.md.
//
// Folder patterns are IMAP LIST patterns over the decoded (UTF-8) source folder name with the
// source's hierarchy separator: '*' matches anything, '%' anything but the separator. INBOX (as a
// whole first level) matches case-insensitively, the rest of the name case-sensitively, as IMAP
// names are. A pattern that starts with a backslash names a special use instead: \Sent \Drafts
// \Trash \Junk \Archive \All \Flagged \Important.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

struct MessageFilter {
  std::vector<std::string> include;  // non-empty: only folders matching one of these
  std::vector<std::string> exclude;  // folders matching one of these are left out
  uint64_t maxSize = 0;              // bytes; larger messages are skipped (0: no limit)
  int64_t since = 0;                 // unix time; INTERNALDATE before it is skipped (0: no limit)
  int64_t before = 0;                // unix time; INTERNALDATE at or after it is skipped (0: no limit)
  // The literal --since / --before values ("90d" stays "90d"), for messages.
  std::string sinceText, beforeText;
};

// The message-level part of a filter, as kept in the state per folder: the rules under which
// the UIDs up to the folder's last UID were decided (see FolderState::filter).
struct MessageRules {
  uint64_t maxSize = 0;
  int64_t since = 0;
  int64_t before = 0;
  bool dedupe = false;  // Gmail: All Mail messages that carry a copied label were skipped

  bool any() const { return maxSize != 0 || since != 0 || before != 0 || dedupe; }
  // Whether `next` may take a message that these rules skipped (a wider size, an earlier since,
  // a later before, no more dedupe): then the folder must be listed again from UID 1.
  bool widenedBy(const MessageRules& next) const;
  // "-" when no rule, else "<maxSize>,<since>,<before>,<dedupe 0|1>".
  std::string serialize() const;
  static bool parse(const std::string& text, MessageRules& out);
  bool operator==(const MessageRules& o) const {
    return maxSize == o.maxSize && since == o.since && before == o.before && dedupe == o.dedupe;
  }
};

// Skip reason keys (MigrationReport::skippedByReason).
inline constexpr const char* kSkipPresent = "present";
inline constexpr const char* kSkipTooLarge = "too_large";
inline constexpr const char* kSkipDate = "date";
inline constexpr const char* kSkipExcluded = "excluded";
inline constexpr const char* kSkipDuplicate = "duplicate";

// The reason `rules` skip a message of this size and INTERNALDATE, or nullptr when it is taken
// (dedupe is decided by the caller).
const char* skipReason(const MessageRules& rules, uint64_t size, int64_t internalDate);

// Whether the decoded folder `name` (separator `sep`, special use bits of engine/sink.h in
// `specialUse`, `important` for \Important) matches `pattern`.
bool folderPatternMatches(const std::string& pattern, const std::string& name, char sep, uint8_t specialUse,
                          bool important);

}  // namespace migrate
