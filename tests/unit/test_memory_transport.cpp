// The in-memory transport pair used by the session tests and the scripted fake server.

#include "net/memory_transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace migrate::net {
namespace {

std::string readExactly(Transport& t, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    Result<size_t> r = t.readSome(buf, std::min(sizeof(buf), n - out.size()));
    if (!r.isOk()) {
      break;
    }
    out.append(buf, r.value());
  }
  return out;
}

Status write(Transport& t, const std::string& s) {
  return t.writeAll(s.data(), s.size());
}

TEST(MemoryTransport, BytesArriveInOrderBothWays) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "* OK ready\r\n").isOk());
  ASSERT_TRUE(write(*pipe.server, "* CAPABILITY IMAP4rev1\r\n").isOk());
  EXPECT_EQ(pipe.client->available(), 36u);
  EXPECT_EQ(readExactly(*pipe.client, 36), "* OK ready\r\n* CAPABILITY IMAP4rev1\r\n");
  ASSERT_TRUE(write(*pipe.client, "a1 LOGOUT\r\n").isOk());
  EXPECT_EQ(readExactly(*pipe.server, 11), "a1 LOGOUT\r\n");
  EXPECT_EQ(pipe.client->bytesRead(), 36u);
  EXPECT_EQ(pipe.server->bytesWritten(), 36u);
  EXPECT_EQ(pipe.client->bytesWritten(), 11u);
}

TEST(MemoryTransport, ReadReturnsAtMostCapAndKeepsTheRest) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "abcdef").isOk());
  char buf[4];
  Result<size_t> r = pipe.client->readSome(buf, sizeof(buf));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(std::string(buf, r.value()), "abcd");
  r = pipe.client->readSome(buf, sizeof(buf));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(std::string(buf, r.value()), "ef");
}

TEST(MemoryTransport, ConcurrentWriterAndReaderKeepOrder) {
  MemoryPipe pipe = makeMemoryPipe();
  std::string expected;
  for (int i = 0; i < 20000; ++i) {
    expected += std::to_string(i) + ",";
  }
  std::thread writer([&] {
    // Uneven chunks so that reads straddle writes.
    for (size_t off = 0, step = 1; off < expected.size(); off += step, step = step % 997 + 13) {
      ASSERT_TRUE(pipe.server->writeAll(expected.data() + off, std::min(step, expected.size() - off)).isOk());
    }
    pipe.server->close();
  });
  std::string got;
  char buf[1000];
  Status end;
  for (;;) {
    Result<size_t> r = pipe.client->readSome(buf, sizeof(buf));
    if (!r.isOk()) {
      end = r.status();
      break;
    }
    got.append(buf, r.value());
  }
  writer.join();
  EXPECT_TRUE(got == expected);
  EXPECT_EQ(end.kind(), ErrorKind::Closed);
}

TEST(MemoryTransport, CloseLetsThePeerDrainThenClosed) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "* BYE\r\n").isOk());
  pipe.server->close();
  EXPECT_TRUE(pipe.client->peerClosed());
  EXPECT_EQ(readExactly(*pipe.client, 7), "* BYE\r\n");
  char c = 0;
  Result<size_t> r = pipe.client->readSome(&c, 1);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Closed);
  EXPECT_EQ(r.status().message(), "the server closed the connection");
  // Writing to a closed peer fails like EPIPE would.
  Status w = write(*pipe.client, "a2 NOOP\r\n");
  EXPECT_EQ(w.kind(), ErrorKind::Closed);
  // The closed end itself is unusable.
  EXPECT_EQ(write(*pipe.server, "x").kind(), ErrorKind::Closed);
  EXPECT_EQ(pipe.server->readSome(&c, 1).status().kind(), ErrorKind::Closed);
}

TEST(MemoryTransport, ClientCloseSeenByServer) {
  MemoryPipe pipe = makeMemoryPipe();
  pipe.client.reset();  // the destructor closes
  char c = 0;
  Result<size_t> r = pipe.server->readSome(&c, 1);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "the client closed the connection");
}

TEST(MemoryTransport, DropDiscardsUnreadBytes) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "* 1 FETCH (BODY[] {100}\r\npartial").isOk());
  pipe.server->drop();
  char buf[64];
  Result<size_t> r = pipe.client->readSome(buf, sizeof(buf));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Closed);
  EXPECT_EQ(r.status().message(), "the server closed the connection (connection reset)");
}

TEST(MemoryTransport, DropMidLiteralAfterPartialRead) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "* 1 FETCH (BODY[] {100}\r\npartial").isOk());
  EXPECT_EQ(readExactly(*pipe.client, 32), "* 1 FETCH (BODY[] {100}\r\npartial");
  pipe.server->close();
  char c = 0;
  EXPECT_EQ(pipe.client->readSome(&c, 1).status().kind(), ErrorKind::Closed);
}

TEST(MemoryTransport, ReadTimesOut) {
  MemoryPipe pipe = makeMemoryPipe(100);
  char c = 0;
  const auto start = std::chrono::steady_clock::now();
  Result<size_t> r = pipe.client->readSome(&c, 1);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Timeout);
  EXPECT_EQ(r.status().message(), "no data from memory:server for 100 ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(95));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  // Data written later is still delivered.
  ASSERT_TRUE(write(*pipe.server, "x").isOk());
  EXPECT_EQ(readExactly(*pipe.client, 1), "x");
}

TEST(MemoryTransport, BlockedReaderWakesOnDataAndOnClose) {
  MemoryPipe pipe = makeMemoryPipe(-1);  // no timeout: only data or close can end the wait
  std::thread server([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(write(*pipe.server, "hello").isOk());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pipe.server->close();
  });
  EXPECT_EQ(readExactly(*pipe.client, 5), "hello");
  char c = 0;
  EXPECT_EQ(pipe.client->readSome(&c, 1).status().kind(), ErrorKind::Closed);
  server.join();
}

TEST(MemoryTransport, OwnCloseFromAnotherThreadUnblocksReader) {
  MemoryPipe pipe = makeMemoryPipe(-1);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pipe.client->close();
  });
  char c = 0;
  Result<size_t> r = pipe.client->readSome(&c, 1);
  closer.join();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Closed);
}

TEST(MemoryTransport, InjectedReadError) {
  MemoryPipe pipe = makeMemoryPipe();
  ASSERT_TRUE(write(*pipe.server, "data").isOk());
  pipe.client->failNextRead(Status(ErrorKind::Timeout, "no data from imap.example.org:993 for 300 s"));
  char buf[8];
  Result<size_t> r = pipe.client->readSome(buf, sizeof(buf));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Timeout);
  r = pipe.client->readSome(buf, sizeof(buf));  // one-shot
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(std::string(buf, r.value()), "data");
}

TEST(MemoryTransport, StartTlsIsSimulated) {
  MemoryPipe pipe = makeMemoryPipe();
  EXPECT_FALSE(pipe.client->isTls());
  EXPECT_EQ(pipe.client->describe(), "memory:server");
  TlsOptions tls;
  tls.serverName = "imap.old.example";
  ASSERT_TRUE(pipe.client->startTls(tls).isOk());
  EXPECT_TRUE(pipe.client->isTls());
  EXPECT_FALSE(pipe.server->isTls());  // each end upgrades itself
  EXPECT_EQ(pipe.client->describe(), "memory:server, TLS (simulated)");
  EXPECT_EQ(pipe.client->startTlsCount(), 1);
  EXPECT_EQ(pipe.client->lastTlsOptions().serverName, "imap.old.example");
  EXPECT_EQ(pipe.client->startTls(tls).kind(), ErrorKind::Internal);  // already TLS
  // Bytes still flow unchanged.
  ASSERT_TRUE(write(*pipe.client, "a2 CAPABILITY\r\n").isOk());
  EXPECT_EQ(readExactly(*pipe.server, 15), "a2 CAPABILITY\r\n");
}

TEST(MemoryTransport, InjectedStartTlsFailureClosesTheEnd) {
  MemoryPipe pipe = makeMemoryPipe();
  pipe.client->failNextStartTls(Status(ErrorKind::Tls,
                                       "TLS certificate verification failed for x:993: "
                                       "self-signed certificate"));
  Status s = pipe.client->startTls(TlsOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.kind(), ErrorKind::Tls);
  EXPECT_FALSE(pipe.client->isTls());
  EXPECT_EQ(write(*pipe.client, "x").kind(), ErrorKind::Closed);
  char c = 0;
  EXPECT_EQ(pipe.server->readSome(&c, 1).status().message(), "the client closed the connection");
}

TEST(MemoryTransport, UsableAsTransportPointer) {
  MemoryPipe pipe = makeMemoryPipe();
  std::unique_ptr<Transport> client = std::move(pipe.client);
  ASSERT_TRUE(write(*pipe.server, "ok").isOk());
  EXPECT_EQ(readExactly(*client, 2), "ok");
}

}  // namespace
}  // namespace migrate::net
