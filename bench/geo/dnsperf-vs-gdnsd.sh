#!/usr/bin/env bash
# bench/geo/dnsperf-vs-gdnsd.sh: GslbDns's geo-proximity answers against gdnsd's geoip plugin
# (city-auto-mode), same GeoLite2-City database, same six data centers, same core.
# A benchmark, not a test: it prints figures and writes them to bench/out/. It fails only when
# a server does not build or start, or answers nothing; disagreements are counted, not fatal.
# See bench/geo/README.md for what it does and how to read it.
#
#   bash bench/geo/dnsperf-vs-gdnsd.sh                    # ~3 minutes with the defaults
#   DURATION=60 ROUNDS=3 bash bench/geo/dnsperf-vs-gdnsd.sh
#
# Environment (defaults in brackets):
#   DURATION [20]       seconds of each measured dnsperf run (-l)
#   WARMUP [15]         seconds of unmeasured load before each measured run (JIT tiering)
#   CLIENTS [10]        dnsperf clients = UDP sockets (-c)
#   OUTSTANDING [200]   dnsperf queries in flight (-q)
#   MAX_QPS []          dnsperf -Q rate cap; empty = unbounded
#   ROUNDS [1]          measured pairs; rounds alternate which server goes first
#   BASELINE [1]        1 = also measure a static A (www.bench.test, no EDNS) on both servers
#   SUBNETS [1200]      client /24s the database places with coordinates (>= 1000 for the brief)
#   EDGE [40]           extra /24s whose DB record has no coordinates, and as many the DB does not place
#   PER_COUNTRY [25]    at most this many subnets per country, so the set spreads over the world
#   FLOOD [200000]      distinct random /24 ECS subnets in the flood workload (0 = no flood run)
#   SEED [7]            random seed for the subnet draw (same seed = same subnets)
#   TIE_KM [1]          two data centers this close in distance count as a tie
#   DEFAULT_LOCATION [] "lat,lon" written as GslbDns's defaultLocation; empty = not set (GslbDns then
#                       uses 0,0). gdnsd has no such point: it answers unplaced clients with its first
#                       data center. DEFAULT_LOCATION=38.9445,-77.4558 (iad) makes the two agree.
#   GEOIP [.cache/geoip/GeoLite2-City.mmdb]  the City database both servers read
#   SERVER_CPU [1] CLIENT_CPU [0]   cores for the servers and for dnsperf
#   OURS_PORT, GDNSD_PORT [first free from 25453 / 25454]
#   BUILD_DIR [/tmp/bench-geo-gslbdns]  private --artifacts-path for the Release build
#   SKIP_BUILD [0]      1 = reuse the DLL already in BUILD_DIR
#   KEEP_WORK [0]       1 = keep the temp dir (configs, subnets, server logs, dnsperf output)
#   NICE [0]            nice value for both servers and dnsperf
set -euo pipefail

GEO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$GEO_DIR")
REPO_DIR=$(dirname "$BENCH_DIR")
# shellcheck source=../lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

measure_defaults   # DURATION WARMUP CLIENTS OUTSTANDING MAX_QPS ROUNDS SERVER_CPU CLIENT_CPU SKIP_BUILD KEEP_WORK NICE ADDR
BASELINE=${BASELINE:-1}
SUBNETS=${SUBNETS:-1200}
EDGE=${EDGE:-40}
PER_COUNTRY=${PER_COUNTRY:-25}
SEED=${SEED:-7}
FLOOD=${FLOOD:-200000}
TIE_KM=${TIE_KM:-1}
DEFAULT_LOCATION=${DEFAULT_LOCATION:-}
GEOIP=${GEOIP:-$REPO_DIR/.cache/geoip/GeoLite2-City.mmdb}
BUILD_DIR=${BUILD_DIR:-/tmp/bench-geo-gslbdns}
ORIGIN=bench.test
GEO_NAME=geo.$ORIGIN
STATIC_NAME=www.$ORIGIN
OUT_DIR=$BENCH_DIR/out
HELPER=$GEO_DIR/geo_bench.py
DCS=$GEO_DIR/datacenters.tsv

LOG_TAG=bench-geo
PROBE_NAME=$STATIC_NAME   # wait_answering: asked until it is NOERROR
START_TIMEOUT=120         # seconds: gdnsd builds its map from the whole database at start-up

check_settings DURATION WARMUP CLIENTS OUTSTANDING ROUNDS BASELINE SUBNETS EDGE PER_COUNTRY SEED FLOOD SERVER_CPU CLIENT_CPU
[[ $TIE_KM =~ ^[0-9]+([.][0-9]+)?$ ]] || { log "TIE_KM='$TIE_KM' is not a number"; exit 2; }
[[ -z $DEFAULT_LOCATION || $DEFAULT_LOCATION =~ ^-?[0-9.]+,-?[0-9.]+$ ]] || { log "DEFAULT_LOCATION='$DEFAULT_LOCATION' is not lat,lon"; exit 2; }
(( DURATION > 0 && CLIENTS > 0 && ROUNDS > 0 && SUBNETS > 0 )) || { log "DURATION, CLIENTS, ROUNDS and SUBNETS must be > 0"; exit 2; }
check_cores
require_tools dotnet dnsperf gdnsd kdig python3 taskset ss
[[ -s $GEOIP ]] || { log "no GeoIP database at $GEOIP: run 'bash scripts/install-deps.sh' first"; exit 2; }
GEOIP=$(cd "$(dirname "$GEOIP")" && pwd)/$(basename "$GEOIP")

bench_init /tmp/gslbdns-bench-geo.XXXXXX   # WORK, DETAILS, traps that stop every child on exit

# --------------------------------------------------------------- build ours --
build_ours   # OURS_DLL

# ------------------------------------------------------------ zone + config --
mkdir -p "$OUT_DIR" "$WORK/geo-data-empty"
choose_ports OURS_PORT 25453 GDNSD_PORT 25454

python3 "$HELPER" configs --dcs "$DCS" --work "$WORK" --geoip "$GEOIP" --origin "$ORIGIN" \
  --addr "$ADDR" --port "$GDNSD_PORT" --default-location "$DEFAULT_LOCATION" || die "could not write the configs"
gdnsd -c "$WORK/gdnsd" checkconf >"$WORK/gdnsd-checkconf.log" 2>&1 \
  || { cat "$WORK/gdnsd-checkconf.log" >&2; die "gdnsd rejects $WORK/gdnsd/config"; }
OURS_ARGS=(serve --zones "$WORK/ours/zones" --dns "$ADDR:$OURS_PORT" --udp-threads 1 --metrics off --api off --no-watch
  --geoip "$GEOIP" --geo-data "$WORK/geo-data-empty")
dotnet "$OURS_DLL" check --zones "$WORK/ours/zones" --geoip "$GEOIP" --geo-data "$WORK/geo-data-empty" \
  >"$WORK/ours-check.log" 2>&1 || { cat "$WORK/ours-check.log" >&2; die "GslbDns rejects $WORK/ours/zones"; }

log "drawing client subnets (seed $SEED)"
SUBNET_FILE=$WORK/subnets.tsv
SUBNET_NOTE=$(python3 "$HELPER" subnets --dcs "$DCS" --geoip "$GEOIP" --count "$SUBNETS" --edge "$EDGE" \
  --per-country "$PER_COUNTRY" --seed "$SEED" --out "$SUBNET_FILE") || die "could not draw subnets"
log "$SUBNET_NOTE"
GEO_QUERIES=$WORK/geo-queries.bin
python3 "$HELPER" packets --subnets "$SUBNET_FILE" --name "$GEO_NAME" --out "$GEO_QUERIES" >/dev/null \
  || die "could not write the dnsperf query file"
FLOOD_QUERIES=$WORK/flood-queries.bin
if (( FLOOD > 0 )); then
  python3 "$HELPER" flood --name "$GEO_NAME" --count "$FLOOD" --seed "$SEED" --out "$FLOOD_QUERIES" >/dev/null \
    || die "could not write the flood query file"
fi
STATIC_QUERIES=$WORK/static-a.txt
echo "$STATIC_NAME A" >"$STATIC_QUERIES"

# ----------------------------------------------------------- start servers --
log "starting gdnsd ($(gdnsd -h 2>&1 | awk '/version/ {print $3; exit}')) on $ADDR:$GDNSD_PORT"
start_server gdnsd "$GDNSD_PORT" gdnsd -c "$WORK/gdnsd" start
log "starting GslbDns on $ADDR:$OURS_PORT"
start_server ours "$OURS_PORT" dotnet "$OURS_DLL" "${OURS_ARGS[@]}"
# It answers at once, locating clients per query; measure the precompiled trees (logged once they serve).
for _ in $(seq $(( START_TIMEOUT * 10 ))); do
  grep -q "Geo decision trees built" "$WORK/ours.log" && break
  sleep 0.1
done
grep -q "Geo decision trees built" "$WORK/ours.log" || die "GslbDns built no geo trees within $START_TIMEOUT s"
log "GslbDns geo trees: $(grep -o 'Geo decision trees built.*' "$WORK/ours.log" | head -1)"

# --------------------------------------------------------------- agreement --
log "asking both servers for $GEO_NAME A with each subnet as ECS"
AGREE_SUMMARY=$WORK/agreement.txt
AGREE_DETAILS=$WORK/agreement.tsv
AGREE_EXAMPLES=$WORK/examples.tsv
python3 "$HELPER" agree --dcs "$DCS" --subnets "$SUBNET_FILE" --name "$GEO_NAME" --addr "$ADDR" \
  --ours-port "$OURS_PORT" --gdnsd-port "$GDNSD_PORT" --tie-km "$TIE_KM" \
  --details "$AGREE_DETAILS" --examples "$AGREE_EXAMPLES" --summary "$AGREE_SUMMARY" >/dev/null \
  || die "the agreement check failed"
sed 's/^/  /' "$AGREE_SUMMARY" >&2
if ! awk -F'\t' 'FNR == NR { if (!/^#/ && NF) dc[$1] = 1; next } FNR > 1 && ($8 in dc) { ok = 1 } END { exit !ok }' \
    FS='[ \t]+' "$DCS" FS='\t' "$AGREE_DETAILS"; then
  die "GslbDns gave no data-center answer for $GEO_NAME to any subnet (is the GSLB config loaded?)"
fi
# One reproducible example per disagreement class: both servers' full answers and our explain.
ecs_example() { # subnet: each server's answer to GEO_NAME A with that ECS subnet, with the kdig command
  local who
  for who in ours gdnsd; do
    detail "   \$ kdig @$ADDR -p ${PORT[$who]} +norec +subnet=$1 $GEO_NAME A   # $who"
    detail "$(kdig @"$ADDR" -p "${PORT[$who]}" +norec +time=2 +subnet="$1" "$GEO_NAME" A +noall +answer +opt 2>&1 \
      | grep -E 'CLIENT-SUBNET|IN\s+A' | sed 's/^/     /')"
  done
}
while IFS=$'\t' read -r cls subnet o g; do
  detail "== disagreement class $cls: example $subnet (ours $o, gdnsd $g)"
  ecs_example "$subnet"
  detail "   \$ gslbdns explain --name $GEO_NAME --type A --client $subnet"
  detail "$(timeout 60 dotnet "$OURS_DLL" explain --zones "$WORK/ours/zones" --geoip "$GEOIP" \
    --geo-data "$WORK/geo-data-empty" --name "$GEO_NAME" --type A --client "$subnet" 2>&1 | sed 's/^/     /')"
done <"$AGREE_EXAMPLES"
# The same client as IPv4-mapped IPv6 ECS: the scope must be a prefix of the 128-bit address.
mapped=$(awk -F'\t' 'NR > 1 && $2 == "placed" { split($1, p, "/"); print "::ffff:" p[1] "/" (p[2] + 96); exit }' "$SUBNET_FILE")
if [[ -n $mapped ]]; then
  detail "== IPv4-mapped ECS example $mapped (scope should be the family-1 scope + 96)"
  ecs_example "$mapped"
fi

# ---------------------------------------------------------------- measure --
geo_dnsperf() { # port seconds logfile queryfile binary(0/1)
  local args=(-s "$ADDR" -p "$1" -l "$2" -d "$4" -c "$CLIENTS" -q "$OUTSTANDING")
  [[ $5 == 1 ]] && args+=(-B)
  [[ -n $MAX_QPS ]] && args+=(-Q "$MAX_QPS")
  run_dnsperf "$3" "${args[@]}"
}

ROW_FMT='%-7s %-6s %5s %11s %8s %9s %9s %7s %13s %8s %8s %8s %8s'
declare -a ROWS=()
measure() { # name round workload(geo|static)
  local name=$1 round=$2 load=$3
  if [[ $load == geo ]]; then
    measure_run "$name" "$name $load round $round" "$name.$load.r$round" geo_dnsperf "$GEO_QUERIES" 1
  elif [[ $load == flood ]]; then
    measure_run "$name" "$name $load round $round" "$name.$load.r$round" geo_dnsperf "$FLOOD_QUERIES" 1
  else
    measure_run "$name" "$name $load round $round" "$name.$load.r$round" geo_dnsperf "$STATIC_QUERIES" 0
  fi
  ROWS+=("$(result_row "$ROW_FMT" "$name" "$load" "$round")")
}

LOADS=(geo)
(( FLOOD > 0 )) && LOADS+=(flood)
[[ $BASELINE == 1 ]] && LOADS+=(static)
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(gdnsd ours); else order=(ours gdnsd); fi
  for load in "${LOADS[@]}"; do
    for s in "${order[@]}"; do measure "$s" "$round" "$load"; done
  done
done

# ---------------------------------------------------------------- summary --
DNSPERF_DESC="dnsperf -c $CLIENTS -q $OUTSTANDING${MAX_QPS:+ -Q $MAX_QPS} -l $DURATION after a ${WARMUP}s warm-up"
summary() {
  echo "GslbDns vs gdnsd: geo-proximity answers with ECS, dnsperf over UDP, loopback, one server core each"
  run_facts "load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "gdnsd $(gdnsd -h 2>&1 | awk '/version/ {print $3; exit}')  $(client_versions)  GeoIP $(basename "$GEOIP") ($(stat -c %s "$GEOIP") bytes)"
  echo "servers on core $SERVER_CPU (every thread), dnsperf on core $CLIENT_CPU; GslbDns --udp-threads 1; gdnsd udp_threads 1, tcp_threads 1; nice $NICE"
  echo "data centers: $(awk '!/^#/ && NF {printf "%s%s (%s,%s)", sep, $1, $2, $3; sep=", "}' "$DCS"); GslbDns policy healthy -> geo-proximity count 1, defaultLocation ${DEFAULT_LOCATION:-not set (0,0)}; gdnsd geoip city-auto-mode"
  echo "$SUBNET_NOTE"
  echo "geo load: $DNSPERF_DESC -B, one $GEO_NAME A query per subnet, each with its own ECS /24 option (binary input)"
  (( FLOOD > 0 )) && echo "flood load: same dnsperf settings, $FLOOD distinct random public /24s as ECS, one query each, cycled (binary input)"
  [[ $BASELINE == 1 ]] && echo "static load: same dnsperf settings, '$STATIC_NAME A' without EDNS (text input)"
  echo
  cat "$AGREE_SUMMARY"
  echo
  table_header "$ROW_FMT" server load round
  printf '%s\n' "${ROWS[@]}"
  echo
  for round in $(seq "$ROUNDS"); do
    for load in "${LOADS[@]}"; do
      ratio_line "$(printf 'round %d %-6s GslbDns/gdnsd' "$round" "$load")" "ours.$load.r$round" "gdnsd.$load.r$round"
    done
  done
  echo
  echo "CPU us/answer = server utime+stime over the measured run / answers dnsperf counted (lower is better; the figure to rank by)."
  echo "srv core / cli core = how busy core $SERVER_CPU / core $CLIENT_CPU were (all processes): cli core near 100% means dnsperf was the"
  echo "bottleneck and QPS then says little about the server. RSS after the runs; gdnsd's includes the GeoIP pages it read to build its map."
}
more_details() {
  echo "== per-subnet answers (subnet, class, country, DB lat, lon, DB prefix, nearest by haversine, ours, gdnsd, verdict, ECS scopes):"
  sed 's/^/    /' "$AGREE_DETAILS"
  echo "== gdnsd configuration:"
  sed -e '/^\s*#/d' -e '/^\s*$/d' -e 's/^/    /' "$WORK/gdnsd/config"
  echo "== GslbDns $ORIGIN.gslb.json:"
  sed 's/^/    /' "$WORK/ours/zones/$ORIGIN.gslb.json"
}
report_file geo-dnsperf-vs-gdnsd
write_report summary more_details "summary, disagreement examples, per-subnet answers, thread placement, dnsperf output"
