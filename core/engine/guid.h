#pragma once
// Deterministic message GUIDs: every source message (login, folder, UIDVALIDITY, UID) maps to one
// 128-bit GUID that is saved with the message (mailbox_save_set_guid). A run killed between the
// local commit and the state write finds the message by its GUID on the next run and does not
// save it again. The host is deliberately not part of it: the same server reached under another
// name (its IP address after the DNS switch) must not look like a new source. The login is
// compared case-insensitively. See docs/admin-guide.md "How exactly-once works".

#include <cstdint>
#include <string>
#include <string_view>

namespace migrate {

// The first `bytes` (at most 32) bytes of SHA-256(input), in lower-case hex.
std::string sha256Hex(std::string_view input, size_t bytes = 32);

// 32 lower-case hex characters.
std::string sourceMessageGuid(const std::string& user, const std::string& rawFolder, uint32_t uidValidity,
                              uint32_t uid);

// 16 hex characters identifying a source account (host, login), for state file names.
std::string accountKey(const std::string& host, const std::string& user);

}  // namespace migrate
