#include "batch_signals.h"

#include <unistd.h>

#include <csignal>

#include "dovecot_adapter/dovecot_api.h"

namespace migrate::cmd::bulk {
namespace {

volatile sig_atomic_t gSignal = 0;

void onSignal(const siginfo_t* si, void*) {
  gSignal = si->si_signo;
}

}  // namespace

StopOnSignals::StopOnSignals() {
  gSignal = 0;
  lib_signals_set_handler(SIGINT, static_cast<libsig_flags>(0), onSignal, nullptr);
  lib_signals_set_handler(SIGTERM, static_cast<libsig_flags>(0), onSignal, nullptr);
}

StopOnSignals::~StopOnSignals() {
  lib_signals_unset_handler(SIGINT, onSignal, nullptr);
  lib_signals_unset_handler(SIGTERM, onSignal, nullptr);
}

int stopSignal() noexcept {
  return gSignal;
}

bool sleepInterruptible(uint64_t seconds) {
  for (uint64_t ms = 0; ms < seconds * 1000; ms += 200) {
    if (gSignal != 0) {
      return false;
    }
    usleep(200 * 1000);
  }
  return gSignal == 0;
}

}  // namespace migrate::cmd::bulk
