#include "net/line_channel.h"

#include <utility>

namespace migrate::net {

namespace {

constexpr size_t kMaxLine = size_t{64} * 1024;

}  // namespace

LineChannel::LineChannel(std::unique_ptr<Transport> transport, std::string server, int ioTimeoutMs)
    : transport_(std::move(transport)), server_(std::move(server)) {
  transport_->setIoTimeoutMs(ioTimeoutMs);
}

LineChannel::~LineChannel() {
  close();
}

void LineChannel::close() {
  if (transport_) {
    transport_->close();
  }
}

Result<std::string> LineChannel::readLine() {
  char buf[16384];
  size_t nl = buffer_.find('\n');
  while (nl == std::string::npos) {
    if (buffer_.size() > kMaxLine) {
      return Status(ErrorKind::Protocol, server_ + " sent a line over 64 KiB");
    }
    MIGRATE_ASSIGN_OR_RETURN(size_t n, transport_->readSome(buf, sizeof(buf)));
    buffer_.append(buf, n);
    nl = buffer_.find('\n');
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

Result<std::string> LineChannel::readBytes(size_t n) {
  char buf[16384];
  while (buffer_.size() < n) {
    MIGRATE_ASSIGN_OR_RETURN(size_t got, transport_->readSome(buf, sizeof(buf)));
    buffer_.append(buf, got);
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

Status LineChannel::writeLine(const std::string& line, bool secret) {
  const std::string out = line + "\r\n";
  transport_->setRedact(secret);
  Status st = transport_->writeAll(out.data(), out.size());
  transport_->setRedact(false);
  return st;
}

Status LineChannel::write(const std::string& bytes) {
  return transport_->writeAll(bytes.data(), bytes.size());
}

Status LineChannel::startTls(const TlsOptions& tls) {
  if (!buffer_.empty()) {
    return Status(ErrorKind::Tls, server_ + " sent data before the TLS handshake",
                  "a plain-text injection attempt, or a broken server: not continuing");
  }
  return transport_->startTls(tls);
}

}  // namespace migrate::net
