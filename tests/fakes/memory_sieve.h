#pragma once
// An in-memory Sieve storage (engine/sieve_store.h) for the unit tests. Its "compiler" refuses
// any script that contains the word "frobnicate", with a message shaped like Pigeonhole's.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/sieve_store.h"

namespace migrate::testing {

struct MemorySieve {
  std::map<std::string, std::string> scripts;
  std::string active;  // "" : none
  int saves = 0;
  int opens = 0;  // openSieveStorage() calls
  // openSieveStorage() fails with this (NotFound) when set: "Pigeonhole not installed".
  std::string unavailable;
};

class MemorySieveStorage final : public SieveStorage {
 public:
  explicit MemorySieveStorage(MemorySieve& data) : d_(data) {}
  Result<std::vector<sieve::ScriptEntry>> list() override;
  Result<std::optional<std::string>> get(const std::string& name) override;
  Status save(const std::string& name, const std::string& script) override;
  Result<SieveCompile> check(const std::string& name, bool activation) override;
  Status activate(const std::string& name) override;
  bool nameIsValid(const std::string& name) const override;

 private:
  MemorySieve& d_;
};

}  // namespace migrate::testing
