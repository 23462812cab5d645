#include "batch/scheduler.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "common/strings.h"
#include "engine/preset.h"

namespace migrate::batch {

// --- Scheduler ------------------------------------------------------------------------------

std::string hostKey(const std::string& host) {
  std::string key = host;
  if (key.size() >= 2 && key.front() == '[' && key.back() == ']') {
    key = key.substr(1, key.size() - 2);
  }
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

std::vector<std::string> connectionKeys(const std::vector<std::string>& hosts, const Resolver& resolve) {
  // Distinct hosts in order of first appearance, joined (union-find, the earlier one the root)
  // whenever two of them share an address.
  std::vector<std::string> distinct;
  std::map<std::string, size_t> indexOf;
  std::vector<size_t> parent;
  std::map<std::string, size_t> ownerOf;  // address -> first distinct host that has it
  auto root = [&parent](size_t i) {
    while (parent[i] != i) {
      i = parent[i] = parent[parent[i]];
    }
    return i;
  };
  for (const std::string& host : hosts) {
    const std::string key = hostKey(host);
    if (indexOf.count(key) != 0) {
      continue;
    }
    const size_t i = distinct.size();
    indexOf.emplace(key, i);
    distinct.push_back(key);
    parent.push_back(i);
    if (key.empty()) {
      continue;
    }
    for (const std::string& address : resolve(key)) {
      auto [it, added] = ownerOf.emplace(address, i);
      if (!added) {
        const size_t a = root(it->second);
        const size_t b = root(i);
        parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  std::vector<std::string> keys;
  keys.reserve(hosts.size());
  for (const std::string& host : hosts) {
    keys.push_back(distinct[root(indexOf.at(hostKey(host)))]);
  }
  return keys;
}

std::vector<std::string> resolveAddresses(const std::string& host) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) {
    return out;
  }
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0 &&
        std::find(out.begin(), out.end(), text) == out.end()) {
      out.emplace_back(text);
    }
  }
  freeaddrinfo(res);
  return out;
}

Scheduler::Scheduler(const std::vector<JobKey>& jobs, unsigned maxJobs, unsigned maxPerHost)
    : maxJobs_(maxJobs == 0 ? 1 : maxJobs), maxPerHost_(maxPerHost) {
  for (const JobKey& j : jobs) {
    hosts_.push_back(hostKey(j.host));
    users_.push_back(j.user);
  }
  state_.assign(hosts_.size(), State::Waiting);
}

std::optional<size_t> Scheduler::next() {
  if (stopped_ || running_ >= maxJobs_) {
    return std::nullopt;
  }
  for (size_t i = 0; i < state_.size(); ++i) {
    if (state_[i] != State::Waiting) {
      continue;
    }
    unsigned& onHost = perHost_[hosts_[i]];
    unsigned& ofUser = perUser_[users_[i]];
    if ((maxPerHost_ != 0 && onHost >= maxPerHost_) || ofUser > 0) {
      continue;
    }
    ++onHost;
    ++ofUser;
    ++running_;
    state_[i] = State::Running;
    return i;
  }
  return std::nullopt;
}

void Scheduler::finished(size_t job) {
  if (state_.at(job) != State::Running) {
    return;
  }
  state_[job] = State::Finished;
  --running_;
  ++finished_;
  --perHost_[hosts_[job]];
  --perUser_[users_[job]];
}

bool Scheduler::done() const {
  if (running_ > 0) {
    return false;
  }
  return stopped_ || finished_ == state_.size();
}

unsigned perHostCap(const std::optional<uint32_t>& maxConnections, const std::optional<std::string>& preset,
                    const PresetDefinitions& admin) {
  if (maxConnections) {
    return *maxConnections;
  }
  if (!preset) {
    return 0;
  }
  Result<Preset> p = findPreset(*preset, admin);
  return p.isOk() ? p.value().maxConnections : 0;
}

}  // namespace migrate::batch
