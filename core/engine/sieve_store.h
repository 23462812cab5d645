#pragma once
// The destination's Sieve storage as the engine sees it (Sink::openSieveStorage()): the user's
// personal scripts, as Pigeonhole keeps them (dovecot_adapter/sieve_storage.cpp) or in memory
// for the unit tests (tests/fakes/memory_sink.*). Same thread as the Sink.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sieve/managesieve.h"

namespace migrate {

// What the destination's Sieve compiler says of a stored script.
struct SieveCompile {
  bool ok = false;
  std::string messages;  // the compiler's messages when it does not compile, one a line
};

class SieveStorage {
 public:
  virtual ~SieveStorage() = default;
  // The scripts here, and which one is active.
  virtual Result<std::vector<sieve::ScriptEntry>> list() = 0;
  // A script's bytes; nullopt when there is none of that name.
  virtual Result<std::optional<std::string>> get(const std::string& name) = 0;
  // Stores (or replaces) a script without compiling it, so that one that does not compile here
  // is kept too; never changes which script is active.
  virtual Status save(const std::string& name, const std::string& script) = 0;
  // Compiles a stored script as delivery (activation: as an activation) would.
  virtual Result<SieveCompile> check(const std::string& name, bool activation) = 0;
  virtual Status activate(const std::string& name) = 0;
  // Whether `name` can name a script here (Pigeonhole: 1..256 characters, no '/', no controls).
  virtual bool nameIsValid(const std::string& name) const = 0;
};

}  // namespace migrate
