#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian tools, Consul, the GeoIP database), builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build GslbDns.sln -c Release -nologo -clp:ErrorsOnly
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# A test that makes no progress for 120 s is a hang: the runner kills the test host (no dump: they are large and
# slow on a busy machine), names the test that was running, and the run fails instead of stalling CI.
dotnet test GslbDns.sln -c Release --no-build -nologo --logger "console;verbosity=normal" \
  --blame-hang-timeout 120s --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for CI: "N passed, N failed" (from the runner's summary block). An aborted run has no
# "Failed:" count; the tests it names as running when the host was killed count as failed.
passed=$(grep -E '^\s+Passed: +[0-9]+$' "$log" | tail -1 | grep -oE '[0-9]+' || true)
failed=$(grep -E '^\s+Failed: +[0-9]+$' "$log" | tail -1 | grep -oE '[0-9]+' || true)
hung=$(awk '/The tests? running when the crash occurred:/ {take=1; next} /This test may, or may not be the source of the crash/ {take=0} take && NF {print $1}' "$log")
if [ -n "$hung" ]; then
  failed=$(( ${failed:-0} + $(echo "$hung" | wc -l) ))
  echo "aborted while running (hang or crash): $(echo "$hung" | tr '\n' ' ')"
fi
if [ -n "$passed" ]; then
  echo "${passed} passed, ${failed:-0} failed"
fi
exit "$status"
