#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian tools, Consul, the GeoIP database), builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build GslbDns.sln -c Release -nologo -clp:ErrorsOnly
dotnet test GslbDns.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
