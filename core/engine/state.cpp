#include "engine/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include "engine/guid.h"

namespace migrate {

namespace {

constexpr const char* kMagic = "dovecot-migrate-state";

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool unescape(const std::string& s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) {
      return false;
    }
    switch (s[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        return false;
    }
  }
  return true;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = line.find('\t', start);
    if (p == std::string::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, p - start));
    start = p + 1;
  }
}

bool parseU64(const std::string& s, uint64_t& v) {
  if (s.empty() || s.size() > 20) {
    return false;
  }
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  return true;
}

bool parseU32(const std::string& s, uint32_t& v) {
  uint64_t x = 0;
  if (!parseU64(s, x) || x > UINT32_MAX) {
    return false;
  }
  v = static_cast<uint32_t>(x);
  return true;
}

bool parseI64(const std::string& s, int64_t& v) {
  bool neg = !s.empty() && s[0] == '-';
  uint64_t x = 0;
  if (!parseU64(neg ? s.substr(1) : s, x) || x > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  v = neg ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  return true;
}

Status sysError(const std::string& what, const std::string& path) {
  return Status(ErrorKind::LocalStorage, what + " " + path + ": " + std::strerror(errno),
                "check permissions and free space in the user's mail home");
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
      << '\t' << flags << '\n';
  }
  return o.str();
}

Result<AccountState> parseState(const std::string& text) {
  AccountState st;
  size_t pos = 0;
  int lineNo = 0;
  bool sawHeader = false;
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
      uint64_t version = 0;
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
    } else if (f[0] == "folder" && f.size() == 10) {
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
  s->path_ = dir + "/" + accountKey(host, user) + ".state";
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
  Result<AccountState> loaded = peek(dir, host, user);
  if (!loaded.isOk()) {
    return loaded.status();
  }
  s->state_ = std::move(loaded).value();
  return s;
}

Result<AccountState> StateStore::peek(const std::string& dir, const std::string& host,
                                      const std::string& user) {
  std::string path = dir + "/" + accountKey(host, user) + ".state";
  AccountState fresh;
  fresh.host = host;
  fresh.user = user;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) {
      return sysError("cannot open state file", path);
    }
    return fresh;
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ::close(fd);
      return sysError("cannot read state file", path);
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
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
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return sysError("cannot create", tmp);
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      Status st = sysError("cannot write", tmp);
      ::close(fd);
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) < 0) {
    Status st = sysError("cannot fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) < 0) {
    return sysError("cannot rename to", path_);
  }
  return Status::ok();
}

}  // namespace migrate
