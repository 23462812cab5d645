#pragma once
// The folder plan: which source folder goes to which destination folder.
//
// Rules (documented in docs/admin-guide.md "Folder mapping"):
//  1. Folders outside the personal namespace (other users', shared) are not migrated.
//  2. The personal namespace prefix ("INBOX." on Courier/Cyrus-style servers) is stripped; INBOX
//     (any case) is INBOX.
//  3. Names are decoded from modified UTF-7; each level is joined with the destination separator.
//  4. A level that contains the destination separator, or a character the destination storage
//     cannot keep in names ('.' on Maildir++), gets it replaced by '_' (as dsync does);
//     if two source folders would then land in the same destination folder, the later one gets
//     "_2", "_3"... appended, and the plan carries a warning. Folders are never silently merged.
//  5. Special-use folders (by \Sent \Drafts \Trash \Junk \Archive attributes, or, when the server
//     has none, by the usual names: "Sent Items", "Deleted Items", "Junk E-mail", "Spam",
//     "[Gmail]/Sent Mail", localized names...) go into the destination folder that has the same
//     special-use flag; their subfolders follow them. Where the destination has no such folder
//     the name is kept.
//  6. \Noselect and \NonExistent folders are not created (their children create the hierarchy).
//  7. A preset's folder rules (engine/preset.h) come before rule 5: the first rule whose pattern
//     matches makes the folder (and its subfolders) go into the destination's folder of the
//     rule's special use, or, where there is none, into the rule's destination name.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/preset.h"
#include "engine/sink.h"
#include "imap/session.h"

namespace migrate {

struct PlannedFolder {
  std::string rawName;                      // as on the wire: used for EXAMINE/STATUS and as the state key
  std::string sourceName;                   // decoded, with the source delimiter (for reports)
  std::string destName;                     // destination vname
  uint8_t specialUse = kSpecialNone;        // the special use it is mapped by (attribute, name, preset rule)
  uint8_t sourceSpecialUse = kSpecialNone;  // as the source marks (or names) it, before preset rules
  bool important = false;                   // \Important (Gmail's "[Gmail]/Important")
  char delimiter = '/';                     // the source's hierarchy separator in sourceName
  bool selectable = true;
  bool subscribed = false;
  bool isInbox = false;
};

struct FolderPlan {
  std::vector<PlannedFolder> folders;  // INBOX first, then parents before children
  std::vector<std::string> warnings;
  std::string personalPrefix;  // the source's, raw ("INBOX." on Courier/Cyrus-style servers)
  char destSeparator = '/';
};

struct PlanInput {
  std::vector<imap::ListEntry> entries;
  imap::NamespaceEntry personal;
  std::set<std::string> subscribed;  // raw names from LSUB
  char destSeparator = '/';
  std::string destUnsafeChars;  // replaced by '_' like the separator
  std::vector<DestFolder> destFolders;
  std::vector<FolderRule> folderRules;  // a preset's (rule 7)
};

FolderPlan buildPlan(const PlanInput& input);

// Special use guessed from a well-known folder name (decoded, full path with '/' as separator).
uint8_t specialUseFromName(const std::string& decodedPath);
const char* specialUseName(uint8_t specialUse);

}  // namespace migrate
