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
tools/check-format.sh
tools/check-tidy.sh "$BUILD_DIR"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" --timeout 900
tools/sanitize.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-30} tools/fuzz.sh
