#!/usr/bin/env bash
# The README's test command: installs what is needed, builds everything and runs every test
# (unit tests, lib-storage tests, and integration tests against real Dovecot servers that the
# suite starts on loopback). Needs root (apt-get; the tests bind-mount the dev doveadm module).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

tools/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" -j"$(nproc)"
# MIGRATE_TESTS_ONLY=1 (CI's second Debian release): the build and every test, without the
# checks that need to run once (format and clang-tidy are pinned to Debian 12's clang 14, and the
# sanitizer and fuzz builds test the Dovecot-free core, the same on both releases).
if [ "${MIGRATE_TESTS_ONLY:-}" != 1 ]; then
  tools/check-format.sh
  tools/check-tidy.sh "$BUILD_DIR"
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" --timeout 900
if [ "${MIGRATE_TESTS_ONLY:-}" != 1 ]; then
  tools/sanitize.sh
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} tools/fuzz.sh
fi
