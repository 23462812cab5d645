#!/usr/bin/env bash
# Installs what dovecot-migrate needs to build, test and run its demo on Debian 12 (bookworm,
# Dovecot 2.3) or Debian 13 (trixie, Dovecot 2.4).
# Run as root. Idempotent.
set -euo pipefail

# clang's sanitizer runtime is versioned with the release's clang.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case $codename in
  trixie) clang_rt=libclang-rt-19-dev ;;
  *) clang_rt=libclang-rt-14-dev ;;
esac

packages=(
  build-essential cmake g++ pkg-config git clang "$clang_rt"
  libssl-dev zlib1g-dev nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-dev
  dovecot-sieve dovecot-managesieved
  python3 openssl ca-certificates curl procps util-linux mount iproute2 clang-format clang-tidy time strace
  file dpkg-dev
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it uses apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

# In CI and in chroots there is no init system: don't let dovecot-core's postinst try to start
# the system Dovecot (our tests start their own instances on loopback).
policy_created=
if [ "${CI:-}" = "true" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  policy_created=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

if [ -n "$policy_created" ]; then
  rm -f /usr/sbin/policy-rc.d
fi
