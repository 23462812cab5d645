#!/usr/bin/env bash
# The README's first command, on a fresh Debian 12 or 13 machine:
#
#   sudo tools/demo.sh [--keep]
#
# Installs the build dependencies and Dovecot (tools/install-deps.sh), builds the doveadm module
# and the mail plugin into build/ (nothing is installed), then runs tools/demo.py: two throwaway
# Dovecot servers on loopback (an IMAPS "old provider" and a local destination with quota), a real
# `doveadm migrate` between them, a side-by-side check of the result, a delta pass, a quota refusal,
# and everything stopped again. --keep leaves both servers running and prints how to poke at them.
# Exit status: 0 all checks passed, 1 a migration result did not match, 2 the demo could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root: sudo tools/demo.sh" >&2
  exit 2
fi

echo "==> Installing build dependencies and Dovecot (tools/install-deps.sh)"
tools/install-deps.sh

echo "==> Building the doveadm module and the mail plugin into $BUILD_DIR/"
configure_log=$(mktemp)
trap 'rm -f "$configure_log"' EXIT
if ! cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$configure_log" 2>&1; then
  cat "$configure_log" >&2
  exit 2
fi
# Only what the demo needs; tools/test.sh builds the rest (tests) in the same directory.
cmake --build "$BUILD_DIR" -j"$(nproc)" --target migrate_modules

python3 tools/demo.py --build-dir "$BUILD_DIR" "$@"
