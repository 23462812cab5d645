#include "net/net_util.h"

#include <arpa/inet.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>

namespace migrate::net::detail {

std::string formatDurationMs(int ms) {
  if (ms >= 1000 && ms % 1000 == 0) {
    return std::to_string(ms / 1000) + " s";
  }
  return std::to_string(ms) + " ms";
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

WaitResult waitFd(int fd, short events, int timeoutMs) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs < 0 ? 0 : timeoutMs);
  int remaining = timeoutMs;
  for (;;) {
    struct pollfd pfd = {};
    pfd.fd = fd;
    pfd.events = events;
    const int rc = ::poll(&pfd, 1, remaining);
    if (rc > 0) {
      // POLLERR/POLLHUP count as ready: the following recv/send/getsockopt reports the cause.
      return WaitResult::Ready;
    }
    if (rc == 0) {
      return WaitResult::Timeout;
    }
    if (errno != EINTR) {
      return WaitResult::Error;
    }
    if (timeoutMs >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        return WaitResult::Timeout;
      }
      remaining = static_cast<int>(left);
    }
  }
}

std::string errnoText(int err) {
  char buf[256];
  // GNU strerror_r returns the message pointer (which may or may not be buf); the XSI variant
  // returns an int. Handle both so the code builds with either.
  auto rc = strerror_r(err, buf, sizeof(buf));
  if constexpr (std::is_same_v<decltype(rc), char*>) {
    return rc != nullptr ? std::string(rc) : std::string("error ") + std::to_string(err);
  } else {
    // NOLINTNEXTLINE(modernize-use-nullptr): the XSI strerror_r returns an int
    return rc == 0 ? std::string(buf) : std::string("error ") + std::to_string(err);
  }
}

}  // namespace migrate::net::detail
