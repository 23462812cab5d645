#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz) and runs each for
# FUZZ_SECONDS (default 30) on a copy of its checked-in seed corpus, FUZZ_JOBS (default: the number
# of CPUs) targets at a time. Fails if any target crashes, trips a sanitizer or a property check,
# leaks, runs out of memory or hangs; the input that did it is kept in
# build-fuzz/fuzz-runs/<target>/ (crash-*, leak-*, oom-*, timeout-*) and the command that replays
# it is printed. New inputs go to build-fuzz/fuzz-runs/<target>/corpus, never to the repository.
#   FUZZ_SECONDS=300 tools/fuzz.sh          longer runs
#   FUZZ_TARGETS="parser plan" tools/fuzz.sh  some targets only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-$(nproc)}
read -r -a targets <<<"${FUZZ_TARGETS:-parser mutf7 state plan batch session}"

start=$(date +%s)
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRATE_FUZZ=ON \
  -DMIGRATE_WITH_DOVECOT=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
built=$(date +%s)

case "$build" in
  /*) build_abs=$build ;;
  *) build_abs=$root/$build ;;
esac
runs="$build_abs/fuzz-runs"
run_target() {
  local t=$1 dir="$runs/$1"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp "$root/tests/fuzz/corpus/$t/"* "$dir/corpus/"
  # Run from $dir so that nothing libFuzzer writes can land in the repository; the outer timeout
  # only guards against a stuck process (-timeout catches a slow input).
  local rc=0
  (cd "$dir" && timeout $((seconds * 2 + 120)) "$build_abs/tests/fuzz/fuzz_$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$dir/" corpus >log 2>&1) || rc=$?
  echo "$rc" >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=()
summary=()
for t in "${targets[@]}"; do
  dir="$runs/$t"
  rc=$(cat "$dir/rc" 2>/dev/null || echo "unknown")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" 2>/dev/null || true)
  if [ "$rc" != 0 ]; then
    failed+=("$t")
    echo "fuzz: fuzz_$t FAILED (exit $rc); end of $dir/log:" >&2
    grep -v '^#\|^INFO\|^MERGE\|NEW_FUNC\|^NOTE\|^ *Combine\|^MS:\|^0x\|^Base64\|^stat::\|^\s*$' "$dir/log" 2>/dev/null |
      tail -40 >&2 || true
    for a in "$dir"/crash-* "$dir"/leak-* "$dir"/oom-* "$dir"/timeout-*; do
      [ -e "$a" ] || continue
      known=
      for c in tests/fuzz/corpus/"$t"/*; do
        if cmp -s "$a" "$c"; then
          known=$c
        fi
      done
      if [ -n "$known" ]; then
        echo "fuzz: the checked-in $known still fails: replay with $build/tests/fuzz/fuzz_$t $known" >&2
      else
        echo "fuzz: replay with: $build/tests/fuzz/fuzz_$t $a" >&2
        echo "fuzz: keep it as a regression input: cp $a tests/fuzz/corpus/$t/crash-<what>" >&2
      fi
    done
  else
    summary+=("$t ${execs:-?} runs")
  fi
done
end=$(date +%s)

times="build $((built - start)) s, fuzzing $((end - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (${#targets[@]} targets, ${seconds} s each; $times)"
  exit 1
fi
summary_text=$(printf '%s, ' "${summary[@]}")
echo "fuzz: ${#targets[@]} targets passed, ${seconds} s each (${summary_text%, }; $times)"
