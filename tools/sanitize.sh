#!/usr/bin/env bash
# Builds the unit tests (core + fakes) and, where Dovecot's headers are installed, the in-process
# lib-storage tests (sink_tests) with AddressSanitizer and UndefinedBehaviorSanitizer (gcc,
# MIGRATE_SANITIZE) in build-asan, and runs them. Any sanitizer report fails the run: leaks
# included, and UBSan stops at the first error instead of printing and going on.
# Dovecot's own libraries are not instrumented: sink_tests check our side of the calls into them.
#   SANITIZE_WITH_DOVECOT=OFF tools/sanitize.sh   unit tests only
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD_DIR:-build-asan}
with_dovecot=${SANITIZE_WITH_DOVECOT:-}
if [ -z "$with_dovecot" ]; then
  with_dovecot=OFF
  if [ -e /usr/lib/dovecot/dovecot-config ]; then
    with_dovecot=ON
  fi
fi
targets=(unit_tests)
if [ "$with_dovecot" = ON ]; then
  targets+=(sink_tests)
fi

start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRATE_SANITIZE=ON \
  -DMIGRATE_WITH_DOVECOT="$with_dovecot" -DCMAKE_C_FLAGS=-fno-sanitize-recover=all \
  -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=all >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
built=$(date +%s)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# gtest prints "[  PASSED  ] N tests."; keep the output only when something fails.
run() {
  local name=$1 log="$build/$1.log"
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -80 "$log" >&2
    echo "sanitize: $name FAILED under ASan+UBSan (full output: $log)"
    exit 1
  fi
  passed+=("$name: $(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\./\1 tests/p' "$log")")
}

passed=()
run unit_tests "$build/tests/unit_tests"
if [ "$with_dovecot" = ON ]; then
  # test_mail_storage_init() creates .test-home in the working directory.
  work="$build/tests/dovecot/sink-work"
  mkdir -p "$work"
  run sink_tests bash -c "cd '$work' && exec ../sink_tests"
fi
end=$(date +%s)

summary=$(printf '%s, ' "${passed[@]}")
echo "sanitize: ASan+UBSan passed (${summary%, }; build $((built - start)) s, tests $((end - built)) s)"
