#include "net/rawlog_transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace migrate::net {

namespace {

std::atomic<unsigned> gTraceCounter{0};

std::string osError(int err) {
  return std::strerror(err);  // NOLINT(concurrency-mt-unsafe): messages only
}

Status writeFully(int fd, const char* p, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Status(ErrorKind::LocalStorage, osError(errno));
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::ok();
}

// After a failed replaceInner() the connection is gone.
Status gone() {
  return Status(ErrorKind::Closed, "the connection is closed");
}

}  // namespace

Result<std::unique_ptr<RawlogTransport>> RawlogTransport::create(std::unique_ptr<Transport>&& inner,
                                                                 const std::string& dir) {
  const std::string hint = "create the directory and make it writable for the user the migration runs as";
  if (dir.empty()) {
    return Status(ErrorKind::Config, "no directory given for the wire trace (rawlog)", hint);
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status(ErrorKind::Config, "the wire trace directory " + dir + " is not usable: " + osError(errno),
                  hint);
  }
  const time_t now = ::time(nullptr);
  struct tm tmv {};
  gmtime_r(&now, &tmv);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tmv);
  const std::string base = dir + (dir.back() == '/' ? "" : "/") + stamp + "-" + std::to_string(::getpid()) +
                           "-" + std::to_string(++gTraceCounter);
  const std::string inPath = base + ".in";
  const std::string outPath = base + ".out";
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
  int inFd = ::open(inPath.c_str(), flags, 0600);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (inFd < 0) {
    return Status(ErrorKind::Config, "cannot create the wire trace file " + inPath + ": " + osError(errno),
                  hint);
  }
  int outFd = ::open(outPath.c_str(), flags, 0600);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (outFd < 0) {
    const std::string err = osError(errno);
    ::close(inFd);
    ::unlink(inPath.c_str());
    return Status(ErrorKind::Config, "cannot create the wire trace file " + outPath + ": " + err, hint);
  }
  return std::unique_ptr<RawlogTransport>(
      new RawlogTransport(std::move(inner), inFd, outFd, inPath, outPath));
}

RawlogTransport::RawlogTransport(std::unique_ptr<Transport> inner, int inFd, int outFd, std::string inPath,
                                 std::string outPath)
    : inner_(std::move(inner)),
      inFd_(inFd),
      outFd_(outFd),
      inPath_(std::move(inPath)),
      outPath_(std::move(outPath)) {}

RawlogTransport::~RawlogTransport() {
  if (inFd_ >= 0) {
    ::close(inFd_);
  }
  if (outFd_ >= 0) {
    ::close(outFd_);
  }
}

void RawlogTransport::record(int& fd, const std::string& path, const void* data, size_t len) {
  if (fd < 0 || len == 0) {
    return;
  }
  Status st = writeFully(fd, static_cast<const char*>(data), len);
  if (!st.isOk()) {
    // Tracing is a diagnostic aid: a full disk must not end the migration.
    traceError_ = "writing the wire trace " + path + " failed: " + st.message() + "; tracing stopped";
    ::close(inFd_);
    ::close(outFd_);
    inFd_ = -1;
    outFd_ = -1;
  }
}

Status RawlogTransport::writeAll(const void* data, size_t len) {
  if (redact_) {
    const std::string mark = "<redacted " + std::to_string(len) + " bytes>\r\n";
    record(outFd_, outPath_, mark.data(), mark.size());
  } else {
    record(outFd_, outPath_, data, len);
  }
  if (!inner_) {
    return gone();
  }
  return inner_->writeAll(data, len);
}

Result<size_t> RawlogTransport::readSome(void* buf, size_t cap) {
  if (!inner_) {
    return gone();
  }
  Result<size_t> n = inner_->readSome(buf, cap);
  if (n.isOk()) {
    record(inFd_, inPath_, buf, n.value());
  }
  return n;
}

Status RawlogTransport::startTls(const TlsOptions& tls) {
  if (!inner_) {
    return gone();
  }
  return inner_->startTls(tls);
}

bool RawlogTransport::isTls() const {
  return inner_ && inner_->isTls();
}

std::string RawlogTransport::describe() const {
  return inner_ ? inner_->describe() : std::string("closed connection");
}

void RawlogTransport::close() {
  if (inner_) {
    inner_->close();
  }
}

void RawlogTransport::setIoTimeoutMs(int ms) {
  if (inner_) {
    inner_->setIoTimeoutMs(ms);
  }
}

void RawlogTransport::setRedact(bool on) {
  redact_ = on;
  if (inner_) {
    inner_->setRedact(on);
  }
}

Status RawlogTransport::replaceInner(const WrapFn& wrap) {
  MIGRATE_ASSIGN_OR_RETURN(std::unique_ptr<Transport> wrapped, wrap(std::move(inner_)));
  inner_ = std::move(wrapped);
  return Status::ok();
}

}  // namespace migrate::net
