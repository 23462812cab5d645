#include "net/memory_transport.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <utility>

#include "net/net_util.h"

namespace migrate::net {

namespace {

// Bytes flowing from one end to the other.
struct Direction {
  std::string buf;
  size_t readPos = 0;
  bool writerClosed = false;  // the writing end closed: the reader drains, then Closed
  bool reset = false;         // the writing end dropped: the reader gets Closed at once
  bool readerClosed = false;  // the reading end is gone: writes fail
  size_t available() const { return buf.size() - readPos; }
};

struct End {
  bool closed = false;
  bool tls = false;
  int ioTimeoutMs = 5000;
  Status failRead;
  Status failStartTls;
  int startTlsCount = 0;
  TlsOptions tlsOptions;
  uint64_t written = 0;
  uint64_t read = 0;
};

const char* sideName(int side) {
  return side == 0 ? "client" : "server";
}

}  // namespace

struct MemoryTransport::Shared {
  mutable std::mutex mutex;
  std::condition_variable cv;
  Direction dir[2];  // dir[s]: written by side s, read by side 1 - s
  End ends[2];
};

MemoryTransport::MemoryTransport(std::shared_ptr<Shared> shared, int side)
    : shared_(std::move(shared)), side_(side) {}

MemoryTransport::~MemoryTransport() {
  close();
}

namespace {

Status ownEndClosed() {
  return Status(ErrorKind::Closed, "the connection is already closed");
}

Status peerClosedStatus(int readerSide, bool reset) {
  std::string msg = std::string("the ") + sideName(1 - readerSide) + " closed the connection";
  if (reset) {
    msg += " (connection reset)";
  }
  return Status(ErrorKind::Closed, msg);
}

}  // namespace

Status MemoryTransport::writeAll(const void* data, size_t len) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  End& me = shared_->ends[side_];
  Direction& out = shared_->dir[side_];
  if (me.closed) {
    return ownEndClosed();
  }
  if (out.readerClosed) {
    return peerClosedStatus(side_, false);
  }
  out.buf.append(static_cast<const char*>(data), len);
  me.written += len;
  shared_->cv.notify_all();
  return Status::ok();
}

Result<size_t> MemoryTransport::readSome(void* buf, size_t cap) {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  End& me = shared_->ends[side_];
  Direction& in = shared_->dir[1 - side_];
  auto ready = [&] {
    return me.closed || !me.failRead.isOk() || in.reset || in.available() > 0 || in.writerClosed;
  };
  if (me.ioTimeoutMs < 0) {
    shared_->cv.wait(lock, ready);
  } else if (!shared_->cv.wait_until(
                 lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(me.ioTimeoutMs), ready)) {
    return Status(ErrorKind::Timeout,
                  std::string("no data from memory:") + sideName(1 - side_) + " for " +
                      detail::formatDurationMs(me.ioTimeoutMs),
                  "the scripted peer sent nothing");
  }
  if (me.closed) {
    return ownEndClosed();
  }
  if (!me.failRead.isOk()) {
    Status s = std::move(me.failRead);
    me.failRead = Status::ok();
    return s;
  }
  if (in.reset) {
    return peerClosedStatus(side_, true);
  }
  if (in.available() == 0) {
    return peerClosedStatus(side_, false);  // writerClosed and drained
  }
  if (cap == 0) {
    return size_t{0};
  }
  const size_t n = std::min(cap, in.available());
  std::memcpy(buf, in.buf.data() + in.readPos, n);
  in.readPos += n;
  if (in.readPos == in.buf.size()) {
    in.buf.clear();
    in.readPos = 0;
  } else if (in.readPos > (1u << 16) && in.readPos * 2 > in.buf.size()) {
    in.buf.erase(0, in.readPos);
    in.readPos = 0;
  }
  me.read += n;
  return n;
}

Status MemoryTransport::startTls(const TlsOptions& tls) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  End& me = shared_->ends[side_];
  if (me.closed) {
    return ownEndClosed();
  }
  if (!me.failStartTls.isOk()) {
    Status s = std::move(me.failStartTls);
    me.failStartTls = Status::ok();
    // As TcpTransport: a failed handshake leaves nothing usable.
    me.closed = true;
    shared_->dir[side_].writerClosed = true;
    shared_->dir[1 - side_].readerClosed = true;
    shared_->cv.notify_all();
    return s;
  }
  if (me.tls) {
    return Status(ErrorKind::Internal,
                  "STARTTLS on memory:" + std::string(sideName(1 - side_)) + ", which already uses TLS");
  }
  me.tls = true;
  me.tlsOptions = tls;
  ++me.startTlsCount;
  return Status::ok();
}

bool MemoryTransport::isTls() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->ends[side_].tls;
}

std::string MemoryTransport::describe() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  std::string out = std::string("memory:") + sideName(1 - side_);
  if (shared_->ends[side_].tls) {
    out += ", TLS (simulated)";
  }
  return out;
}

void MemoryTransport::close() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  End& me = shared_->ends[side_];
  if (me.closed) {
    return;
  }
  me.closed = true;
  shared_->dir[side_].writerClosed = true;
  shared_->dir[1 - side_].readerClosed = true;
  shared_->cv.notify_all();
}

void MemoryTransport::drop() {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  End& me = shared_->ends[side_];
  me.closed = true;
  Direction& out = shared_->dir[side_];
  out.reset = true;
  out.writerClosed = true;
  out.buf.clear();
  out.readPos = 0;
  shared_->dir[1 - side_].readerClosed = true;
  shared_->cv.notify_all();
}

void MemoryTransport::failNextRead(Status status) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->ends[side_].failRead = std::move(status);
  shared_->cv.notify_all();
}

void MemoryTransport::failNextStartTls(Status status) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->ends[side_].failStartTls = std::move(status);
}

void MemoryTransport::setIoTimeoutMs(int ms) {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->ends[side_].ioTimeoutMs = ms;
}

int MemoryTransport::startTlsCount() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->ends[side_].startTlsCount;
}

TlsOptions MemoryTransport::lastTlsOptions() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->ends[side_].tlsOptions;
}

uint64_t MemoryTransport::bytesWritten() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->ends[side_].written;
}

uint64_t MemoryTransport::bytesRead() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->ends[side_].read;
}

size_t MemoryTransport::available() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->dir[1 - side_].available();
}

bool MemoryTransport::peerClosed() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  const Direction& in = shared_->dir[1 - side_];
  return in.writerClosed || in.reset;
}

MemoryPipe makeMemoryPipe(int ioTimeoutMs) {
  auto shared = std::make_shared<MemoryTransport::Shared>();
  shared->ends[0].ioTimeoutMs = ioTimeoutMs;
  shared->ends[1].ioTimeoutMs = ioTimeoutMs;
  MemoryPipe pipe;
  pipe.client = std::make_unique<MemoryTransport>(shared, 0);
  pipe.server = std::make_unique<MemoryTransport>(std::move(shared), 1);
  return pipe;
}

}  // namespace migrate::net
