#!/usr/bin/env bash
# bench/soak/soak.sh: the server process under sustained load and churn. Not a benchmark: it passes or fails.
#
#   bash bench/soak/soak.sh                    # 10 minutes at 80% of the measured maximum
#   DURATION=60 bash bench/soak/soak.sh        # the one-minute version
#
# What it does, in embedded mode (no Consul; the in-process prober checks two HTTP backends on loopback):
#   1. measures the maximum queries per second with unbounded dnsperf for MEASURE seconds;
#   2. runs dnsperf at LOAD_PERCENT of it for DURATION seconds, and meanwhile
#      - every RELOAD_EVERY s rewrites the zone (new SOA serial and TXT) and sends SIGHUP, then waits for the new serial;
#      - every HEALTH_EVERY s turns one backend's /health from 200 to 404 or back, then waits until the
#        load-balanced name's answer leaves that backend out (or takes it back);
#      - every SAMPLE_EVERY s reads the RSS (/proc) and the GC heap (gslbdns_gc_heap_bytes on /metrics).
# It fails (exit 1) when: a query is lost or answered other than NOERROR; a reload or health change is not
# seen in the answers within its period; the RSS goes above its value at the start of the soak by more than
# RSS_BOUND_MIB; or the GC heap grows: the lowest heap sample of the last quarter of the soak is more than
# HEAP_GROWTH_MIB above the lowest of the first quarter (the lowest samples are those just after a collection,
# so they follow the live heap, not the garbage between collections).
#
# Environment (defaults in brackets):
#   DURATION [600]  MEASURE [10]  LOAD_PERCENT [80]  RELOAD_EVERY [10]  HEALTH_EVERY [5]  SAMPLE_EVERY [2]
#   RSS_BOUND_MIB [64]  HEAP_GROWTH_MIB [8]
#   CLIENTS [10] OUTSTANDING [200]  SERVER_CPU [1] CLIENT_CPU [0]  NICE [0]  KEEP_WORK [0]
#   OURS_DLL []     a built GslbDns.dll to run (skips the build; the test suite passes its own)
#   OURS_PORT METRICS_PORT BACKEND_PORT []  ports (first free from 26353 / 26354 / 26355 when empty)
#   BUILD_DIR [/tmp/gslbdns-bench-build]  SKIP_BUILD [0]  (as the other benches)
set -euo pipefail

SOAK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$SOAK_DIR")
REPO_DIR=$(dirname "$BENCH_DIR")
# shellcheck source=../lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

# The soak's own default first: measure_defaults would otherwise set the benchmarks' 20 s.
DURATION=${DURATION:-600}
measure_defaults
MEASURE=${MEASURE:-10}
LOAD_PERCENT=${LOAD_PERCENT:-80}
RELOAD_EVERY=${RELOAD_EVERY:-10}
HEALTH_EVERY=${HEALTH_EVERY:-5}
SAMPLE_EVERY=${SAMPLE_EVERY:-2}
RSS_BOUND_MIB=${RSS_BOUND_MIB:-64}
HEAP_GROWTH_MIB=${HEAP_GROWTH_MIB:-8}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-build}
LOG_TAG=soak
PROBE_NAME=www.soak.test
START_TIMEOUT=60
ZONE=soak.test
STEADY=127.0.0.71   # the backend that stays healthy
TOGGLED=127.0.0.72  # the backend whose health flips

check_settings DURATION MEASURE LOAD_PERCENT RELOAD_EVERY HEALTH_EVERY RSS_BOUND_MIB HEAP_GROWTH_MIB CLIENTS OUTSTANDING SERVER_CPU CLIENT_CPU
[[ $SAMPLE_EVERY =~ ^[0-9]+(\.[0-9]+)?$ ]] || { log "SAMPLE_EVERY='$SAMPLE_EVERY' is not a number"; exit 2; }
(( DURATION >= 4 && MEASURE > 0 && RELOAD_EVERY > 0 && HEALTH_EVERY > 0 )) || { log "DURATION must be >= 4, MEASURE and the periods > 0"; exit 2; }
check_cores
require_tools dotnet dnsperf kdig taskset ss python3 curl

bench_init /tmp/gslbdns-soak.XXXXXX
if [[ -n ${OURS_DLL:-} ]]; then
  [[ -f $OURS_DLL ]] || die "OURS_DLL '$OURS_DLL' does not exist"
else
  build_ours
fi

# ------------------------------------------------------------------ setup --
choose_ports OURS_PORT 26353 METRICS_PORT 26354
BACKEND_PORT=${BACKEND_PORT:-$(pick_port 26355)}
mkdir -p "$WORK/zones" "$WORK/state" "$WORK/steady" "$WORK/toggled" "$WORK/no-geo-data"
SERIAL=1
write_zone() { # the zone with serial SERIAL, written to a temp file and renamed (a reload never reads half a file)
  cat >"$WORK/zones/.$ZONE.zone.tmp" <<ZONE
\$ORIGIN $ZONE.
\$TTL 300
@     IN SOA ns1 hostmaster $SERIAL 3600 600 86400 60
      IN NS  ns1
      IN MX  10 mail
      IN TXT "reload $SERIAL"
ns1   IN A   127.0.0.1
mail  IN A   192.0.2.25
www   IN A   192.0.2.10
      IN A   192.0.2.11
      IN AAAA 2001:db8::10
ftp   IN CNAME www
ZONE
  mv "$WORK/zones/.$ZONE.zone.tmp" "$WORK/zones/$ZONE.zone"
}
write_zone
cat >"$WORK/zones/$ZONE.gslb.json" <<JSON
{
  "dataCenters": { "one": { "latitude": 50.1, "longitude": 8.7, "region": "eu" } },
  "regions": { "eu": { "latitude": 50.1, "longitude": 8.7 } },
  "services": {
    "lb": {
      "ttl": 30,
      "policy": [ { "type": "healthy" }, { "type": "multivalue", "count": 8 } ],
      "check": { "type": "http", "port": $BACKEND_PORT, "path": "/health", "interval": "250ms", "timeout": "200ms", "failureThreshold": 1, "successThreshold": 1 },
      "endpoints": [ { "dataCenter": "one", "address": "$STEADY" }, { "dataCenter": "one", "address": "$TOGGLED" } ]
    }
  }
}
JSON
echo ok >"$WORK/steady/health"
echo ok >"$WORK/toggled/health"
for backend in steady:$STEADY toggled:$TOGGLED; do
  nice -n "$NICE" python3 -m http.server --bind "${backend#*:}" --directory "$WORK/${backend%%:*}" "$BACKEND_PORT" >"$WORK/${backend%%:*}.log" 2>&1 &
  CHILDREN+=("$!")
done
cat >"$WORK/queries.txt" <<Q
www.$ZONE A
www.$ZONE AAAA
lb.$ZONE A
$ZONE SOA
$ZONE MX
ftp.$ZONE A
Q

log "starting GslbDns on $ADDR:$OURS_PORT (embedded mode, prober on, metrics on 127.0.0.1:$METRICS_PORT)"
start_server ours "$OURS_PORT" dotnet "$OURS_DLL" serve --zones "$WORK/zones" --dns "$ADDR:$OURS_PORT" \
  --metrics "127.0.0.1:$METRICS_PORT" --udp-threads 1 --no-watch --api off --state "$WORK/state" --geo-data "$WORK/no-geo-data"
SERVER=${PID[ours]}

ask() { kdig @"$ADDR" -p "$OURS_PORT" +norec +time=1 +retry=2 "$@" 2>/dev/null; }
lb_answer() { ask "lb.$ZONE" A +short | sort | tr '\n' ' '; }
wait_for() { # seconds description command...: polls the command every 0.1 s until it succeeds
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  until "$@"; do
    (( $(date +%s%N) < deadline )) || { log "not seen within ${seconds}s: $what"; return 1; }
    sleep 0.1
  done
}
serial_is() { [[ $(ask "$ZONE" SOA +short | awk '{print $3}') == "$1" ]]; }
has_both() { [[ $(lb_answer) == "$STEADY $TOGGLED " ]]; }
steady_only() { [[ $(lb_answer) == "$STEADY " ]]; }
wait_for 30 "both backends healthy in the answer for lb.$ZONE" has_both || die "the prober never saw both backends healthy"

metric() { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" '$1 == m { printf "%d\n", $2; exit }'; }

# ---------------------------------------------------------- maximum rate --
DNSPERF_ARGS=(-s "$ADDR" -p "$OURS_PORT" -d "$WORK/queries.txt" -c "$CLIENTS" -q "$OUTSTANDING")
log "measuring the maximum: unbounded dnsperf for ${MEASURE}s"
run_dnsperf "$WORK/max.log" "${DNSPERF_ARGS[@]}" -l "$MEASURE" || die "dnsperf failed: $(tail -5 "$WORK/max.log")"
MAX_QPS=$(stat_of "$WORK/max.log" "Queries per second:")
MAX_QPS=${MAX_QPS%.*}
(( MAX_QPS > 0 )) || die "no answers while measuring the maximum"
TARGET_QPS=$(( MAX_QPS * LOAD_PERCENT / 100 ))
log "maximum $MAX_QPS qps; soaking at $TARGET_QPS qps ($LOAD_PERCENT%) for ${DURATION}s"

# ------------------------------------------------------------------- soak --
RSS0=$(rss_kib "$SERVER")
HEAP0=$(metric gslbdns_gc_heap_bytes)
[[ -n $HEAP0 ]] || die "no gslbdns_gc_heap_bytes on /metrics"
: >"$WORK/samples.tsv"
: >"$WORK/churn.log"

churn() { # reloads and health flips until the soak's end; every one checked in the answers; exit status = failures
  local start now next_reload next_health failures=0 down=0
  start=$(date +%s)
  next_reload=$(( start + RELOAD_EVERY ))
  next_health=$(( start + HEALTH_EVERY ))
  while now=$(date +%s); (( now < start + DURATION )); do
    if (( now >= next_reload )); then
      SERIAL=$(( SERIAL + 1 ))
      write_zone
      kill -HUP "$SERVER"
      if wait_for $(( RELOAD_EVERY < 5 ? RELOAD_EVERY : 5 )) "serial $SERIAL" serial_is "$SERIAL"; then
        echo "reload $SERIAL seen" >>"$WORK/churn.log"
      else
        echo "reload $SERIAL NOT seen" >>"$WORK/churn.log"; failures=$(( failures + 1 ))
      fi
      next_reload=$(( next_reload + RELOAD_EVERY ))
    fi
    if (( now >= next_health )); then
      if (( down )); then
        echo ok >"$WORK/toggled/health"; down=0
        if wait_for $(( HEALTH_EVERY < 4 ? HEALTH_EVERY : 4 )) "$TOGGLED back" has_both; then echo "health up seen" >>"$WORK/churn.log"
        else echo "health up NOT seen: $(lb_answer)" >>"$WORK/churn.log"; failures=$(( failures + 1 )); fi
      else
        rm -f "$WORK/toggled/health"; down=1
        if wait_for $(( HEALTH_EVERY < 4 ? HEALTH_EVERY : 4 )) "$TOGGLED out" steady_only; then echo "health down seen" >>"$WORK/churn.log"
        else echo "health down NOT seen: $(lb_answer)" >>"$WORK/churn.log"; failures=$(( failures + 1 )); fi
      fi
      next_health=$(( next_health + HEALTH_EVERY ))
    fi
    sleep 0.1
  done
  return $(( failures > 0 ))
}
sample() { # RSS and GC heap every SAMPLE_EVERY s until stopped: "seconds rss-kib heap-bytes"
  local start
  start=$(date +%s%N)
  while kill -0 "$SERVER" 2>/dev/null; do
    printf '%s %s %s\n' "$(( ($(date +%s%N) - start) / 1000000 ))" "$(rss_kib "$SERVER")" "$(metric gslbdns_gc_heap_bytes)" >>"$WORK/samples.tsv"
    sleep "$SAMPLE_EVERY"
  done
}

sample & SAMPLER=$!; CHILDREN+=("$SAMPLER")
churn & CHURN=$!; CHILDREN+=("$CHURN")
dnsperf_rc=0
run_dnsperf "$WORK/soak.log" "${DNSPERF_ARGS[@]}" -Q "$TARGET_QPS" -l "$DURATION" -S 10 || dnsperf_rc=$?
churn_rc=0
wait "$CHURN" || churn_rc=$?
forget "$CHURN"
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
forget "$SAMPLER"
kill -0 "$SERVER" 2>/dev/null || die "the server exited during the soak: $(tail -20 "$WORK/ours.log")"

# ---------------------------------------------------------------- verdict --
failed=()
(( dnsperf_rc == 0 )) || failed+=("dnsperf exited with $dnsperf_rc")
sent=$(stat_of "$WORK/soak.log" "Queries sent:")
completed=$(stat_of "$WORK/soak.log" "Queries completed:")
lost=$(stat_of "$WORK/soak.log" "Queries lost:")
qps=$(stat_of "$WORK/soak.log" "Queries per second:")
codes=$(sed -n 's/^ *Response codes: *//p' "$WORK/soak.log")
[[ ${lost:-x} == 0 ]] || failed+=("$lost queries lost")
[[ $codes =~ ^NOERROR\ [0-9]+\ \(100\.00%\)$ ]] || failed+=("answers other than NOERROR: $codes")
(( churn_rc == 0 )) || failed+=("churn not seen: $(grep -c 'NOT seen' "$WORK/churn.log") of $(wc -l <"$WORK/churn.log") ($(grep 'NOT seen' "$WORK/churn.log" | head -3 | tr '\n' ';'))")
reloads=$(grep -c '^reload .* seen$' "$WORK/churn.log" || true)
flips=$(grep -c '^health .* seen$' "$WORK/churn.log" || true)
(( reloads > 0 || DURATION < RELOAD_EVERY )) || failed+=("no reload happened")
(( flips > 0 || DURATION < HEALTH_EVERY )) || failed+=("no health change happened")

samples=$(grep -c . "$WORK/samples.tsv" || true)
(( samples >= 8 )) || failed+=("only $samples memory samples")
read -r rss_peak heap_first heap_last < <(awk '
  { t[NR] = $1; rss[NR] = $2; heap[NR] = $3 }
  END {
    q = int(NR / 4); if (q < 1) q = 1
    peak = 0; first = -1; last = -1
    for (i = 1; i <= NR; i++) {
      if (rss[i] > peak) peak = rss[i]
      if (i <= q && (first < 0 || heap[i] < first)) first = heap[i]
      if (i > NR - q && (last < 0 || heap[i] < last)) last = heap[i]
    }
    print peak, first, last
  }' "$WORK/samples.tsv")
rss_growth_kib=$(( rss_peak - RSS0 ))
heap_growth=$(( heap_last - heap_first ))
(( rss_growth_kib <= RSS_BOUND_MIB * 1024 )) || failed+=("RSS peaked at $(( rss_peak / 1024 )) MiB, $(( rss_growth_kib / 1024 )) MiB above the $(( RSS0 / 1024 )) MiB at the start (bound $RSS_BOUND_MIB MiB)")
(( heap_growth <= HEAP_GROWTH_MIB * 1048576 )) || failed+=("GC heap grew: lowest $(( heap_first / 1024 )) KiB in the first quarter, $(( heap_last / 1024 )) KiB in the last (bound $HEAP_GROWTH_MIB MiB)")

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "soak: ${DURATION}s at $TARGET_QPS qps ($LOAD_PERCENT% of the measured maximum $MAX_QPS qps over ${MEASURE}s), reload every ${RELOAD_EVERY}s, health flip every ${HEALTH_EVERY}s"
echo "soak: dnsperf sent $sent, completed $completed, lost $lost, $qps qps; response codes: $codes"
echo "soak: $reloads reloads and $flips health changes seen in the answers ($(grep -c 'NOT seen' "$WORK/churn.log" || true) not seen)"
echo "soak: RSS $(( RSS0 / 1024 )) MiB at the start, peak $(( rss_peak / 1024 )) MiB (+$(( rss_growth_kib / 1024 )) MiB, bound +$RSS_BOUND_MIB MiB); GC heap lowest $(mib "$heap_first") MiB in the first quarter, $(mib "$heap_last") MiB in the last (growth bound $HEAP_GROWTH_MIB MiB); $samples samples; heap at start $(mib "$HEAP0") MiB"
awk -v a="$qps" -v t="$TARGET_QPS" 'BEGIN { exit !(a < 0.9 * t) }' \
  && log "warning: dnsperf reached $qps of the $TARGET_QPS qps asked for (a busy machine); the load was lighter than meant"
if (( ${#failed[@]} )); then
  for f in "${failed[@]}"; do log "FAILED: $f"; done
  KEEP_WORK=1
  exit 1
fi
echo "soak: ok"
