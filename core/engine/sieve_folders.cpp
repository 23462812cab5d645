#include "engine/sieve_folders.h"

#include <memory>
#include <optional>
#include <string>

#include "common/strings.h"
#include "imap/mutf7.h"

namespace migrate {

namespace {

bool sameName(const PlannedFolder& f, const std::string& name) {
  return f.isInbox ? lowerAscii(name) == "inbox" : f.sourceName == name;
}

// `name` without the personal namespace prefix (matched case-insensitively: "inbox." is
// "INBOX."); nullopt when it does not start with it.
std::optional<std::string> withoutPrefix(const std::string& name, const std::string& prefix) {
  if (prefix.empty() || name.size() <= prefix.size() ||
      lowerAscii(name.substr(0, prefix.size())) != lowerAscii(prefix)) {
    return std::nullopt;
  }
  return name.substr(prefix.size());
}

class Mapper {
 public:
  explicit Mapper(const FolderPlan& plan) : plan_(plan) {
    Result<std::string> decoded = imap::mutf7Decode(plan.personalPrefix);
    prefix_ = decoded.isOk() ? decoded.value() : plan.personalPrefix;
  }

  std::optional<sieve::MappedFolder> map(const std::string& name) const {
    std::optional<std::string> rel = withoutPrefix(name, prefix_);
    for (const std::string& n : {name, rel.value_or(std::string())}) {
      for (const PlannedFolder& f : plan_.folders) {
        if (!n.empty() && sameName(f, n)) {
          // Dovecot knows INBOX in any case: "inbox" needs no rewrite.
          return sieve::MappedFolder{f.isInbox && n == name ? name : f.destName, {}};
        }
      }
    }
    for (const PlannedFolder& f : plan_.folders) {
      if (!f.isInbox && (f.rawName == name || f.rawName == plan_.personalPrefix + name)) {
        return sieve::MappedFolder{f.destName, "written in modified UTF-7 as '" + name + "'"};
      }
    }
    return underParent(rel.value_or(name));
  }

 private:
  // The longest planned folder that `rel` lies under, with the rest of `rel` appended.
  std::optional<sieve::MappedFolder> underParent(const std::string& rel) const {
    const PlannedFolder* best = nullptr;
    for (const PlannedFolder& f : plan_.folders) {
      const std::string head = f.sourceName + f.delimiter;
      if (!f.isInbox && rel.size() > head.size() && rel.compare(0, head.size(), head) == 0 &&
          (best == nullptr || f.sourceName.size() > best->sourceName.size())) {
        best = &f;
      }
    }
    if (best == nullptr) {
      return std::nullopt;
    }
    std::string rest = rel.substr(best->sourceName.size() + 1);
    for (char& c : rest) {
      c = c == best->delimiter ? plan_.destSeparator : c;
    }
    return sieve::MappedFolder{best->destName + plan_.destSeparator + rest,
                               "not a source folder; under the migrated '" + best->sourceName + "'"};
  }

  const FolderPlan plan_;  // a copy: the function may outlive the run's plan
  std::string prefix_;
};

}  // namespace

sieve::FolderMapFn sieveFolderMap(const FolderPlan& plan) {
  auto mapper = std::make_shared<Mapper>(plan);
  return [mapper](const std::string& name) { return mapper->map(name); };
}

}  // namespace migrate
