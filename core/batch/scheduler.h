#pragma once
// Which mailbox of `doveadm migrate batch` / `migrate check` may start next: --jobs, and the
// per-host cap (--max-connections or the preset's), counted per server, not per spelling of its
// name. Each mailbox runs as a child process (child_run.h).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/preset.h"

namespace migrate::batch {

// Decides which job may start. Jobs start in their order; a job whose source host already has
// `maxPerHost` running children waits, and so does a job whose local user is already running
// (two source accounts merged into one mailbox run one after the other: a second run on the same
// mailbox would only find it busy). Later jobs may start before a waiting one.
// Hosts compare case-insensitively; "" (the host comes from settings) counts as one host. The
// caller passes connectionKeys() so that two spellings of one server count as one host.
struct JobKey {
  std::string host;
  std::string user;
};

class Scheduler {
 public:
  // maxJobs 0 is taken as 1; maxPerHost 0: no per-host cap.
  Scheduler(const std::vector<JobKey>& jobs, unsigned maxJobs, unsigned maxPerHost);

  // The next job that may start now (marked running), or nullopt.
  std::optional<size_t> next();
  void finished(size_t job);
  // Start nothing more (SIGINT/SIGTERM): next() returns nullopt from now on.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  size_t running() const { return running_; }
  bool started(size_t job) const { return state_.at(job) != State::Waiting; }
  // Every job has finished, or (after stop()) every started one has.
  bool done() const;

 private:
  enum class State { Waiting, Running, Finished };
  std::vector<std::string> hosts_;
  std::vector<std::string> users_;
  std::vector<State> state_;
  std::map<std::string, unsigned> perHost_;
  std::map<std::string, unsigned> perUser_;
  unsigned maxJobs_;
  unsigned maxPerHost_;
  size_t running_ = 0;
  size_t finished_ = 0;
  bool stopped_ = false;
};

// The host key the Scheduler uses: lower case, brackets of an IPv6 literal removed.
std::string hostKey(const std::string& host);

// The numeric addresses a host name (or address literal) resolves to; empty when it does not.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

// The per-host cap counts servers, not spellings: hosts that share an address (a name and its IP
// address, two names of one server, a round-robin name and one of its addresses) get the same
// key, the hostKey() of the first of them in `hosts`. A host that does not resolve keeps its own
// hostKey(); "" stays "". Returns one key per entry of `hosts`, in order; each distinct host is
// resolved once.
std::vector<std::string> connectionKeys(const std::vector<std::string>& hosts, const Resolver& resolve);

// getaddrinfo(): every address of `host` (IPv4 and IPv6), numeric, without duplicates.
std::vector<std::string> resolveAddresses(const std::string& host);

// Mailboxes the batch runs at once per source host: --max-connections when given, else the cap
// of the --preset (each mailbox is its own process, so only the batch can hold a preset's cap
// across mailboxes): an admin preset from `admin` (dovecot.conf's migrate_preset_<name>_*, its
// max_connections or its base's), else a built-in one; else 0 (no cap). An unknown or invalid
// preset gives 0 here: each child reports it.
unsigned perHostCap(const std::optional<uint32_t>& maxConnections, const std::optional<std::string>& preset,
                    const PresetDefinitions& admin = {});

}  // namespace migrate::batch
