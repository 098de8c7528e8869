#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian tools, Consul, the GeoIP database), builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build GslbDns.sln -c Release -nologo -clp:ErrorsOnly
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test GslbDns.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for CI: "N passed, N failed" (from the runner's summary block).
passed=$(grep -E '^\s+Passed: +[0-9]+$' "$log" | tail -1 | grep -oE '[0-9]+' || true)
failed=$(grep -E '^\s+Failed: +[0-9]+$' "$log" | tail -1 | grep -oE '[0-9]+' || true)
if [ -n "$passed" ]; then
  echo "${passed} passed, ${failed:-0} failed"
fi
exit "$status"
