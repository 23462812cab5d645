#pragma once
#include <string>

namespace migrate {

std::string base64Encode(const std::string& in);
// Returns false on malformed input.
bool base64Decode(const std::string& in, std::string& out);

// One base64 digit: its value 0..63, or -1. `digit63` is the last digit of the alphabet: '/' in
// base64, ',' in IMAP's modified UTF-7 (RFC 3501 5.1.3).
int base64DigitValue(char c, char digit63 = '/');
// The digit of value `v` (0..63).
char base64Digit(unsigned v, char digit63 = '/');

}  // namespace migrate
