#include "net/deflate_transport.h"

#include <zlib.h>

#include <climits>

namespace migrate::net {

namespace {

constexpr size_t kBufSize = size_t{256} * 1024;
constexpr int kRawDeflateWindowBits = -15;  // RFC 4978: raw deflate, 32 KiB window

}  // namespace

struct DeflateTransport::Streams {
  z_stream in{};
  z_stream out{};
  bool inReady = false;
  bool outReady = false;
  ~Streams() {
    if (inReady) {
      inflateEnd(&in);
    }
    if (outReady) {
      deflateEnd(&out);
    }
  }
};

Result<std::unique_ptr<DeflateTransport>> DeflateTransport::create(std::unique_ptr<Transport> inner,
                                                                   int level) {
  auto z = std::make_unique<Streams>();
  if (inflateInit2(&z->in, kRawDeflateWindowBits) != Z_OK) {
    return Status(ErrorKind::Internal, "zlib: cannot initialize decompression (out of memory?)");
  }
  z->inReady = true;
  if (deflateInit2(&z->out, level, Z_DEFLATED, kRawDeflateWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status(ErrorKind::Internal, "zlib: cannot initialize compression (out of memory?)");
  }
  z->outReady = true;
  return std::unique_ptr<DeflateTransport>(new DeflateTransport(std::move(inner), std::move(z)));
}

DeflateTransport::DeflateTransport(std::unique_ptr<Transport> inner, std::unique_ptr<Streams> streams)
    : inner_(std::move(inner)), z_(std::move(streams)), inBuf_(kBufSize), outBuf_(kBufSize) {}

DeflateTransport::~DeflateTransport() = default;

Status DeflateTransport::writeAll(const void* data, size_t len) {
  z_stream& s = z_->out;
  const auto* p = static_cast<const unsigned char*>(data);
  plainOut_ += len;
  // Feed at most UINT_MAX at a time (avail_in is 32 bits); flush after the last piece.
  do {
    const size_t piece = len > UINT_MAX ? UINT_MAX : len;
    const bool last = piece == len;
    s.next_in = const_cast<unsigned char*>(p);  // NOLINT(cppcoreguidelines-pro-type-const-cast): zlib API
    s.avail_in = static_cast<uInt>(piece);
    do {
      s.next_out = outBuf_.data();
      s.avail_out = static_cast<uInt>(outBuf_.size());
      int rc = deflate(&s, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Status(ErrorKind::Internal, "zlib: compression failed (" + std::to_string(rc) + ")");
      }
      const size_t have = outBuf_.size() - s.avail_out;
      if (have > 0) {
        MIGRATE_RETURN_IF_ERROR(inner_->writeAll(outBuf_.data(), have));
        compressedOut_ += have;
      }
    } while (s.avail_out == 0 || s.avail_in > 0);
    p += piece;
    len -= piece;
  } while (len > 0);
  return Status::ok();
}

Result<size_t> DeflateTransport::readSome(void* buf, size_t cap) {
  z_stream& s = z_->in;
  if (cap > UINT_MAX) {
    cap = UINT_MAX;
  }
  while (true) {
    if (s.avail_in == 0) {
      MIGRATE_ASSIGN_OR_RETURN(size_t n, inner_->readSome(inBuf_.data(), inBuf_.size()));
      compressedIn_ += n;
      s.next_in = inBuf_.data();
      s.avail_in = static_cast<uInt>(n);
    }
    s.next_out = static_cast<unsigned char*>(buf);
    s.avail_out = static_cast<uInt>(cap);
    const int rc = inflate(&s, Z_SYNC_FLUSH);
    const size_t produced = cap - s.avail_out;
    plainIn_ += produced;
    if (rc == Z_STREAM_END) {
      if (produced > 0) {
        return produced;
      }
      return Status(ErrorKind::Protocol, inner_->describe() + " ended its COMPRESS=DEFLATE stream",
                    "RFC 4978 streams do not end; the server or a proxy in between is broken: "
                    "try --no-compress");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status(ErrorKind::Protocol,
                    "corrupt COMPRESS=DEFLATE data from " + inner_->describe() + ": " +
                        (s.msg != nullptr ? s.msg : ("zlib error " + std::to_string(rc))),
                    "a proxy in between may alter the stream; try --no-compress");
    }
    if (produced > 0) {
      return produced;
    }
    // No output: inflate consumed all input (e.g. a bare sync-flush marker); read more.
  }
}

Status DeflateTransport::startTls(const TlsOptions& /*tls*/) {
  return Status(ErrorKind::Tls, "cannot start TLS inside COMPRESS=DEFLATE on " + inner_->describe(),
                "TLS must be negotiated before compression");
}

bool DeflateTransport::isTls() const {
  return inner_->isTls();
}

std::string DeflateTransport::describe() const {
  return inner_->describe() + ", COMPRESS=DEFLATE";
}

void DeflateTransport::close() {
  inner_->close();
}

void DeflateTransport::setIoTimeoutMs(int ms) {
  inner_->setIoTimeoutMs(ms);
}

void DeflateTransport::setRedact(bool on) {
  inner_->setRedact(on);
}

}  // namespace migrate::net
