#pragma once
// The values of the message and folder filters (--include/--exclude, --max-size, --since,
// --before and their settings and preset keys): one parser each, whose errors name the option.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

// "Trash,Junk,Archive/2019*" -> patterns. Commas separate patterns ("\," is a literal comma);
// blanks around each pattern are trimmed.
// An empty list or empty pattern, an unknown special-use name, or a pattern with control
// characters is a Config error naming `option`.
Result<std::vector<std::string>> parseFolderPatterns(const std::string& value, const std::string& option);

// "30M", "512K", "1G" (1024-based), "1500000" bytes; "0" means no limit. Config error naming
// `option` otherwise.
Result<uint64_t> parseMessageSize(const std::string& value, const std::string& option);

// "2024-01-31" (00:00 UTC of that day) or "90d" / "12w" / "2y" (days, weeks, years of 365 days
// before `now`, at 00:00 UTC). Config error naming `option` otherwise.
Result<int64_t> parseFilterDate(const std::string& value, const std::string& option, int64_t now);

// "YYYY-MM-DD" of a unix time (UTC), for messages.
std::string formatDate(int64_t t);

}  // namespace migrate
