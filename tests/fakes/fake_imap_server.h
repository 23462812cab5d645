#pragma once
// A scripted IMAP server over the in-memory transport, for what real servers won't do on demand
// (malformed responses, drops, throttling, UIDVALIDITY changes). It runs on its own thread and
// answers each command line with whatever the handler returns (raw bytes, CRLFs included).
// Literals in commands ("{N}") get a "+ go ahead" and are inlined into the command text.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/memory_transport.h"

namespace migrate::testing {

class FakeImapServer {
 public:
  // (tag, command without tag) -> raw response bytes. Bytes ending in "\x01DROP": send the bytes
  // before the mark, then close the connection (a drop, e.g. mid-literal). Bytes ending in
  // "\x01DEFLATE": send the bytes before the mark, then speak COMPRESS=DEFLATE both ways.
  using Handler = std::function<std::string(const std::string& tag, const std::string& command)>;

  FakeImapServer(std::string greeting, Handler handler);
  ~FakeImapServer();

  // The client end; hand it to a Session. Call once.
  std::unique_ptr<net::Transport> clientTransport();
  // Command lines received so far (tag stripped), for assertions.
  std::vector<std::string> commands() const;

 private:
  void serve();
  net::MemoryPipe pipe_;
  net::MemoryTransport* serverEnd_ = nullptr;
  std::unique_ptr<net::Transport> deflate_;  // wraps the server end after COMPRESS
  std::string greeting_;
  Handler handler_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> commands_;
};

}  // namespace migrate::testing
