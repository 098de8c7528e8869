#!/usr/bin/env bash
# bench/geo/startup-time.sh: how long `gslbdns serve` with the example zone (zones/, geo-data/,
# GeoLite2-City) takes from exec to its first answers, and to the precompiled geo trees.
# A benchmark, not a test: it prints one line per build and round.
#
#   bash bench/geo/startup-time.sh                              # this worktree's Release build
#   BASE=/work/main/src/GslbDns/bin/Release/net10.0/GslbDns.dll bash bench/geo/startup-time.sh
#
# Per round and build it reports, in ms from exec: the first SOA answer (www.example.com. over UDP),
# the first answer for geo.example.com. with ECS 81.2.69.0/24 (its address must be one the server
# gives once everything is built), and the log line "Geo decision trees built" (logged once they
# serve; absent in builds without trees), plus the server's RSS once the trees are in.
# Environment: ROUNDS [3], OURS [this worktree's src/GslbDns/bin/Release/net10.0/GslbDns.dll],
# BASE [] a second build to compare, GEOIP [.cache/geoip/GeoLite2-City.mmdb], PORT [first free from 25553].
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
OURS=${OURS:-$REPO_DIR/src/GslbDns/bin/Release/net10.0/GslbDns.dll}
BASE=${BASE:-}
GEOIP=${GEOIP:-$REPO_DIR/.cache/geoip/GeoLite2-City.mmdb}
PORT=${PORT:-25553}
while ss -Hlun "sport = :$PORT" | grep -q . || ss -Hltn "sport = :$PORT" | grep -q .; do PORT=$((PORT + 1)); done
WORK=$(mktemp -d /tmp/startup-time.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

answer() { # name, extra dig args...: the lowest address of the answer, empty when none
    local name=$1; shift
    dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short "$@" "$name" A 2>/dev/null | grep -E '^[0-9.]+$' | sort | head -1 || true
}

one_round() { # label, dll
    local label=$1 dll=$2 started soa= geo= first_geo= trees= deadline log=$WORK/$1.log
    rm -rf "$WORK/state"; mkdir -p "$WORK/state"
    started=$(now_ms)
    (cd "$REPO_DIR" && exec dotnet "$dll" serve --zones zones --geo-data geo-data --geoip "$GEOIP" \
        --dns "127.0.0.1:$PORT" --metrics off --api off --no-prober --state "$WORK/state" --no-watch) >"$log" 2>&1 &
    SERVER=$!
    deadline=$((started + 120000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if [ -z "$soa" ] && [ -n "$(answer www.example.com.)" ]; then soa=$(( $(now_ms) - started )); fi
        if [ -z "$geo" ]; then
            first_geo=$(answer geo.example.com. +subnet=81.2.69.0/24)
            [ -n "$first_geo" ] && geo=$(( $(now_ms) - started ))
        fi
        if [ -z "$trees" ] && grep -q "Geo decision trees built" "$log"; then trees=$(( $(now_ms) - started )); fi
        if [ -n "$soa" ] && [ -n "$geo" ] && { [ -n "$trees" ] || [ $(( $(now_ms) - started )) -gt $((geo + 60000)) ]; }; then break; fi
        sleep 0.02
    done
    local settled rss
    # geo's nearest data center has two addresses (weighted): any address seen once settled counts.
    settled=$(for _ in 1 2 3 4 5 6 7 8 9 10; do answer geo.example.com. +subnet=81.2.69.0/24; done | sort -u | tr '\n' ' ' | sed 's/ $//')
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$SERVER/status" 2>/dev/null || echo "?")
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
    printf '%-6s first SOA %6s ms  first geo %6s ms (%s, settled %s: %s)  trees %6s ms  RSS %s MiB\n' \
        "$label" "${soa:-none}" "${geo:-none}" "${first_geo:-none}" "${settled:-none}" \
        "$(case " $settled " in *" $first_geo "*) echo same ;; *) echo DIFFERENT ;; esac)" "${trees:-n/a}" "$rss"
}

for round in $(seq "$ROUNDS"); do
    one_round ours "$OURS"
    if [ -n "$BASE" ]; then one_round base "$BASE"; fi
done
