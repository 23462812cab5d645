#pragma once
// COMPRESS=DEFLATE (RFC 4978): raw deflate (no zlib header) in both directions over another
// transport. Every writeAll() ends with a Z_SYNC_FLUSH so that the server sees each command
// at once; readSome() returns decompressed bytes. Buffers are large (256 KiB) because a
// migration reads gigabytes through this and writes little.
//
// Ownership: owns the inner transport. Threads: as Transport (one thread).
// Errors: those of the inner transport; Protocol when the peer's stream is corrupt or ends
// (RFC 4978 has no end of stream); Tls for startTls() (TLS must come before COMPRESS);
// Internal when zlib cannot allocate its state.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/transport.h"

namespace migrate::net {

class DeflateTransport final : public Transport {
 public:
  // level: zlib's compression level for what we send (commands are small: the default is fine).
  static Result<std::unique_ptr<DeflateTransport>> create(std::unique_ptr<Transport> inner, int level = -1);
  ~DeflateTransport() override;
  DeflateTransport(const DeflateTransport&) = delete;
  DeflateTransport& operator=(const DeflateTransport&) = delete;

  Status writeAll(const void* data, size_t len) override;
  Result<size_t> readSome(void* buf, size_t cap) override;
  Status startTls(const TlsOptions& tls) override;
  bool isTls() const override;
  // The inner transport's description + ", COMPRESS=DEFLATE".
  std::string describe() const override;
  void close() override;
  void setIoTimeoutMs(int ms) override;
  void setRedact(bool on) override;

  // Byte counts on each side of the compression, for progress and the bench.
  uint64_t compressedIn() const { return compressedIn_; }
  uint64_t plainIn() const { return plainIn_; }
  uint64_t compressedOut() const { return compressedOut_; }
  uint64_t plainOut() const { return plainOut_; }

 private:
  struct Streams;  // zlib's z_stream pair (kept out of this header)
  DeflateTransport(std::unique_ptr<Transport> inner, std::unique_ptr<Streams> streams);

  std::unique_ptr<Transport> inner_;
  std::unique_ptr<Streams> z_;
  std::vector<unsigned char> inBuf_;   // compressed bytes read from inner_, not yet inflated
  std::vector<unsigned char> outBuf_;  // deflate output on its way to inner_
  uint64_t compressedIn_ = 0;
  uint64_t plainIn_ = 0;
  uint64_t compressedOut_ = 0;
  uint64_t plainOut_ = 0;
};

}  // namespace migrate::net
