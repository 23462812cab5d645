#pragma once
// A message on its way from the source to the destination: its metadata and its exact bytes
// (mail/message.h), as the engine hands it to the Sink.

#include <cstdint>
#include <string>

#include "mail/message.h"

namespace migrate {

struct IncomingMessage {
  uint32_t sourceUid = 0;
  std::string guid;  // deterministic GUID of this source message (see engine/guid.h)
  MessageFlags flags;
  int64_t internalDate = 0;  // unix time
  int tzOffsetMinutes = 0;   // the INTERNALDATE's zone, e.g. +120 for +0200
  uint32_t wantUid = 0;      // keep this UID in the destination if possible (0: any)
  // The old server's POP3 unique-id and message number for this message (INBOX; engine/pop3_match.h):
  // the destination's POP3 server answers UIDL with it. "" / 0: none.
  std::string pop3Uidl;
  uint32_t pop3Order = 0;
  const MessageBody* body = nullptr;
};

}  // namespace migrate
