#include "engine/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include "common/textfile.h"
#include "engine/guid.h"
#include "engine/state_files.h"
#include "imap/command.h"

namespace migrate {

using textfile::escape;
using textfile::parseI64;
using textfile::parseU32;
using textfile::parseU64;
using textfile::splitTabs;
using textfile::sysError;
using textfile::unescape;

namespace {

constexpr const char* kMagic = "dovecot-migrate-state";

// "4,9:11" -> {4, 9, 10, 11}; false for anything else (at most 100000 UIDs).
bool parseUidSet(const std::string& text, std::set<uint32_t>& out) {
  out.clear();
  if (text.empty()) {
    return true;
  }
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t colon = item.find(':');
    uint32_t first = 0;
    uint32_t last = 0;
    if (colon == std::string::npos) {
      if (!parseU32(item, first)) {
        return false;
      }
      last = first;
    } else if (!parseU32(item.substr(0, colon), first) || !parseU32(item.substr(colon + 1), last)) {
      return false;
    }
    if (first == 0 || last < first || last - first > 100000 || out.size() + (last - first) > 100000) {
      return false;
    }
    for (uint64_t u = first; u <= last; u++) {
      out.insert(static_cast<uint32_t>(u));
    }
    if (comma == std::string::npos) {
      return true;
    }
    start = comma + 1;
  }
}

// Fields of a folder record in a file of `version`.
size_t folderFields(uint64_t version) {
  return version >= 3 ? 16u : version == 2 ? 12u : 10u;
}

// The file's text without its run record: what a save must not lose.
std::string withoutRunRecord(AccountState st) {
  st.runStarted = 0;
  st.runEnded = 0;
  st.runResult.clear();
  st.runMessage.clear();
  return serializeState(st);
}

}  // namespace

std::string serializeState(const AccountState& st) {
  std::ostringstream o;
  o << kMagic << '\t' << kStateVersion << '\n';
  o << "account\t" << escape(st.host) << '\t' << escape(st.user) << '\n';
  o << "run\t" << st.runStarted << '\t' << st.runEnded << '\t' << escape(st.runResult) << '\t'
    << escape(st.runMessage) << '\n';
  for (const auto& [name, f] : st.folders) {
    std::string flags;
    if (f.preserveUids) {
      flags += 'p';
    }
    if (f.complete) {
      flags += 'c';
    }
    o << "folder\t" << escape(name) << '\t' << f.uidValidity << '\t' << f.lastUid << '\t' << f.uidNext << '\t'
      << f.highestModSeq << '\t' << escape(f.destName) << '\t' << f.destUidValidity << '\t' << f.destUidNext
      << '\t' << flags << '\t' << f.rules.serialize() << '\t'
      << imap::compressUidSet(std::vector<uint32_t>(f.retryUids.begin(), f.retryUids.end())) << '\t'
      << f.destModSeq << '\t' << f.changedHere.serialize() << '\t' << f.checkedMessages << '\t'
      << f.checkedUidNext << '\n';
  }
  return o.str();
}

Result<AccountState> parseState(const std::string& text) {
  AccountState st;
  size_t pos = 0;
  int lineNo = 0;
  bool sawHeader = false;
  uint64_t version = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      return Status(
          ErrorKind::Config, "state file is truncated at line " + std::to_string(lineNo + 1),
          "the file is rewritten atomically, so this is damage from outside; move it away to start over");
    }
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    lineNo++;
    std::vector<std::string> f = splitTabs(line);
    auto bad = [&](const std::string& why) {
      return Status(
          ErrorKind::Config, "state file line " + std::to_string(lineNo) + ": " + why,
          "move the file away to start over (messages already copied are recognised by their GUIDs)");
    };
    if (!sawHeader) {
      if (f.size() != 2 || f[0] != kMagic || !parseU64(f[1], version)) {
        return bad("not a dovecot-migrate state file");
      }
      if (version > static_cast<uint64_t>(kStateVersion)) {
        return Status(ErrorKind::Config,
                      "state file version " + f[1] + " was written by a newer dovecot-migrate",
                      "run the newer version, or move the file away to start over");
      }
      sawHeader = true;
      continue;
    }
    if (f[0] == "account" && f.size() == 3) {
      if (!unescape(f[1], st.host) || !unescape(f[2], st.user)) {
        return bad("bad escape");
      }
    } else if (f[0] == "run" && f.size() == 5) {
      if (!parseI64(f[1], st.runStarted) || !parseI64(f[2], st.runEnded) || !unescape(f[3], st.runResult) ||
          !unescape(f[4], st.runMessage)) {
        return bad("bad run record");
      }
    } else if (f[0] == "folder" && f.size() == folderFields(version)) {
      FolderState fs;
      if (!unescape(f[1], fs.rawName) || !parseU32(f[2], fs.uidValidity) || !parseU32(f[3], fs.lastUid) ||
          !parseU32(f[4], fs.uidNext) || !parseU64(f[5], fs.highestModSeq) || !unescape(f[6], fs.destName) ||
          !parseU32(f[7], fs.destUidValidity) || !parseU32(f[8], fs.destUidNext)) {
        return bad("bad folder record");
      }
      for (char c : f[9]) {
        if (c == 'p') {
          fs.preserveUids = true;
        } else if (c == 'c') {
          fs.complete = true;
        } else {
          return bad("unknown folder flag");
        }
      }
      if (version >= 2 && (!MessageRules::parse(f[10], fs.rules) || !parseUidSet(f[11], fs.retryUids))) {
        return bad("bad folder record");
      }
      if (version >= 3 && (!parseU64(f[12], fs.destModSeq) || !fs.changedHere.parse(f[13]) ||
                           !parseU32(f[14], fs.checkedMessages) || !parseU32(f[15], fs.checkedUidNext))) {
        return bad("bad folder record");
      }
      st.folders[fs.rawName] = fs;
    } else {
      return bad("unknown record '" + f[0].substr(0, 20) + "'");
    }
  }
  if (!sawHeader) {
    return Status(ErrorKind::Config, "state file is empty",
                  "move the file away to start over (messages already copied are recognised by their GUIDs)");
  }
  return st;
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& dir, const std::string& host,
                                                     const std::string& user) {
  std::unique_ptr<StateStore> s(new StateStore());
  s->path_ = dir + "/" + kStateFilePrefix + accountKey(host, user) + ".state";
  std::string lockPath = s->path_ + ".lock";
  s->lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lockFd_ < 0) {
    return sysError("cannot open lock file", lockPath);
  }
  if (::flock(s->lockFd_, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) {
      return Status(ErrorKind::Busy,
                    "another migration from " + user + " at " + host + " is running for this user",
                    "wait for it to finish, or stop it first");
    }
    return sysError("cannot lock", lockPath);
  }
  bool exists = false;
  MIGRATE_ASSIGN_OR_RETURN(AccountState loaded, load(s->path_, host, user, exists));
  s->state_ = std::move(loaded);
  if (exists) {
    s->written_ = serializeState(s->state_);
    s->writtenFolders_ = withoutRunRecord(s->state_);
  }
  return s;
}

Result<AccountState> StateStore::peek(const std::string& dir, const std::string& host,
                                      const std::string& user) {
  bool exists = false;
  return load(dir + "/" + kStateFilePrefix + accountKey(host, user) + ".state", host, user, exists);
}

Result<AccountState> StateStore::load(const std::string& path, const std::string& host,
                                      const std::string& user, bool& exists) {
  AccountState fresh;
  fresh.host = host;
  fresh.user = user;
  Result<std::optional<std::string>> file = textfile::readFile(path);
  if (!file.isOk()) {
    return file.status().withPrefix("state file");
  }
  exists = file.value().has_value();
  if (!exists) {
    return fresh;
  }
  const std::string& text = *file.value();
  Result<AccountState> parsed = parseState(text);
  if (!parsed.isOk()) {
    return parsed.status().withPrefix(path);
  }
  AccountState st = std::move(parsed).value();
  st.host = host;
  st.user = user;
  return st;
}

StateStore::~StateStore() {
  if (lockFd_ >= 0) {
    ::close(lockFd_);  // releases the flock
  }
}

Status StateStore::save() {
  std::string text = serializeState(state_);
  std::string folders = withoutRunRecord(state_);
  bool foldersChanged = folders != writtenFolders_;
  if (text == written_ || (!foldersChanged && !changedFolders_)) {
    return Status::ok();
  }
  Status st = textfile::writeFileAtomic(path_, text, true);
  if (st.isOk()) {
    written_ = std::move(text);
    writtenFolders_ = std::move(folders);
    changedFolders_ = changedFolders_ || foldersChanged;
  }
  return st;
}

}  // namespace migrate
