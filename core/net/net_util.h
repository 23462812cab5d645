#pragma once
// Small helpers shared by the transports (internal to core/net).

#include <string>

namespace migrate::net::detail {

// "30 s" for whole seconds, "200 ms" otherwise: the form used in timeout messages.
std::string formatDurationMs(int ms);

// Whether `host` is a numeric IPv4 or IPv6 address (no SNI, verified as an IP address).
bool isIpLiteral(const std::string& host);

enum class WaitResult { Ready, Timeout, Error };

// poll() on one descriptor for `events`, restarting after EINTR with the remaining time.
// timeoutMs < 0 waits forever. Error leaves errno set.
WaitResult waitFd(int fd, short events, int timeoutMs);

// strerror_r into a std::string (thread-safe).
std::string errnoText(int err);

}  // namespace migrate::net::detail
