#pragma once
// An in-memory, thread-safe byte pipe whose two ends are Transports: for unit tests and for the
// scripted fake IMAP server (tests/fakes), which runs the server end on its own thread.
//
// Semantics mirror TcpTransport where a test can observe them:
// - readSome() blocks until data, close or the I/O timeout (Timeout "no data from memory:server
//   for 5 s"); it returns whatever is buffered, up to cap.
// - writeAll() never blocks (the buffer is unbounded) and fails with Closed once the other end
//   has closed or dropped.
// - close(): the other end first reads everything already written, then gets Closed ("the server
//   closed the connection" on the client end, "the client closed the connection" on the server
//   end). drop(): like a TCP reset, unread bytes are discarded and the other end gets Closed at
//   once. Using an end after its own close()/drop() gives Closed. The destructor closes.
// - startTls() performs NO cryptography: it records the options and makes isTls() true on this
//   end only, so that session STARTTLS logic can be tested. failNextStartTls() makes it fail
//   (and close this end, as a failed TcpTransport::startTls does).
//
// Threads: unlike other transports, the two ends may be used from two threads, and close(),
// drop(), the fail* injectors and the accessors may be called from any thread (close() wakes a
// blocked readSome on either end).

#include <cstdint>
#include <memory>
#include <string>

#include "net/transport.h"

namespace migrate::net {

class MemoryTransport final : public Transport {
 public:
  struct Shared;  // the state of both ends, behind one mutex
  MemoryTransport(std::shared_ptr<Shared> shared, int side);
  ~MemoryTransport() override;
  MemoryTransport(const MemoryTransport&) = delete;
  MemoryTransport& operator=(const MemoryTransport&) = delete;

  Status writeAll(const void* data, size_t len) override;
  Result<size_t> readSome(void* buf, size_t cap) override;
  Status startTls(const TlsOptions& tls) override;
  bool isTls() const override;
  // "memory:server" on the client end (like TcpTransport, it names what it is connected to),
  // "memory:client" on the server end; ", TLS (simulated)" after startTls().
  std::string describe() const override;
  void close() override;

  // Abrupt close of this end (see above): a "connection drop" injected by the fake server.
  void drop();
  // The next readSome() on this end fails with `status` (must not be ok) without waiting.
  void failNextRead(Status status);
  // The next startTls() on this end fails with `status` (must not be ok).
  void failNextStartTls(Status status);
  // The read timeout of this end (default: makeMemoryPipe's). < 0 waits forever.
  void setIoTimeoutMs(int ms) override;

  int startTlsCount() const;
  TlsOptions lastTlsOptions() const;  // of the last successful startTls()
  uint64_t bytesWritten() const;      // by this end
  uint64_t bytesRead() const;         // by this end
  size_t available() const;           // written by the other end, not yet read by this one
  bool peerClosed() const;            // the other end has closed or dropped

 private:
  std::shared_ptr<Shared> shared_;
  int side_;  // 0: client, 1: server
};

struct MemoryPipe {
  std::unique_ptr<MemoryTransport> client;
  std::unique_ptr<MemoryTransport> server;
};

// A connected pair; both ends time out reads after ioTimeoutMs.
MemoryPipe makeMemoryPipe(int ioTimeoutMs = 5000);

}  // namespace migrate::net
