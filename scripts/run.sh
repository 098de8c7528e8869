#!/usr/bin/env bash
# Runs the main job: the DNS server on the example zones in zones/, on 127.0.0.1:5353 (UDP and TCP).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build src/GslbDns -c Release -nologo -clp:ErrorsOnly
exec dotnet src/GslbDns/bin/Release/net10.0/GslbDns.dll serve --zones zones --dns 127.0.0.1:5353 "$@"
