#pragma once
#include <string>

namespace migrate {

std::string base64Encode(const std::string& in);
// Returns false on malformed input.
bool base64Decode(const std::string& in, std::string& out);

}  // namespace migrate
