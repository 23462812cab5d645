#pragma once
// A message's flags and its exact bytes, as the IMAP layer reads them and the engine passes them
// on (core/mail/ knows neither). Bodies up to MessageBody::kMemoryLimit stay in memory; larger
// ones go to an unlinked temp file, so memory stays bounded whatever the message size.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

// IMAP system flags we carry (\Recent is session state and never carried).
enum SystemFlag : uint8_t {
  kFlagSeen = 1,
  kFlagAnswered = 2,
  kFlagFlagged = 4,
  kFlagDeleted = 8,
  kFlagDraft = 16,
};

struct MessageFlags {
  uint8_t system = 0;                 // SystemFlag bits
  std::vector<std::string> keywords;  // sorted, unique, as the source spelled them
  bool operator==(const MessageFlags& o) const { return system == o.system && keywords == o.keywords; }
  bool operator!=(const MessageFlags& o) const { return !(*this == o); }
};

// Parses IMAP flag atoms ("\Seen", "$Forwarded", "\Recent" ignored, unknown "\X" ignored) into
// MessageFlags; keywords sorted and deduplicated.
MessageFlags parseFlags(const std::vector<std::string>& atoms);
// "\Seen \Flagged kw" for logs and tests.
std::string formatFlags(const MessageFlags& flags);

class MessageBody {
 public:
  static constexpr uint64_t kMemoryLimit = 4u << 20;

  // `tempDir`: where large bodies are spooled (an unlinked file; O_TMPFILE when available).
  explicit MessageBody(std::string tempDir = "/tmp");
  ~MessageBody();
  MessageBody(const MessageBody&) = delete;
  MessageBody& operator=(const MessageBody&) = delete;

  // Starts a new body of `expectedSize` bytes (from the literal), dropping the previous one.
  Status reset(uint64_t expectedSize);
  Status append(const char* data, size_t len);
  uint64_t size() const { return size_; }
  // The bytes appended since reset() hold a 0x80 byte (Dovecot's BODY[] stand-in for a NUL: see
  // engine/nul_bytes.h).
  bool has0x80() const { return has0x80_; }

  // Exactly one of these describes the bytes: inMemory() with data(), or fd() >= 0 (a file of
  // size() bytes, read it with pread from offset 0; the fd stays owned by MessageBody).
  bool inMemory() const { return fd_ < 0; }
  const std::string& data() const { return mem_; }
  int fd() const { return fd_; }

  // Reads the whole body into a string (tests, hashing small bodies).
  Result<std::string> readAll() const;

 private:
  std::string tempDir_;
  std::string mem_;
  int fd_ = -1;
  uint64_t size_ = 0;
  bool has0x80_ = false;
};

}  // namespace migrate
