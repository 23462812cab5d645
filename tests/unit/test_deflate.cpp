// COMPRESS=DEFLATE: the deflate transport against an independent zlib peer over the memory pipe
// (large streams, tiny writes, corrupt data), and the session's COMPRESS command.

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <thread>

#include "fakes/fake_imap_server.h"
#include "imap/session.h"
#include "net/deflate_transport.h"
#include "net/memory_transport.h"

namespace migrate::net {
namespace {

// The server's side of RFC 4978, written directly against zlib.
class ZlibPeer {
 public:
  ZlibPeer() {
    EXPECT_EQ(deflateInit2(&out_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    EXPECT_EQ(inflateInit2(&in_, -15), Z_OK);
  }
  ~ZlibPeer() {
    deflateEnd(&out_);
    inflateEnd(&in_);
  }
  ZlibPeer(const ZlibPeer&) = delete;
  ZlibPeer& operator=(const ZlibPeer&) = delete;

  std::string compress(const std::string& plain) {
    std::string out;
    out_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    out_.avail_in = static_cast<uInt>(plain.size());
    char buf[65536];
    do {
      out_.next_out = reinterpret_cast<Bytef*>(buf);
      out_.avail_out = sizeof(buf);
      EXPECT_NE(deflate(&out_, Z_SYNC_FLUSH), Z_STREAM_ERROR);
      out.append(buf, sizeof(buf) - out_.avail_out);
    } while (out_.avail_out == 0);
    return out;
  }
  std::string decompress(const std::string& packed) {
    std::string out;
    in_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    in_.avail_in = static_cast<uInt>(packed.size());
    char buf[65536];
    do {
      in_.next_out = reinterpret_cast<Bytef*>(buf);
      in_.avail_out = sizeof(buf);
      int rc = inflate(&in_, Z_SYNC_FLUSH);
      EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR) << rc;
      out.append(buf, sizeof(buf) - in_.avail_out);
    } while (in_.avail_out == 0);
    return out;
  }

 private:
  z_stream out_{};
  z_stream in_{};
};

std::string mailLikeBytes(size_t n) {
  std::mt19937 rng(42);
  const char* words[] = {"Received: ", "from ", "mail.example.org ", "by ",    "mx ",    "with ESMTPS ",
                         "id ",        "\r\n",  "Subject: ",         "hello ", "world ", "=?UTF-8?B?w6Q=?= "};
  std::string s;
  s.reserve(n + 32);
  while (s.size() < n) {
    s += words[rng() % 12];
    if (rng() % 7 == 0) {
      s += static_cast<char>(rng() & 0xff);  // some noise
    }
  }
  s.resize(n);
  return s;
}

std::string readExactly(Transport& t, size_t n) {
  std::string got;
  std::string buf(256 * 1024, '\0');
  while (got.size() < n) {
    Result<size_t> r = t.readSome(buf.data(), buf.size());
    EXPECT_TRUE(r.isOk()) << r.status().describe();
    if (!r.isOk()) {
      break;
    }
    got.append(buf.data(), r.value());
  }
  return got;
}

TEST(Deflate, TwentyMegabytesFromAZlibPeerArriveExact) {
  MemoryPipe pipe = makeMemoryPipe();
  MemoryTransport* server = pipe.server.get();
  auto d = DeflateTransport::create(std::move(pipe.client));
  ASSERT_TRUE(d.isOk());
  DeflateTransport& client = *d.value();

  const std::string payload = mailLikeBytes(size_t{20} << 20);
  ZlibPeer peer;
  std::thread sender([&] {
    // In uneven pieces, each sync-flushed, as a server writes its output buffer.
    size_t pos = 0;
    size_t piece = 1;
    while (pos < payload.size()) {
      size_t n = std::min(piece, payload.size() - pos);
      std::string packed = peer.compress(payload.substr(pos, n));
      EXPECT_TRUE(server->writeAll(packed.data(), packed.size()).isOk());
      pos += n;
      piece = piece * 3 + 7;
      if (piece > (size_t{3} << 20)) {
        piece = 1000;
      }
    }
  });
  std::string got = readExactly(client, payload.size());
  sender.join();
  ASSERT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  EXPECT_EQ(client.plainIn(), payload.size());
  EXPECT_LT(client.compressedIn(), payload.size() / 2);  // mail compresses well
}

TEST(Deflate, EveryTinyWriteIsFlushedAndDecodesAtOnce) {
  MemoryPipe pipe = makeMemoryPipe();
  MemoryTransport* server = pipe.server.get();
  auto d = DeflateTransport::create(std::move(pipe.client));
  ASSERT_TRUE(d.isOk());
  ZlibPeer peer;
  std::string all;
  for (int i = 0; i < 300; i++) {
    std::string cmd =
        i % 3 == 0 ? std::string(1, static_cast<char>('a' + i % 26)) : "A" + std::to_string(i) + " NOOP\r\n";
    all += cmd;
    ASSERT_TRUE(d.value()->writeAll(cmd.data(), cmd.size()).isOk());
    // The sync flush makes each write decodable on its own: nothing waits for more input.
    std::string packed(server->available(), '\0');
    ASSERT_GT(packed.size(), 0u);
    Result<size_t> n = server->readSome(packed.data(), packed.size());
    ASSERT_TRUE(n.isOk());
    packed.resize(n.value());
    EXPECT_EQ(peer.decompress(packed), cmd);
  }
  EXPECT_EQ(d.value()->plainOut(), all.size());
}

TEST(Deflate, LargeWriteRoundTripsThroughTwoDeflateTransports) {
  MemoryPipe pipe = makeMemoryPipe();
  auto a = DeflateTransport::create(std::move(pipe.client));
  auto b = DeflateTransport::create(std::move(pipe.server));
  ASSERT_TRUE(a.isOk() && b.isOk());
  const std::string payload = mailLikeBytes(size_t{3} << 20);
  ASSERT_TRUE(a.value()->writeAll(payload.data(), payload.size()).isOk());
  EXPECT_TRUE(readExactly(*b.value(), payload.size()) == payload);
  EXPECT_NE(a.value()->describe().find("COMPRESS=DEFLATE"), std::string::npos);
  EXPECT_FALSE(a.value()->startTls(TlsOptions()).isOk());
}

TEST(Deflate, CorruptStreamIsAProtocolError) {
  MemoryPipe pipe = makeMemoryPipe();
  const std::string junk = "\xff\xff\xff\xff garbage that is not deflate";
  ASSERT_TRUE(pipe.server->writeAll(junk.data(), junk.size()).isOk());
  auto d = DeflateTransport::create(std::move(pipe.client));
  ASSERT_TRUE(d.isOk());
  char buf[100];
  Result<size_t> r = d.value()->readSome(buf, sizeof(buf));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Protocol);
  EXPECT_NE(r.status().message().find("corrupt COMPRESS=DEFLATE data"), std::string::npos);
}

TEST(Deflate, PeerCloseIsClosed) {
  MemoryPipe pipe = makeMemoryPipe();
  pipe.server->close();
  auto d = DeflateTransport::create(std::move(pipe.client));
  ASSERT_TRUE(d.isOk());
  char buf[10];
  Result<size_t> r = d.value()->readSome(buf, sizeof(buf));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Closed);
}

}  // namespace
}  // namespace migrate::net

namespace migrate::imap {
namespace {

using testing::FakeImapServer;

const std::string kDeflateMark = std::string("\x01") + "DEFLATE";  // FakeImapServer: deflate now

std::unique_ptr<Session> session(FakeImapServer& server) {
  SessionOptions o;
  o.peerName = "imap.test:143";
  return std::make_unique<Session>(server.clientTransport(), o);
}

std::string withTag(std::string reply, const std::string& tag) {
  for (size_t p = reply.find("TAG"); p != std::string::npos; p = reply.find("TAG", p + tag.size())) {
    reply.replace(p, 3, tag);
  }
  return reply;
}

TEST(SessionCompress, CommandsAndRepliesAreDeflatedAfterTheOk) {
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE AUTH=PLAIN SASL-IR] hi\r\n",
                        [](const std::string& t, const std::string& c) {
                          if (c.rfind("AUTHENTICATE", 0) == 0) {
                            return withTag("TAG OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] in\r\n", t);
                          }
                          if (c == "COMPRESS DEFLATE") {
                            return withTag("TAG OK DEFLATE active\r\n" + kDeflateMark, t);
                          }
                          if (c.rfind("LSUB", 0) == 0) {
                            return withTag("* LSUB () \"/\" \"Caf&AOk-\"\r\nTAG OK done\r\n", t);
                          }
                          return withTag("TAG BAD unexpected\r\n", t);
                        });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  ASSERT_TRUE(sess->login("alice", "pw", "").isOk());
  Status st = sess->enableCompression();
  ASSERT_TRUE(st.isOk()) << st.describe();
  EXPECT_TRUE(sess->compressed());
  EXPECT_TRUE(sess->enableCompression().isOk());  // once only
  auto names = sess->lsub();
  ASSERT_TRUE(names.isOk()) << names.status().describe();
  ASSERT_EQ(names.value().size(), 1u);
  EXPECT_EQ(names.value()[0], "Caf&AOk-");
  auto cmds = server.commands();
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[1], "COMPRESS DEFLATE");
  EXPECT_EQ(cmds[2], "LSUB \"\" \"*\"");
}

TEST(SessionCompress, NotOfferedOrRefusedGoesOnUncompressed) {
  FakeImapServer server("* OK [CAPABILITY IMAP4rev1] hi\r\n",
                        [](const std::string& t, const std::string&) { return t + " BAD no\r\n"; });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  EXPECT_TRUE(sess->enableCompression().isOk());
  EXPECT_FALSE(sess->compressed());
  EXPECT_TRUE(server.commands().empty());

  FakeImapServer refusing(
      "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n",
      [](const std::string& t, const std::string&) { return t + " NO [COMPRESSIONACTIVE] already\r\n"; });
  auto s2 = session(refusing);
  ASSERT_TRUE(s2->readGreeting().isOk());
  EXPECT_TRUE(s2->enableCompression().isOk());
  EXPECT_FALSE(s2->compressed());
}

TEST(SessionCompress, DataAfterTheOkIsAProtocolError) {
  FakeImapServer server(
      "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n",
      [](const std::string& t, const std::string&) { return t + " OK go\r\n* 1 EXISTS\r\n"; });
  auto sess = session(server);
  ASSERT_TRUE(sess->readGreeting().isOk());
  Status st = sess->enableCompression();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.kind(), ErrorKind::Protocol);
  EXPECT_NE(st.message().find("after the COMPRESS OK"), std::string::npos);
}

}  // namespace
}  // namespace migrate::imap
