#include "options/filter_values.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include "common/strings.h"
#include "mail/special_use.h"

namespace migrate {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

Status configError(const std::string& message, const std::string& hint) {
  return Status(ErrorKind::Config, message, hint);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

Result<std::vector<std::string>> parseFolderPatterns(const std::string& value, const std::string& option) {
  std::vector<std::string> out;
  std::string cur;
  auto finish = [&]() -> Status {
    std::string p = trim(cur);
    cur.clear();
    if (p.empty()) {
      return configError(option + ": empty folder pattern in '" + value + "'",
                         "give folder names or patterns separated by commas, e.g. \"Trash,Junk,Archive/*\"");
    }
    for (unsigned char c : p) {
      if (c < 0x20 || c == 0x7f) {
        return configError(option + ": the folder pattern '" + p + "' holds a control character",
                           "give folder names as UTF-8 text");
      }
    }
    if (p[0] == '\\' && findSpecialUseName(p) == nullptr) {
      return configError(option + ": unknown special-use name '" + p + "'",
                         "use \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive, \\All, \\Flagged or \\Important");
    }
    out.push_back(p);
    return Status::ok();
  };
  for (size_t i = 0; i < value.size(); i++) {
    if (value[i] == '\\' && i + 1 < value.size() && value[i + 1] == ',') {
      cur += ',';
      i++;
    } else if (value[i] == ',') {
      MIGRATE_RETURN_IF_ERROR(finish());
    } else {
      cur += value[i];
    }
  }
  MIGRATE_RETURN_IF_ERROR(finish());
  return out;
}

Result<uint64_t> parseMessageSize(const std::string& value, const std::string& option) {
  const Status bad =
      configError(option + ": '" + value + "' is not a message size",
                  "give bytes, or a number with K, M or G (1024-based), e.g. 30M; 0 is no limit");
  size_t digits = value.find_first_not_of("0123456789");
  if (value.empty() || digits == 0 || (digits == std::string::npos ? value.size() : digits) > 15) {
    return bad;
  }
  uint64_t n = std::stoull(value.substr(0, digits));
  unsigned shift = 0;
  if (digits != std::string::npos) {
    std::string unit = lowerAscii(value.substr(digits));
    if (unit == "k" || unit == "kb" || unit == "kib") {
      shift = 10;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
      shift = 20;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
      shift = 30;
    } else {
      return bad;
    }
  }
  return n << shift;
}

Result<int64_t> parseFilterDate(const std::string& value, const std::string& option, int64_t now) {
  const Status bad = configError(option + ": '" + value + "' is not a date",
                                 "give YYYY-MM-DD (00:00 UTC of that day), or an age such as 90d, 12w or 2y");
  if (value.size() == 10 && value[4] == '-' && value[7] == '-') {
    std::string y = value.substr(0, 4);
    std::string m = value.substr(5, 2);
    std::string d = value.substr(8, 2);
    for (const std::string* part : {&y, &m, &d}) {
      if (part->find_first_not_of("0123456789") != std::string::npos) {
        return bad;
      }
    }
    int yi = std::stoi(y);
    unsigned mi = static_cast<unsigned>(std::stoi(m));
    unsigned di = static_cast<unsigned>(std::stoi(d));
    static const unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (yi % 4 == 0 && yi % 100 != 0) || yi % 400 == 0;
    if (yi < 1970 || mi < 1 || mi > 12 || di < 1 || di > kDays[mi - 1] || (mi == 2 && di == 29 && !leap)) {
      return bad;
    }
    return daysFromCivil(yi, mi, di) * 86400;
  }
  if (value.size() >= 2 && value.size() <= 7) {
    std::string num = value.substr(0, value.size() - 1);
    char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(value.back())));
    if (num.find_first_not_of("0123456789") == std::string::npos) {
      int64_t n = std::stoll(num);
      int64_t days = unit == 'd' ? n : unit == 'w' ? n * 7 : unit == 'y' ? n * 365 : -1;
      if (days >= 0) {
        int64_t today = now - (now % 86400);
        int64_t t = today - days * 86400;
        return t > 0 ? t : 1;
      }
    }
  }
  return bad;
}

std::string formatDate(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

}  // namespace migrate
