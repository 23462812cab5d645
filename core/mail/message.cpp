#include "mail/message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace migrate {

namespace {

struct NamedFlag {
  const char* name;
  uint8_t bit;
};
constexpr NamedFlag kSystemFlags[] = {
    {"\\seen", kFlagSeen},       {"\\answered", kFlagAnswered}, {"\\flagged", kFlagFlagged},
    {"\\deleted", kFlagDeleted}, {"\\draft", kFlagDraft},
};

bool equalsLower(const std::string& s, const char* lower) {
  size_t n = std::strlen(lower);
  if (s.size() != n) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != lower[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

MessageFlags parseFlags(const std::vector<std::string>& atoms) {
  MessageFlags f;
  for (const std::string& a : atoms) {
    if (a.empty()) {
      continue;
    }
    if (a[0] == '\\') {
      for (const NamedFlag& nf : kSystemFlags) {
        if (equalsLower(a, nf.name)) {
          f.system |= nf.bit;
        }
      }
      continue;  // \Recent, \* and unknown system flags are not carried
    }
    f.keywords.push_back(a);
  }
  std::sort(f.keywords.begin(), f.keywords.end());
  f.keywords.erase(std::unique(f.keywords.begin(), f.keywords.end()), f.keywords.end());
  return f;
}

std::string formatFlags(const MessageFlags& flags) {
  static const char* const kNames[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};
  std::string out;
  for (int i = 0; i < 5; i++) {
    if ((flags.system & (1u << i)) != 0) {
      out += out.empty() ? "" : " ";
      out += kNames[i];
    }
  }
  for (const std::string& k : flags.keywords) {
    out += out.empty() ? "" : " ";
    out += k;
  }
  return out;
}

MessageBody::MessageBody(std::string tempDir) : tempDir_(std::move(tempDir)) {}

MessageBody::~MessageBody() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Status MessageBody::reset(uint64_t expectedSize) {
  size_ = 0;
  has0x80_ = false;
  mem_.clear();
  if (expectedSize <= kMemoryLimit) {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (mem_.capacity() > 2 * kMemoryLimit) {
      std::string().swap(mem_);
    }
    mem_.reserve(expectedSize);
    return Status::ok();
  }
  if (fd_ >= 0) {
    // Reuse the spool file of the previous large message.
    if (::ftruncate(fd_, 0) < 0) {
      return Status(ErrorKind::LocalStorage,
                    std::string("cannot truncate spool file: ") + std::strerror(errno));
    }
    return Status::ok();
  }
#ifdef O_TMPFILE
  fd_ = ::open(tempDir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd_ < 0) {
    std::string tmpl = tempDir_ + "/migrate-spool-XXXXXX";
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ >= 0) {
      ::unlink(tmpl.c_str());
    }
  }
  if (fd_ < 0) {
    return Status(ErrorKind::LocalStorage,
                  "cannot create a spool file for a " + std::to_string(expectedSize >> 20) +
                      " MiB message in " + tempDir_ + ": " + std::strerror(errno),
                  "check that the directory exists and has free space");
  }
  return Status::ok();
}

Status MessageBody::append(const char* data, size_t len) {
  // Looked for while the bytes are hot in the cache: a second pass over a spooled body is not.
  if (!has0x80_ && len > 0 && std::memchr(data, 0x80, len) != nullptr) {
    has0x80_ = true;
  }
  if (fd_ < 0) {
    mem_.append(data, len);
    size_ += len;
    return Status::ok();
  }
  while (len > 0) {
    ssize_t n = ::pwrite(fd_, data, len, static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Status(ErrorKind::LocalStorage,
                    std::string("cannot write spool file in ") + tempDir_ + ": " + std::strerror(errno),
                    "check free space in the temp directory");
    }
    data += n;
    len -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

Result<std::string> MessageBody::readAll() const {
  if (fd_ < 0) {
    return mem_;
  }
  std::string out(size_, '\0');
  uint64_t off = 0;
  while (off < size_) {
    ssize_t n = ::pread(fd_, out.data() + off, size_ - off, static_cast<off_t>(off));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return Status(ErrorKind::LocalStorage, "cannot read spool file");
    }
    off += static_cast<uint64_t>(n);
  }
  return out;
}

}  // namespace migrate
