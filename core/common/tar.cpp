#include "common/tar.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace migrate::tar {
namespace {

constexpr size_t kBlock = 512;

// `value` in octal, NUL-terminated, right-aligned in a field of `size` bytes.
void octal(char* field, size_t size, uint64_t value) {
  field[size - 1] = '\0';
  for (size_t i = size - 1; i > 0; --i) {
    field[i - 1] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

void padToBlock(std::string& out) {
  out.append((kBlock - out.size() % kBlock) % kBlock, '\0');
}

// `s` into a fixed-size header field (tar's fields need no NUL when full).
void put(char* field, std::string_view s, size_t size) {
  std::copy_n(s.data(), std::min(s.size(), size), field);
}

// One 512-byte ustar header; `name` must fit its 100 bytes.
void header(std::string& out, const std::string& name, uint64_t size, unsigned mode, int64_t mtime,
            char type) {
  char h[kBlock] = {};
  put(h, name, 100);
  octal(h + 100, 8, mode & 07777);
  octal(h + 108, 8, 0);  // uid: root, as the batch directory's files are
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, static_cast<uint64_t>(mtime < 0 ? 0 : mtime));
  std::memset(h + 148, ' ', 8);  // the checksum counts its own field as spaces
  h[156] = type;
  put(h + 257, std::string_view("ustar\0", 6), 6);  // magic "ustar\0", version "00"
  put(h + 263, "00", 2);
  put(h + 265, "root", 32);
  put(h + 297, "root", 32);
  unsigned sum = 0;
  for (unsigned char c : h) {
    sum += c;
  }
  octal(h + 148, 7, sum);  // six digits and a NUL; the eighth byte stays a space
  out.append(h, kBlock);
}

// A pax record "<len> path=<name>\n", where <len> counts the whole record including itself.
std::string paxPath(const std::string& name) {
  const std::string body = " path=" + name + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) {
    ++len;
  }
  return std::to_string(len) + body;
}

}  // namespace

std::string archive(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    std::string name = e.name;
    if (name.size() > 100) {
      const std::string pax = paxPath(name);
      header(out, "PaxHeader/" + name.substr(name.size() - 80), pax.size(), 0600, e.mtime, 'x');
      out += pax;
      padToBlock(out);
      name = name.substr(name.size() - 100);  // what a reader without pax support extracts
    }
    header(out, name, e.data.size(), e.mode, e.mtime, '0');
    out += e.data;
    padToBlock(out);
  }
  out.append(2 * kBlock, '\0');
  return out;
}

}  // namespace migrate::tar
