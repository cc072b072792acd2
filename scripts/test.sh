#!/usr/bin/env bash
# The test command (README): installs what the tests need, builds, runs every test
# project and ends with one line "N passed, M failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/install-deps.sh || exit 1
results="$root/test-results"
rm -rf "$results" && mkdir -p "$results"
dotnet build Microscope.Farm.sln -c Release -nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
status=0
for project in tests/*/*.csproj; do
  name="$(basename "$project" .csproj)"
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" || status=1
done
# Sum the counters of every TRX file.
passed=0; failed=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if ((passed == 0 && failed == 0)); then failed=1; fi
# Name each failed test and the start of its message, so the end of the log says what broke.
if ((failed > 0)); then python3 scripts/failed-tests.py "$results"/*.trx; fi
echo "$passed passed, $failed failed"
((failed == 0 && status == 0))
