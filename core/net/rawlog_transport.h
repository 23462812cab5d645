#pragma once
// A wire trace like Dovecot's rawlog: everything read from and written to the wrapped transport
// is appended to <dir>/<UTC yyyymmdd-hhmmss>-<pid>-<n>.in and .out (mode 0600, created new).
// While redaction is on (setRedact), written bytes are recorded as "<redacted N bytes>\r\n".
// The session redacts LOGIN/AUTHENTICATE arguments so that no password or token is recorded.
//
// Wrap order with COMPRESS=DEFLATE: tcp <- deflate <- rawlog, so the trace shows the plain
// protocol; replaceInner() lets the session slip the deflate layer in under the trace.
//
// Ownership: owns the inner transport. Threads: as Transport (one thread).
// Errors: create(): Config when the directory is missing or not writable (naming it); the
// transport's own errors pass through. A failed trace write stops tracing (the migration goes
// on) and is kept in traceError().

#include <functional>
#include <memory>
#include <string>

#include "net/transport.h"

namespace migrate::net {

class RawlogTransport final : public Transport {
 public:
  // Takes `inner` only on success; on failure it is left as it was.
  static Result<std::unique_ptr<RawlogTransport>> create(std::unique_ptr<Transport>&& inner,
                                                         const std::string& dir);
  ~RawlogTransport() override;
  RawlogTransport(const RawlogTransport&) = delete;
  RawlogTransport& operator=(const RawlogTransport&) = delete;

  Status writeAll(const void* data, size_t len) override;
  Result<size_t> readSome(void* buf, size_t cap) override;
  Status startTls(const TlsOptions& tls) override;
  bool isTls() const override;
  std::string describe() const override;
  void close() override;
  void setIoTimeoutMs(int ms) override;
  void setRedact(bool on) override;

  // Replaces the inner transport by wrap(old inner), e.g. to add the deflate layer. When wrap
  // fails, the old inner transport is gone too (wrap owns it): the transport is then unusable.
  using WrapFn = std::function<Result<std::unique_ptr<Transport>>(std::unique_ptr<Transport>)>;
  Status replaceInner(const WrapFn& wrap);

  const std::string& inPath() const { return inPath_; }
  const std::string& outPath() const { return outPath_; }
  const std::string& traceError() const { return traceError_; }

 private:
  RawlogTransport(std::unique_ptr<Transport> inner, int inFd, int outFd, std::string inPath,
                  std::string outPath);
  void record(int& fd, const std::string& path, const void* data, size_t len);

  std::unique_ptr<Transport> inner_;
  int inFd_;
  int outFd_;
  std::string inPath_;
  std::string outPath_;
  bool redact_ = false;
  std::string traceError_;
};

}  // namespace migrate::net
