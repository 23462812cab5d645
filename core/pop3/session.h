#pragma once
// A POP3 client (RFC 1939, STLS RFC 2595, CAPA/PIPELINING RFC 2449, AUTH PLAIN RFC 5034) for
// what the migration needs from an old server's POP3 side: each INBOX message's number, size
// and UIDL, and its header (TOP n 0), so that the old UIDLs can be kept here. Reads only: no
// DELE is ever sent. Blocking, on the calling thread, over a net::Transport.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/line_channel.h"
#include "net/transport.h"

namespace migrate::pop3 {

using SessionOptions = net::PeerOptions;

// One message of the maildrop as LIST and UIDL give it.
struct Listed {
  uint32_t number = 0;  // 1-based message number of this session
  uint64_t size = 0;    // octets as LIST says (CRLF line ends, before dot-stuffing)
  std::string uidl;     // the unique-id listing
};

class Session {
 public:
  Session(std::unique_ptr<net::Transport> transport, SessionOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // "+OK ..." greeting, then CAPA (servers without CAPA have no capabilities).
  Status readGreeting();
  bool hasCapability(const std::string& name) const { return capabilities_.count(name) != 0; }
  // STLS, then TLS on the same connection, then CAPA again.
  Status startTls(const net::TlsOptions& tls);
  // AUTH PLAIN with the initial response when the server offers SASL PLAIN (and always for a
  // master user: authzid `user`, authcid `masterUser`), else USER/PASS. A refusal is Auth.
  Status login(const std::string& user, const std::string& password, const std::string& masterUser = {});
  // LIST and UIDL of the whole maildrop, in message-number order. A server without UIDL is
  // Protocol ("does not support UIDL").
  Result<std::vector<Listed>> list();
  // TOP n 0 for each of `numbers` (pipelined when the server offers PIPELINING): `onHeader` gets
  // the message number and its header (CRLF line ends, dot-stuffing undone, the empty line that
  // ends it included when the server sends it). An error of `onHeader` stops and is returned.
  Status headers(const std::vector<uint32_t>& numbers,
                 const std::function<Status(uint32_t number, const std::string& header)>& onHeader);
  // QUIT (nothing is deleted: no DELE was sent).
  Status quit();
  void close() { channel_.close(); }

 private:
  // A single-line reply: its text after "+OK"; "-ERR" is an error of kind `refused` (Busy or
  // Throttled for [IN-USE] and [SYS/TEMP]) saying what `what` was.
  Result<std::string> reply(const std::string& what, ErrorKind refused = ErrorKind::Protocol);
  Result<std::string> command(const std::string& line, const std::string& what, bool secret = false,
                              ErrorKind refused = ErrorKind::Protocol);
  // The lines of a multi-line reply after its "+OK" line, dot-stuffing undone.
  Result<std::vector<std::string>> multiLine();
  Status readCapabilities();
  Status error(const std::string& what, const std::string& text, ErrorKind refused) const;

  SessionOptions options_;
  net::LineChannel channel_;
  // Upper case: the first word of each CAPA line, and "WORD ARG" for each of its arguments
  // ("SASL PLAIN").
  std::set<std::string> capabilities_;
};

}  // namespace migrate::pop3
