#include "common/textfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migrate::textfile {

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

Result<std::optional<std::string>> readFile(const std::string& path, size_t maxBytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return sysError("cannot open", path);
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      Status st = sysError("cannot read", path);
      ::close(fd);
      return st;
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > maxBytes) {
      ::close(fd);
      return Status(ErrorKind::LocalStorage, path + " is larger than " + std::to_string(maxBytes) + " bytes",
                    "it is not a file this tool wrote: move it away");
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(text));
}

std::string recordHeader(const RecordFormat& format) {
  return std::string(format.magic) + '\t' + std::to_string(format.version) + '\n';
}

Status parseRecords(const std::string& text, const RecordFormat& format,
                    const std::function<bool(const std::string& key, const std::string& value)>& field) {
  uint32_t lineNo = 0;
  auto bad = [&format, &lineNo](const std::string& why) {
    return Status(ErrorKind::Config,
                  std::string(format.what) + " line " + std::to_string(lineNo) + ": " + why, format.hint);
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::vector<std::string> f = splitTabs(text.substr(pos, end - pos));
    pos = end + 1;
    ++lineNo;
    if (lineNo == 1) {
      uint32_t version = 0;
      if (f.size() != 2 || f[0] != format.magic || !parseU32(f[1], version)) {
        return bad(std::string("not a dovecot-migrate ") + format.what + " file");
      }
      if (version > format.version) {
        return bad("written by a newer dovecot-migrate (version " + f[1] + ")");
      }
      continue;
    }
    std::string value;
    if (f.size() != 2 || !unescape(f[1], value)) {
      return bad("expected key<TAB>value");
    }
    if (!field(f[0], value)) {
      return bad("bad value for " + f[0]);
    }
  }
  if (lineNo == 0) {
    return bad("empty file");
  }
  return Status::ok();
}

Status writeFileAtomic(const std::string& path, const std::string& text, bool doFsync, unsigned mode) {
  // One temporary name per process: two processes replacing the same file at once (two panel
  // requests for one user) must not write into, or rename away, each other's temporary file.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    return sysError("cannot create", tmp);
  }
  // A file left by a crashed process with the same pid keeps its old mode: this one's is `mode`.
  (void)::fchmod(fd, static_cast<mode_t>(mode));
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
  if (doFsync && ::fsync(fd) < 0) {
    Status st = sysError("cannot fsync", tmp);
    ::close(fd);
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    return sysError("cannot rename to", path);
  }
  return Status::ok();
}

}  // namespace migrate::textfile
