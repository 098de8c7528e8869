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

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-15}
CLIENTS=${CLIENTS:-10}
OUTSTANDING=${OUTSTANDING:-200}
MAX_QPS=${MAX_QPS:-}
ROUNDS=${ROUNDS:-1}
BASELINE=${BASELINE:-1}
SUBNETS=${SUBNETS:-1200}
EDGE=${EDGE:-40}
PER_COUNTRY=${PER_COUNTRY:-25}
SEED=${SEED:-7}
TIE_KM=${TIE_KM:-1}
DEFAULT_LOCATION=${DEFAULT_LOCATION:-}
GEOIP=${GEOIP:-$REPO_DIR/.cache/geoip/GeoLite2-City.mmdb}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
BUILD_DIR=${BUILD_DIR:-/tmp/bench-geo-gslbdns}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_WORK=${KEEP_WORK:-0}
NICE=${NICE:-0}
ADDR=127.0.0.1
ORIGIN=bench.test
GEO_NAME=geo.$ORIGIN
STATIC_NAME=www.$ORIGIN
OUT_DIR=$BENCH_DIR/out
HELPER=$GEO_DIR/geo_bench.py
DCS=$GEO_DIR/datacenters.tsv

log() { printf '[bench-geo %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for v in DURATION WARMUP CLIENTS OUTSTANDING ROUNDS BASELINE SUBNETS EDGE PER_COUNTRY SEED SERVER_CPU CLIENT_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { log "$v='${!v}' is not a whole number"; exit 2; }
done
[[ $NICE =~ ^-?[0-9]+$ ]] || { log "NICE='$NICE' is not a whole number"; exit 2; }
[[ $TIE_KM =~ ^[0-9]+([.][0-9]+)?$ ]] || { log "TIE_KM='$TIE_KM' is not a number"; exit 2; }
[[ -z $DEFAULT_LOCATION || $DEFAULT_LOCATION =~ ^-?[0-9.]+,-?[0-9.]+$ ]] || { log "DEFAULT_LOCATION='$DEFAULT_LOCATION' is not lat,lon"; exit 2; }
[[ -z $MAX_QPS || $MAX_QPS =~ ^[0-9]+$ ]] || { log "MAX_QPS='$MAX_QPS' is not a whole number"; exit 2; }
(( DURATION > 0 && CLIENTS > 0 && ROUNDS > 0 && SUBNETS > 0 )) || { log "DURATION, CLIENTS, ROUNDS and SUBNETS must be > 0"; exit 2; }
NCPU=$(nproc --all)
(( SERVER_CPU < NCPU && CLIENT_CPU < NCPU )) || { log "SERVER_CPU/CLIENT_CPU must be below $NCPU"; exit 2; }
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || log "warning: server and dnsperf share core $SERVER_CPU; figures will be distorted"

missing=()
for tool in dotnet dnsperf gdnsd kdig python3 taskset ss; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if (( ${#missing[@]} )); then
  log "missing ${missing[*]}: run 'bash scripts/install-deps.sh' first"
  exit 2
fi
[[ -s $GEOIP ]] || { log "no GeoIP database at $GEOIP: run 'bash scripts/install-deps.sh' first"; exit 2; }
GEOIP=$(cd "$(dirname "$GEOIP")" && pwd)/$(basename "$GEOIP")
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup --
WORK=$(mktemp -d /tmp/gslbdns-bench-geo.XXXXXX)
CHILDREN=()   # every background child we start, killed on any exit

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM HUP
  for pid in "${CHILDREN[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${CHILDREN[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${CHILDREN[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "child $pid ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  if [[ $KEEP_WORK == 1 ]]; then
    log "kept work dir $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

# ------------------------------------------------------------------ helpers --
forget() { # drop a child that has exited, so cleanup never signals a reused pid
  local keep=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  CHILDREN=("${keep[@]}")
}
port_free() { # UDP and TCP both free on ADDR:port
  [[ -z $(ss -Hlnu "sport = :$1") && -z $(ss -Hlnt "sport = :$1") ]]
}
pick_port() { # first free port from $1 upwards, step 2 so the two servers never collide
  local p=$1
  while ! port_free "$p"; do p=$((p + 2)); done
  echo "$p"
}
cpu_ticks() { # utime+stime (fields 14, 15 of /proc/PID/stat) of the whole process; comm may hold spaces
  local s
  s=$(<"/proc/$1/stat") || return 1
  s=${s##*) }
  awk '{print $12 + $13}' <<<"$s"
}
core_times() { # "busy total" jiffies of one core from /proc/stat
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
thread_stats() { # one line per thread: tid cpu-ticks last-core name (fields 14+15 and 39 of task stat)
  local t s comm
  for t in /proc/"$1"/task/*; do
    { s=$(<"$t/stat"); } 2>/dev/null || continue
    comm=${s#*(}; comm=${comm%)*}
    s=${s##*) }
    awk -v tid="${t##*/}" -v c="${comm// /_}" '{print tid, $12 + $13, $37, c}' <<<"$s"
  done
}
threads_of() { # where each thread may run and last ran, and its CPU so far
  local tid ticks psr comm
  printf '    %-8s %-4s %-8s %-8s %s\n' TID PSR ALLOWED "CPU s" NAME
  while read -r tid ticks psr comm; do
    printf '    %-8s %-4s %-8s %-8s %s\n' "$tid" "$psr" "$(taskset -cp "$tid" 2>/dev/null | awk '{print $NF}')" \
      "$(awk -v t="$ticks" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')" "$comm"
  done < <(thread_stats "$1")
}
thread_delta() { # before-file after-file: CPU each thread used in between, busiest first
  printf '    %-8s %-8s %-9s %s\n' TID "CPU s" "last core" NAME
  awk -v h="$CLK_TCK" 'NR == FNR { b[$1] = $2; next }
    { printf "    %-8s %-8.2f %-9s %s\n", $1, ($2 - b[$1]) / h, $3, $4 }' "$1" "$2" | sort -k2,2gr
}
wait_answering() { # pid port name: until the server answers the static name NOERROR, or dies
  local pid=$1 port=$2 name=$3 i
  for i in $(seq 240); do
    kill -0 "$pid" 2>/dev/null || return 1
    if kdig @"$ADDR" -p "$port" +norec +time=1 +retry=0 "$STATIC_NAME" A 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    sleep 0.5
  done
  log "$name did not answer within 120 s"
  return 1
}

DETAILS=$WORK/details.txt
: >"$DETAILS"
detail() { printf '%s\n' "$*" >>"$DETAILS"; }

# --------------------------------------------------------------- build ours --
if [[ $SKIP_BUILD != 1 ]]; then
  log "building GslbDns (Release) into $BUILD_DIR"
  # --artifacts-path keeps bin/ and obj/ out of the shared source tree.
  if ! dotnet build "$REPO_DIR/src/GslbDns" -c Release --artifacts-path "$BUILD_DIR" -nologo -v q >"$WORK/build.log" 2>&1; then
    tail -30 "$WORK/build.log" >&2
    die "GslbDns does not build (full log above; other engineers may be mid-edit: retry in a minute)"
  fi
fi
OURS_DLL=$BUILD_DIR/bin/GslbDns/release/GslbDns.dll
[[ -f $OURS_DLL ]] || die "no $OURS_DLL (build first or unset SKIP_BUILD)"

# ------------------------------------------------------------ zone + config --
mkdir -p "$OUT_DIR" "$WORK/geo-data-empty"
OURS_PORT=${OURS_PORT:-$(pick_port 25453)}
GDNSD_PORT=${GDNSD_PORT:-$(pick_port 25454)}
port_free "$OURS_PORT" || die "port $OURS_PORT is taken"
port_free "$GDNSD_PORT" || die "port $GDNSD_PORT is taken"
[[ $OURS_PORT != "$GDNSD_PORT" ]] || die "OURS_PORT and GDNSD_PORT are the same"

python3 "$HELPER" configs --dcs "$DCS" --work "$WORK" --geoip "$GEOIP" --origin "$ORIGIN" \
  --addr "$ADDR" --port "$GDNSD_PORT" --default-location "$DEFAULT_LOCATION" || die "could not write the configs"
gdnsd -c "$WORK/gdnsd" checkconf >"$WORK/gdnsd-checkconf.log" 2>&1 \
  || { cat "$WORK/gdnsd-checkconf.log" >&2; die "gdnsd rejects $WORK/gdnsd/config"; }
OURS_ARGS=(serve --zones "$WORK/ours/zones" --dns "$ADDR:$OURS_PORT" --udp-threads 1 --metrics off --no-watch
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
STATIC_QUERIES=$WORK/static-a.txt
echo "$STATIC_NAME A" >"$STATIC_QUERIES"

# ----------------------------------------------------------- start servers --
declare -A PID PORT
start_server() { # name, then the command; started on SERVER_CPU, then every thread re-pinned
  local name=$1; shift
  nice -n "$NICE" taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  CHILDREN+=("$pid")
  PID[$name]=$pid
  if ! wait_answering "$pid" "${PORT[$name]}" "$name"; then
    tail -20 "$WORK/$name.log" >&2
    die "$name failed to start (log above)"
  fi
  detail "== $name (pid $pid) threads after start, before re-pinning:"
  detail "$(threads_of "$pid")"
  # Pin every thread, including ones that set their own affinity and runtime threads.
  taskset -a -pc "$SERVER_CPU" "$pid" >/dev/null
  detail "== $name threads after taskset -a -pc $SERVER_CPU:"
  detail "$(threads_of "$pid")"
  log "$name answering on $ADDR:${PORT[$name]} (pid $pid), all threads pinned to core $SERVER_CPU"
}

PORT[gdnsd]=$GDNSD_PORT
PORT[ours]=$OURS_PORT
log "starting gdnsd ($(gdnsd -h 2>&1 | awk '/version/ {print $3; exit}')) on $ADDR:$GDNSD_PORT"
start_server gdnsd gdnsd -c "$WORK/gdnsd" start
log "starting GslbDns on $ADDR:$OURS_PORT"
start_server ours dotnet "$OURS_DLL" "${OURS_ARGS[@]}"

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
while IFS=$'\t' read -r cls subnet o g; do
  detail "== disagreement class $cls: example $subnet (ours $o, gdnsd $g)"
  for who in ours gdnsd; do
    detail "   \$ kdig @$ADDR -p ${PORT[$who]} +norec +subnet=$subnet $GEO_NAME A   # $who"
    detail "$(kdig @"$ADDR" -p "${PORT[$who]}" +norec +time=2 +subnet="$subnet" "$GEO_NAME" A +noall +answer +opt 2>&1 \
      | grep -E 'CLIENT-SUBNET|IN\s+A' | sed 's/^/     /')"
  done
  detail "   \$ gslbdns explain --name $GEO_NAME --type A --client $subnet"
  detail "$(timeout 60 dotnet "$OURS_DLL" explain --zones "$WORK/ours/zones" --geoip "$GEOIP" \
    --geo-data "$WORK/geo-data-empty" --name "$GEO_NAME" --type A --client "$subnet" 2>&1 | sed 's/^/     /')"
done <"$AGREE_EXAMPLES"
# The same client as IPv4-mapped IPv6 ECS: the scope must be a prefix of the 128-bit address.
mapped=$(awk -F'\t' 'NR > 1 && $2 == "placed" { split($1, p, "/"); print "::ffff:" p[1] "/" (p[2] + 96); exit }' "$SUBNET_FILE")
if [[ -n $mapped ]]; then
  detail "== IPv4-mapped ECS example $mapped (scope should be the family-1 scope + 96)"
  for who in ours gdnsd; do
    detail "   \$ kdig @$ADDR -p ${PORT[$who]} +norec +subnet=$mapped $GEO_NAME A   # $who"
    detail "$(kdig @"$ADDR" -p "${PORT[$who]}" +norec +time=2 +subnet="$mapped" "$GEO_NAME" A +noall +answer +opt 2>&1 \
      | grep -E 'CLIENT-SUBNET|IN\s+A' | sed 's/^/     /')"
  done
fi

# ---------------------------------------------------------------- measure --
run_dnsperf() { # port seconds logfile queryfile binary(0/1)
  local args=(-s "$ADDR" -p "$1" -l "$2" -d "$4" -c "$CLIENTS" -q "$OUTSTANDING")
  [[ $5 == 1 ]] && args+=(-B)
  [[ -n $MAX_QPS ]] && args+=(-Q "$MAX_QPS")
  nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" >"$3" 2>&1 &
  local pid=$!
  CHILDREN+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}
stat_of() { # dnsperf log, label: the first word after the label
  awk -v k="$2" '(i = index($0, k)) { $0 = substr($0, i + length(k)); print $1; exit }' "$1"
}

declare -a ROWS=()
declare -A R
measure() { # name round workload(geo|static)
  local name=$1 round=$2 load=$3 pid=${PID[$1]} port=${PORT[$1]} tag="$1.$3.r$2" qfile binary
  if [[ $load == geo ]]; then qfile=$GEO_QUERIES binary=1; else qfile=$STATIC_QUERIES binary=0; fi
  kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is gone"
  if (( WARMUP > 0 )); then
    log "$name $load round $round: warm-up ${WARMUP}s (not measured)"
    run_dnsperf "$port" "$WARMUP" "$WORK/$tag.warmup.log" "$qfile" "$binary" || true
  fi
  log "$name $load round $round: measuring ${DURATION}s"
  local c0 c1 s0 s1 m0 m1
  read -r s0 s1 < <(core_times "$SERVER_CPU")
  read -r m0 m1 < <(core_times "$CLIENT_CPU")
  c0=$(cpu_ticks "$pid") || die "$name died"
  thread_stats "$pid" >"$WORK/$tag.threads0"
  ( sleep "$(( DURATION / 2 ))"; threads_of "$pid" >"$WORK/$tag.threads" 2>/dev/null ) &
  local snap=$!
  CHILDREN+=("$snap")
  local rc=0
  run_dnsperf "$port" "$DURATION" "$WORK/$tag.dnsperf.log" "$qfile" "$binary" || rc=$?
  c1=$(cpu_ticks "$pid") || die "$name died during the run"
  thread_stats "$pid" >"$WORK/$tag.threads1"
  local e0 e1 n0 n1
  read -r e0 e1 < <(core_times "$SERVER_CPU")
  read -r n0 n1 < <(core_times "$CLIENT_CPU")
  wait "$snap" 2>/dev/null || true
  forget "$snap"
  local f=$WORK/$tag.dnsperf.log
  local sent answered lost qps runtime lat
  sent=$(stat_of "$f" "Queries sent:")
  answered=$(stat_of "$f" "Queries completed:")
  lost=$(stat_of "$f" "Queries lost:")
  qps=$(stat_of "$f" "Queries per second:")
  runtime=$(stat_of "$f" "Run time (s):")
  lat=$(stat_of "$f" "Average Latency (s):")
  if (( rc != 0 )) || [[ -z $answered ]]; then
    cat "$f" >&2
    die "dnsperf against $name failed (exit $rc)"
  fi
  (( answered > 0 )) || { cat "$f" >&2; die "$name answered nothing"; }
  local cpu_s us rss busy cbusy
  cpu_s=$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')
  us=$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" -v n="$answered" 'BEGIN { printf "%.2f", t / h * 1e6 / n }')
  rss=$(rss_kib "$pid")
  busy=$(awk -v b=$((e0 - s0)) -v t=$((e1 - s1)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  cbusy=$(awk -v b=$((n0 - m0)) -v t=$((n1 - m1)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  R[$tag.qps]=$qps R[$tag.us]=$us R[$tag.rss]=$rss
  ROWS+=("$(printf '%-7s %-6s %5s %11s %8s %9s %9s %7s %13s %8s %8s %8s %8s' \
    "$name" "$load" "$round" "$answered" "$lost" "$sent" "$(printf '%.0f' "$qps")" "$cpu_s" "$us" \
    "$busy%" "$cbusy%" "$(awk -v l="$lat" 'BEGIN { printf "%.0f", l * 1e6 }')" \
    "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')")")
  detail "== $name $load round $round: threads mid-run:"
  detail "$(cat "$WORK/$tag.threads" 2>/dev/null)"
  detail "== $name $load round $round: CPU per thread during the measured run:"
  detail "$(thread_delta "$WORK/$tag.threads0" "$WORK/$tag.threads1")"
  detail "== $name $load round $round: dnsperf -l $DURATION (run time ${runtime}s):"
  detail "$(sed -n '/Statistics:/,$p' "$f" | sed 's/^/    /')"
}

LOADS=(geo)
[[ $BASELINE == 1 ]] && LOADS+=(static)
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(gdnsd ours); else order=(ours gdnsd); fi
  for load in "${LOADS[@]}"; do
    for s in "${order[@]}"; do measure "$s" "$round" "$load"; done
  done
done

# ---------------------------------------------------------------- summary --
ts=$(date +%Y%m%d-%H%M%S)
OUT=$OUT_DIR/geo-dnsperf-vs-gdnsd-$ts.txt
commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
DNSPERF_DESC="dnsperf -c $CLIENTS -q $OUTSTANDING${MAX_QPS:+ -Q $MAX_QPS} -l $DURATION after a ${WARMUP}s warm-up"
{
  echo "GslbDns vs gdnsd: geo-proximity answers with ECS, dnsperf over UDP, loopback, one server core each"
  echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host $(hostname)  kernel $(uname -r)  cores $NCPU  load $(cut -d' ' -f1-3 /proc/loadavg)  commit $commit (tree may hold uncommitted edits)"
  echo "gdnsd $(gdnsd -h 2>&1 | awk '/version/ {print $3; exit}')  dotnet $(dotnet --version)  $(dnsperf -h 2>&1 | awk '/^Version/ {print "dnsperf " $2}')  GeoIP $(basename "$GEOIP") ($(stat -c %s "$GEOIP") bytes)"
  echo "servers on core $SERVER_CPU (every thread), dnsperf on core $CLIENT_CPU; GslbDns --udp-threads 1; gdnsd udp_threads 1, tcp_threads 1; nice $NICE"
  echo "data centers: $(awk '!/^#/ && NF {printf "%s%s (%s,%s)", sep, $1, $2, $3; sep=", "}' "$DCS"); GslbDns policy healthy -> geo-proximity count 1, defaultLocation ${DEFAULT_LOCATION:-not set (0,0)}; gdnsd geoip city-auto-mode"
  echo "$SUBNET_NOTE"
  echo "geo load: $DNSPERF_DESC -B, one $GEO_NAME A query per subnet, each with its own ECS /24 option (binary input)"
  [[ $BASELINE == 1 ]] && echo "static load: same dnsperf settings, '$STATIC_NAME A' without EDNS (text input)"
  echo
  cat "$AGREE_SUMMARY"
  echo
  printf '%-7s %-6s %5s %11s %8s %9s %9s %7s %13s %8s %8s %8s %8s\n' \
    server load round answered lost sent QPS "CPU s" "CPU us/answer" "srv core" "cli core" "lat us" "RSS MiB"
  printf '%s\n' "${ROWS[@]}"
  echo
  for round in $(seq "$ROUNDS"); do
    for load in "${LOADS[@]}"; do
      awk -v r="$round" -v l="$load" -v uo="${R[ours.$load.r$round.us]}" -v ug="${R[gdnsd.$load.r$round.us]}" \
          -v qo="${R[ours.$load.r$round.qps]}" -v qg="${R[gdnsd.$load.r$round.qps]}" \
          -v mo="${R[ours.$load.r$round.rss]}" -v mg="${R[gdnsd.$load.r$round.rss]}" \
        'BEGIN { printf "round %d %-6s GslbDns/gdnsd:  CPU per answer %.2fx   QPS %.2fx   RSS %.2fx\n", r, l, uo / ug, qo / qg, mo / mg }'
    done
  done
  echo
  echo "CPU us/answer = server utime+stime over the measured run / answers dnsperf counted (lower is better; the figure to rank by)."
  echo "srv core / cli core = how busy core $SERVER_CPU / core $CLIENT_CPU were (all processes): cli core near 100% means dnsperf was the"
  echo "bottleneck and QPS then says little about the server. RSS after the runs; gdnsd's includes the GeoIP pages it read to build its map."
} >"$OUT.summary"
{
  cat "$OUT.summary"
  echo
  echo "----------------------------------------------------------------- details"
  cat "$DETAILS"
  echo "== per-subnet answers (subnet, class, country, DB lat, lon, DB prefix, nearest by haversine, ours, gdnsd, verdict, ECS scopes):"
  sed 's/^/    /' "$AGREE_DETAILS"
  echo "== gdnsd configuration:"
  sed -e '/^\s*#/d' -e '/^\s*$/d' -e 's/^/    /' "$WORK/gdnsd/config"
  echo "== GslbDns $ORIGIN.gslb.json:"
  sed 's/^/    /' "$WORK/ours/zones/$ORIGIN.gslb.json"
} >"$OUT"
echo
cat "$OUT.summary"
rm -f "$OUT.summary"
echo
log "written to ${OUT#"$REPO_DIR"/} (summary, disagreement examples, per-subnet answers, thread placement, dnsperf output)"
