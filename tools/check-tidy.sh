#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over the Dovecot-free core, with the compile commands of a build dir.
#   tools/check-tidy.sh [BUILD_DIR]    (default: build)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-tidy: $build/compile_commands.json missing: configure the build first" >&2
  exit 1
fi
files=$(git ls-files 'core/*.cpp')
out=$(mktemp)
# shellcheck disable=SC2086
clang-tidy -p "$build" --quiet --warnings-as-errors='*' $files > "$out" 2>&1
rc=$?
grep -v "warnings generated" "$out" || true
rm -f "$out"
if [ $rc -ne 0 ]; then
  echo "check-tidy: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "check-tidy: $(echo "$files" | wc -l) core files clean"
