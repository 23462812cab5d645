// libFuzzer target: a whole imap::Session (core/imap/session.h) against a server whose bytes are
// the input, over net::MemoryTransport: greeting, (STARTTLS,) CAPABILITY, login (password or
// OAuth2 token), (COMPRESS,) NAMESPACE, LIST, LSUB, STATUS, EXAMINE, UID FETCH (range and set),
// LOGOUT, in the order the engine uses them. Every step runs even after an earlier one failed:
// a session must answer every call with a Status, whatever state the server left it in.
//
// Input: 1 control byte, then the server's bytes as turns separated by kTurnMark (FF 00 FF).
// The server speaks when the client waits: the first turn (the greeting) is in the pipe at the
// start, and each time the client reads with nothing left to read, the next turn is written.
// After the last turn the read times out at once (the pipe's timeout is 0), or, with control
// bit 3, the server closes. So the work is bounded by the input, and bytes a server sends only
// after a command (after STARTTLS, after COMPRESS) arrive only then.
//   control bit 0: loginOAuth() with a token instead of login() with a password
//           bit 1: STARTTLS after the greeting (simulated by the memory transport)
//           bit 2: COMPRESS DEFLATE after the login (the turns after its OK are deflated)
//           bit 3: the server closes after its last turn (EOF instead of a timeout)
//           bit 4: a master user for the password login
//
// Checks beyond ASan/UBSan: every failed step has a message; the password and the token never
// appear in a message or hint (unless the server's own bytes contain them); FETCH callbacks get
// UIDs in the asked range; bytesReceived() never exceeds the input (without compression).
//
// FUZZ_SESSION_TRACE=1 in the environment prints each step's status and what the client sent
// (for writing seeds: the client's tags are A1, A2, ... in the order of the commands). Seeds:
// corpus/session/, written by tests/fuzz/make_session_seeds.py.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>

#include "fuzz_util.h"
#include "imap/session.h"
#include "net/memory_transport.h"

namespace migrate::imap {
namespace {

using fuzz::escaped;

const char* const kPassword = "Fz-Pass-9c1e-Secret";
const char* const kToken = "ya29.Fz-Token-77ab-Secret";

constexpr char kTurnMark[] = "\xff\x00\xff";
constexpr size_t kTurnMarkLen = 3;

// The client's end of the pipe; writes the server's next turn when the client would wait.
class TurnTransport final : public net::Transport {
 public:
  TurnTransport(std::unique_ptr<net::MemoryTransport> client, net::MemoryTransport* server,
                std::deque<std::string> turns, bool closeAtEnd)
      : client_(std::move(client)), server_(server), turns_(std::move(turns)), closeAtEnd_(closeAtEnd) {}

  Status writeAll(const void* data, size_t len) override { return client_->writeAll(data, len); }
  Result<size_t> readSome(void* buf, size_t cap) override {
    if (client_->available() == 0) {
      if (!turns_.empty()) {
        if (!turns_.front().empty()) {
          (void)server_->writeAll(turns_.front().data(), turns_.front().size());
        }
        turns_.pop_front();
      } else if (closeAtEnd_) {
        server_->close();
      }
    }
    return client_->readSome(buf, cap);
  }
  Status startTls(const net::TlsOptions& tls) override { return client_->startTls(tls); }
  bool isTls() const override { return client_->isTls(); }
  std::string describe() const override { return client_->describe(); }
  void close() override { client_->close(); }
  void setIoTimeoutMs(int ms) override { client_->setIoTimeoutMs(ms); }

 private:
  std::unique_ptr<net::MemoryTransport> client_;
  net::MemoryTransport* server_;
  std::deque<std::string> turns_;
  bool closeAtEnd_;
};

std::deque<std::string> splitTurns(const std::string& server) {
  std::deque<std::string> turns;
  size_t start = 0;
  while (true) {
    const size_t mark = server.find(kTurnMark, start, kTurnMarkLen);
    if (mark == std::string::npos) {
      turns.push_back(server.substr(start));
      return turns;
    }
    turns.push_back(server.substr(start, mark - start));
    start = mark + kTurnMarkLen;
  }
}

class Driver {
 public:
  Driver(const std::string& server, bool trace) : server_(server), trace_(trace) {}

  void step(const char* what, const Status& st) {
    if (trace_) {
      std::fprintf(stderr, "%-12s %s\n", what, st.isOk() ? "ok" : st.describe().c_str());
    }
    if (st.isOk()) {
      return;
    }
    FUZZ_CHECK(!st.message().empty(), std::string(what) + " failed without a message");
    for (const char* secret : {kPassword, kToken}) {
      if (server_.find(secret) != std::string::npos) {
        continue;
      }
      FUZZ_CHECK(
          st.message().find(secret) == std::string::npos && st.hint().find(secret) == std::string::npos,
          std::string(what) + ": a secret in the message: " + st.describe());
    }
  }

  template <class T>
  void step(const char* what, const Result<T>& r) {
    step(what, r.status());
  }

 private:
  const std::string& server_;
  bool trace_;
};

}  // namespace
}  // namespace migrate::imap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migrate;
  using namespace migrate::imap;
  if (size < 1) {
    return 0;
  }
  const uint8_t control = data[0];
  const std::string server(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const bool trace = std::getenv("FUZZ_SESSION_TRACE") != nullptr;

  net::MemoryPipe pipe = net::makeMemoryPipe(0);
  net::MemoryTransport* serverEnd = pipe.server.get();
  std::deque<std::string> turns = splitTurns(server);
  const std::string greeting = turns.front();
  turns.pop_front();
  if (!greeting.empty()) {
    FUZZ_CHECK(serverEnd->writeAll(greeting.data(), greeting.size()).isOk(), "cannot fill the pipe");
  }
  auto client = std::make_unique<TurnTransport>(std::move(pipe.client), serverEnd, std::move(turns),
                                                (control & 8) != 0);

  SessionOptions o;
  o.peerName = "imap.fuzz.example:143";
  o.host = "imap.fuzz.example";
  o.port = 143;
  o.greetingTimeoutMs = 0;
  o.ioTimeoutMs = 0;
  // Small enough that a body the input can carry may go to a temp file, as big mail does.
  o.limits.maxInMemoryLiteral = 4096;
  o.limits.maxInMemoryTotal = 16384;
  o.limits.maxLineLength = 65536;
  Session s(std::move(client), o);
  Driver d(server, trace);

  d.step("greeting", s.readGreeting());
  if ((control & 2) != 0) {
    d.step("starttls", s.startTls(net::TlsOptions{}));
  }
  d.step("capability", s.capability());
  if ((control & 1) != 0) {
    d.step("oauth", s.loginOAuth("alice@fuzz.example", kToken));
  } else {
    d.step("login", s.login("alice@fuzz.example", kPassword, (control & 16) != 0 ? "admin*master" : ""));
  }
  if ((control & 4) != 0) {
    d.step("compress", s.enableCompression());
  }
  d.step("namespace", s.personalNamespace());
  Result<std::vector<ListEntry>> list = s.list();
  d.step("list", list);
  d.step("lsub", s.lsub());
  std::vector<std::string> names = {"INBOX", "Sent"};
  if (list.isOk()) {
    for (const ListEntry& e : list.value()) {
      if (names.size() < 8) {
        names.push_back(e.rawName);
      }
    }
  }
  d.step("status", s.statusMany(names, true));
  d.step("examine", s.examine("INBOX"));
  auto inRange = [](uint32_t first, uint32_t last) {
    return [first, last](const FetchedMessage& m) {
      FUZZ_CHECK(
          m.uid >= first && (last == 0 || m.uid <= last),
          "UID " + std::to_string(m.uid) + " outside " + std::to_string(first) + ":" + std::to_string(last));
      if (m.body != nullptr) {
        (void)m.body->size();
      }
      return Status::ok();
    };
  };
  d.step("fetch", s.uidFetch(2, 0, "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]", inRange(2, 0),
                             "(CHANGEDSINCE 1)"));
  d.step("fetchset", s.uidFetchSet("1:3,5", "UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
                                   [](const FetchedMessage&) { return Status::ok(); }));
  d.step("logout", s.logout());
  FUZZ_CHECK(s.bytesReceived() <= server.size() || (control & 4) != 0,
             "received " + std::to_string(s.bytesReceived()) + " bytes of " + std::to_string(server.size()));
  if (trace) {
    std::string sent;
    char buf[65536];
    while (serverEnd->available() > 0) {
      Result<size_t> n = serverEnd->readSome(buf, sizeof(buf));
      if (!n.isOk()) {
        break;
      }
      sent.append(buf, n.value());
    }
    std::fprintf(stderr, "client sent:\n%s\n", escaped(sent, 100000).c_str());
  }
  return 0;
}
