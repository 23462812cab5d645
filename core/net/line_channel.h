#pragma once
// A line-based text protocol over a Transport, as POP3 and ManageSieve speak it: lines ending in
// CRLF (a lone LF is taken too), runs of raw bytes (literals), writes that a wire trace shows
// redacted, and STARTTLS on the same connection. Blocking; one thread.

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "net/transport.h"

namespace migrate::net {

// Who the channel talks to, for messages, and how long it waits for a byte.
struct PeerOptions {
  std::string peerName;  // "host:port"
  int ioTimeoutMs = 300000;
};

class LineChannel {
 public:
  // `server` names the peer in messages: "the POP3 server pop.example.org:995".
  LineChannel(std::unique_ptr<Transport> transport, std::string server, int ioTimeoutMs);
  ~LineChannel();
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;

  // The next line without its line end; a line over 64 KiB is a Protocol error.
  Result<std::string> readLine();
  // The next `n` bytes as they come.
  Result<std::string> readBytes(size_t n);
  // `line` and CRLF; `secret`: a wire trace records "<redacted N bytes>" instead.
  Status writeLine(const std::string& line, bool secret = false);
  Status write(const std::string& bytes);
  // TLS on this connection, after the server agreed to STARTTLS/STLS; refused (Tls) when the
  // server sent anything after its agreement (a plain-text injection, or a broken server).
  Status startTls(const TlsOptions& tls);
  const std::string& server() const { return server_; }
  void close();

 private:
  std::unique_ptr<Transport> transport_;
  std::string server_;
  std::string buffer_;
};

}  // namespace migrate::net
