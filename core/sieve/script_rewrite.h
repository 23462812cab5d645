#pragma once
// Rewrites the folder names in a Sieve script through the folder mapping the mail took
// (docs/dev/sieve-research.md §5), changing only the strings in mailbox positions:
//   fileinto ... "<mbox>"                       the last string (RFC 5228, +copy/mailbox/imap4flags)
//   mailboxexists <list>                        every element (RFC 5490)
//   metadata ... "<mbox>" "<ann>" <keys>        (RFC 5490 mboxmetadata)
//   metadataexists "<mbox>" <names>
//   specialuse_exists "<mbox>" <flags>          the mailbox when given (RFC 8579)
//   :fcc "<mbox>" / :mailbox "<mbox>"           vacation/notify :fcc (RFC 8580), snooze's :mailbox
//   include "<script>"                          a script name: renamed when its script was
// Every other byte (comments, layout, line ends, other strings and their escapes) stays as it
// was; a rewritten string keeps its form (quoted or text:). With "encoded-character" required,
// ${hex:..} and ${unicode:..} are decoded before the name is looked up; with "variables"
// required, a name holding ${...} cannot be known before delivery and is left (and reported).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::sieve {

// Where a folder name of a script goes: the destination name, and a remark for the report
// ("written in modified UTF-7", "under mapped parent 'X'"); nullopt: not a migrated folder.
struct MappedFolder {
  std::string name;
  std::string remark;
};
using FolderMapFn = std::function<std::optional<MappedFolder>(const std::string& scriptName)>;

// One folder name met in a script.
struct FolderRef {
  uint32_t line = 0;
  std::string command;   // "fileinto", "mailboxexists", ":fcc", ...
  std::string name;      // as the script names it (decoded)
  std::string mappedTo;  // the name written instead ("" : left as it is)
  std::string remark;    // from the mapping
  std::string problem;   // why it could not be mapped ("" : it could, or needed no change)
};

struct RewriteResult {
  std::string script;  // the rewritten text (the input as is when parseError is set)
  std::vector<FolderRef> refs;
  Status parseError;  // the script could not be read: nothing was rewritten
  bool changed() const;
};

RewriteResult rewriteScript(const std::string& script, const FolderMapFn& folders,
                            const std::map<std::string, std::string>& renamedScripts = {});

}  // namespace migrate::sieve
