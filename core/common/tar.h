#pragma once
// A POSIX tar (ustar, with a pax header for a name longer than ustar holds) of files held in
// memory: what `doveadm migrate batch log` hands over the doveadm HTTP API (base64, as doveadm's
// printers are text). Regular files only; readable by GNU tar, bsdtar and Python's tarfile.
// Dovecot-free.

#include <cstdint>
#include <string>
#include <vector>

namespace migrate::tar {

struct Entry {
  std::string name;  // relative path inside the archive ("report/alice.log"), '/' separated
  std::string data;
  unsigned mode = 0600;
  int64_t mtime = 0;  // Unix time
};

// The archive: each entry's header and data in 512-byte blocks, then two zero blocks.
std::string archive(const std::vector<Entry>& entries);

}  // namespace migrate::tar
