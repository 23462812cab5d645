#pragma once
// Small string helpers shared by every layer.

#include <cstdint>
#include <string>
#include <string_view>

namespace migrate {

// `s` with A-Z lowered; every other byte (UTF-8 included) unchanged. Locale-independent.
std::string lowerAscii(std::string_view s);
// `s` with a-z raised; every other byte unchanged.
std::string upperAscii(std::string_view s);

// `s` fit for a one-line message: control bytes as '?', cut after `maxChars` with "...".
std::string printableText(std::string_view s, size_t maxChars = 200);

// Overwrites the bytes of a secret (a password) before the string is released, then clears it
// (best effort: volatile writes, which the optimizer must not drop).
void wipeSecret(std::string& secret);

// Appends code point `cp` (at most U+10FFFF) as UTF-8.
void appendUtf8(std::string& out, uint32_t cp);

// "2026-12-06T20:31:25Z" (UTC) for a unix time; "" for 0 or less (not set).
std::string isoTime(int64_t unixTime);

}  // namespace migrate
