#!/usr/bin/env bash
# bench/all.sh: every workload against its anchor, in one run on this machine, pinned as the other benchmarks are
# (every server on SERVER_CPU, dnsperf on CLIENT_CPU), so the ratios come from one run. A benchmark, not a test: it
# fails only when a server does not build, start or answer as expected. See bench/README.md ("bench/all.sh").
#
#   bash bench/all.sh                                  # ~15 minutes with the defaults
#   WORKLOADS="static geo" ANCHORS=gdnsd bash bench/all.sh
#
# Workloads (WORKLOADS, space-separated) and their anchors:
#   static    www.bench.test A (two records)                 Knot, NSD, gdnsd, PowerDNS
#   cname     c1 -> c2 -> c3 -> www (a CNAME chain)          Knot, NSD, gdnsd, PowerDNS
#   nxdomain  1000 distinct names not in the zone            Knot, NSD, gdnsd, PowerDNS
#   geo       geo.bench.test A with ECS over SUBNETS /24s    gdnsd geoip (same GeoLite2 database, same data centers),
#                                                            PowerDNS LUA record over the same database and data centers
#   flood     the same with FLOOD distinct random /24s       gdnsd geoip, PowerDNS LUA
#   weighted  wrr.bench.test A, one of four by weight        gdnsd weighted
#   multivalue mv.bench.test A, all four healthy             gdnsd multifo
#   failover  fo.bench.test A, primary then secondary        gdnsd simplefo
#
# Environment (defaults in brackets):
#   WORKLOADS [static cname nxdomain geo flood weighted multivalue failover]
#   ANCHORS [knot nsd gdnsd pdns]  anchors to run (a workload whose anchors are all left out runs GslbDns alone);
#                              pdns = PowerDNS 4.7 with its packet cache off (the fair anchor: GslbDns caches no
#                              answers), pdns-cache = the same with Debian's default packet cache (cache-ttl=20).
#                              Either installs Debian's pdns-server, pdns-backend-bind, pdns-backend-geoip when missing.
#   DURATION [10] WARMUP [10]  seconds of each measured run / of unmeasured load before it (JIT tiering)
#   LAT_DURATION [5]           seconds of the latency run at LAT_SHARE % of the rate the measured run reached
#   LAT_SHARE [50]             percent of the measured maximum for the latency run (dnsperf -Q)
#   CLIENTS [10] OUTSTANDING [200]  dnsperf -c / -q
#   SUBNETS [200] FLOOD [500000] SEED [7]  client subnets of the geo workload / distinct random /24s of the flood
#   OURS_ARGS []               extra arguments for gslbdns serve, e.g. "--udp-batch 0" for the portable UDP path
#   GEOIP [.cache/geoip/GeoLite2-City.mmdb]  the City database GslbDns and gdnsd read
#   SERVER_CPU [1] CLIENT_CPU [0] NICE [0] KEEP_WORK [0] SKIP_BUILD [0]
#   BUILD_DIR [/tmp/gslbdns-bench-all-build]  private --artifacts-path for the Release build
#   OURS_DLL []                a built GslbDns.dll to run instead (skips the build; the test suite passes its own)
#   OUT_PREFIX [all]           bench/out/OUT_PREFIX-YYYYMMDD-HHMMSS.{md,tsv,txt}
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
# shellcheck source=lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
measure_defaults   # CLIENTS OUTSTANDING MAX_QPS ROUNDS SERVER_CPU CLIENT_CPU SKIP_BUILD KEEP_WORK NICE ADDR
WORKLOADS=${WORKLOADS:-static cname nxdomain geo flood weighted multivalue failover}
ANCHORS=${ANCHORS:-knot nsd gdnsd pdns}
LAT_DURATION=${LAT_DURATION:-5}
LAT_SHARE=${LAT_SHARE:-50}
SUBNETS=${SUBNETS:-200}
FLOOD=${FLOOD:-500000}
SEED=${SEED:-7}
OURS_ARGS=${OURS_ARGS:-}
OUT_PREFIX=${OUT_PREFIX:-all}
GEOIP=${GEOIP:-$REPO_DIR/.cache/geoip/GeoLite2-City.mmdb}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-all-build}
OUT_DIR=$BENCH_DIR/out
ORIGIN=bench.test
LOG_TAG=bench-all
PROBE_NAME=www.$ORIGIN
START_TIMEOUT=120   # gdnsd builds its geo map from the whole database at start-up

check_settings DURATION WARMUP LAT_DURATION LAT_SHARE CLIENTS OUTSTANDING SUBNETS FLOOD SEED SERVER_CPU CLIENT_CPU
(( DURATION > 0 && LAT_DURATION > 0 && CLIENTS > 0 && SUBNETS > 0 && FLOOD > 0 && LAT_SHARE > 0 && LAT_SHARE <= 100 )) \
  || { log "DURATION, LAT_DURATION, CLIENTS, SUBNETS, FLOOD must be > 0 and LAT_SHARE 1..100"; exit 2; }
for w in $WORKLOADS; do
  [[ " static cname nxdomain geo flood weighted multivalue failover " == *" $w "* ]] || { log "unknown workload '$w'"; exit 2; }
done
for a in $ANCHORS; do
  [[ " knot nsd gdnsd pdns pdns-cache " == *" $a "* ]] || { log "unknown anchor '$a'"; exit 2; }
done
check_cores
tools=(dotnet dnsperf kdig python3 taskset ss)
[[ " $ANCHORS " == *" knot "* ]] && tools+=(knotd knotc)
[[ " $ANCHORS " == *" nsd "* ]] && tools+=(nsd)
[[ " $ANCHORS " == *" gdnsd "* ]] && tools+=(gdnsd)
PDNS_MODULES=/usr/lib/x86_64-linux-gnu/pdns
if [[ " $ANCHORS " == *" pdns"* ]]; then
  # Not in scripts/install-deps.sh (the test command does not need it): installed here, on first use.
  if ! command -v pdns_server >/dev/null || [[ ! -f $PDNS_MODULES/libbindbackend.so || ! -f $PDNS_MODULES/libgeoipbackend.so ]]; then
    log "installing PowerDNS (Debian pdns-server, pdns-backend-bind, pdns-backend-geoip)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pdns-server pdns-backend-bind pdns-backend-geoip \
      >/tmp/gslbdns-bench-pdns-apt.log 2>&1 || { tail -5 /tmp/gslbdns-bench-pdns-apt.log >&2; log "could not install PowerDNS"; exit 2; }
  fi
  tools+=(pdns_server pdns_control)
fi
require_tools "${tools[@]}"
[[ -s $GEOIP ]] || { log "no GeoIP database at $GEOIP: run 'bash scripts/install-deps.sh' first"; exit 2; }
GEOIP=$(cd "$(dirname "$GEOIP")" && pwd)/$(basename "$GEOIP")

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
bench_init /tmp/gslbdns-bench-all.XXXXXX   # WORK, DETAILS, traps that stop every child on exit
if [[ -n ${OURS_DLL:-} ]]; then
  [[ -f $OURS_DLL ]] || die "OURS_DLL '$OURS_DLL' does not exist"
else
  build_ours   # OURS_DLL
fi

# ------------------------------------------------------------ configs + queries --
mkdir -p "$OUT_DIR" "$WORK/geo-data-empty"
OURS_PORT=$(pick_port 25553)
KNOT_PORT=$(pick_port $((OURS_PORT + 1)))
NSD_PORT=$(pick_port $((KNOT_PORT + 1)))
GDNSD_PORT=$(pick_port $((NSD_PORT + 1)))
PDNS_PORT=$(pick_port $((GDNSD_PORT + 1)))
PDNS_CACHE_PORT=$(pick_port $((PDNS_PORT + 1)))
python3 "$BENCH_DIR/all/all_configs.py" --dcs "$BENCH_DIR/geo/datacenters.tsv" --geoip "$GEOIP" --work "$WORK" \
  --addr "$ADDR" --knot-port "$KNOT_PORT" --nsd-port "$NSD_PORT" --gdnsd-port "$GDNSD_PORT" \
  --pdns-port "$PDNS_PORT" --pdns-cache-port "$PDNS_CACHE_PORT" || die "could not write the configs"
Q=$WORK/queries
if [[ " $WORKLOADS " == *" geo "* ]]; then
  log "drawing $SUBNETS client subnets (seed $SEED)"
  SUBNET_NOTE=$(python3 "$BENCH_DIR/geo/geo_bench.py" subnets --dcs "$BENCH_DIR/geo/datacenters.tsv" --geoip "$GEOIP" \
    --count "$SUBNETS" --edge 0 --ties 0 --per-country 25 --seed "$SEED" --out "$WORK/subnets.tsv") || die "could not draw subnets"
  python3 "$BENCH_DIR/geo/geo_bench.py" packets --subnets "$WORK/subnets.tsv" --name "geo.$ORIGIN" --out "$Q/geo.bin" >/dev/null \
    || die "could not write the geo queries"
fi
if [[ " $WORKLOADS " == *" flood "* ]]; then
  log "writing $FLOOD random-subnet flood queries"
  python3 "$BENCH_DIR/geo/geo_bench.py" flood --name "geo.$ORIGIN" --count "$FLOOD" --seed "$SEED" --out "$Q/flood.bin" >/dev/null \
    || die "could not write the flood queries"
fi

declare -A QFILE=([static]=static.txt [cname]=cname.txt [nxdomain]=nxdomain.txt [geo]=geo.bin [flood]=flood.bin
  [weighted]=wrr.txt [multivalue]=mv.txt [failover]=fo.txt)
declare -A PROBE=([static]="www.$ORIGIN NOERROR" [cname]="c1.$ORIGIN NOERROR" [nxdomain]="nx0.$ORIGIN NXDOMAIN"
  [geo]="geo.$ORIGIN NOERROR" [flood]="geo.$ORIGIN NOERROR" [weighted]="wrr.$ORIGIN NOERROR"
  [multivalue]="mv.$ORIGIN NOERROR" [failover]="fo.$ORIGIN NOERROR")
anchors_of() { # workload: the anchors run for it
  local a
  for a in $ANCHORS; do
    case $1 in
      static|cname|nxdomain) echo "$a" ;;
      geo|flood) if [[ $a == gdnsd || $a == pdns* ]]; then echo "$a"; fi ;;
      *) if [[ $a == gdnsd ]]; then echo "$a"; fi ;;
    esac
  done
}

# ---------------------------------------------------------------- servers --
declare -A PDNS_PORT_OF=([pdns]=$PDNS_PORT [pdns-cache]=$PDNS_CACHE_PORT)
NEEDED=" "
for w in $WORKLOADS; do for a in $(anchors_of "$w"); do NEEDED+="$a "; done; done
if [[ $NEEDED == *" gdnsd "* ]]; then
  gdnsd -c "$WORK/gdnsd" checkconf >"$WORK/gdnsd-checkconf.log" 2>&1 \
    || { cat "$WORK/gdnsd-checkconf.log" >&2; die "gdnsd rejects $WORK/gdnsd/config"; }
  log "starting gdnsd on $ADDR:$GDNSD_PORT"
  start_server gdnsd "$GDNSD_PORT" gdnsd -c "$WORK/gdnsd" start
fi
if [[ $NEEDED == *" knot "* ]]; then
  knotc -c "$WORK/knot/knot.conf" conf-check >"$WORK/knot-check.log" 2>&1 \
    || { cat "$WORK/knot-check.log" >&2; die "Knot rejects its config"; }
  log "starting Knot on $ADDR:$KNOT_PORT"
  start_server knot "$KNOT_PORT" knotd -c "$WORK/knot/knot.conf"
fi
if [[ $NEEDED == *" nsd "* ]]; then
  nsd-checkconf "$WORK/nsd/nsd.conf" >"$WORK/nsd-check.log" 2>&1 || { cat "$WORK/nsd-check.log" >&2; die "NSD rejects its config"; }
  log "starting NSD on $ADDR:$NSD_PORT"
  start_server nsd "$NSD_PORT" nsd -d -c "$WORK/nsd/nsd.conf"
fi
for p in pdns pdns-cache; do
  [[ $NEEDED == *" $p "* ]] || continue
  log "starting PowerDNS ($p) on $ADDR:${PDNS_PORT_OF[$p]}"
  start_server "$p" "${PDNS_PORT_OF[$p]}" pdns_server --config-dir="$WORK/$p"
  detail "== $p: $(grep -E '^(cache-ttl|query-cache-ttl|receiver-threads|distributor-threads)=' "$WORK/$p/pdns.conf" | tr '\n' ' ')"
done
log "starting GslbDns on $ADDR:$OURS_PORT"
# shellcheck disable=SC2086 # OURS_ARGS is a list of words
start_server ours "$OURS_PORT" dotnet "$OURS_DLL" serve --zones "$WORK/ours/zones" --dns "$ADDR:$OURS_PORT" --udp-threads 1 \
  --metrics off --api off --no-watch --no-prober --geoip "$GEOIP" --geo-data "$WORK/geo-data-empty" $OURS_ARGS
for _ in $(seq $(( START_TIMEOUT * 10 ))); do
  grep -q "Geo decision trees built" "$WORK/ours.log" && break
  sleep 0.1
done
grep -q "Geo decision trees built" "$WORK/ours.log" || die "GslbDns built no geo trees within $START_TIMEOUT s"
detail "== GslbDns: $(grep -o 'Geo decision trees built[^"]*' "$WORK/ours.log" | head -1)"

# --------------------------------------------------------- answers as meant --
for w in $WORKLOADS; do
  read -r name want <<<"${PROBE[$w]}"
  for s in ours $(anchors_of "$w"); do
    got=$(kdig @"$ADDR" -p "${PORT[$s]}" +norec +time=2 +retry=2 "$name" A 2>&1)
    grep -q "status: $want" <<<"$got" || { echo "$got" >&2; die "$s answers $name A without $want"; }
    detail "== $w: $s answers $name A:"
    detail "$(sed -n '/ANSWER SECTION/,/^$/p' <<<"$got" | sed 's/^/    /')"
  done
done

# The anchors of the geo workload must answer it as GslbDns does (PowerDNS's LUA record is our own code in its Lua):
# every subnet asked of both, each answer held against the haversine-nearest data center.
GEO_SAME=()
if [[ " $WORKLOADS " == *" geo "* ]]; then
  for s in $(anchors_of geo); do
    [[ $s == pdns* ]] || continue
    same=$(python3 "$BENCH_DIR/geo/geo_bench.py" same --dcs "$BENCH_DIR/geo/datacenters.tsv" --subnets "$WORK/subnets.tsv" \
      --name "geo.$ORIGIN" --addr "$ADDR" --ours-port "$OURS_PORT" --other "$s" --other-port "${PORT[$s]}") \
      || { echo "$same" >&2; die "$s does not answer the geo workload as GslbDns does"; }
    log "$(head -1 <<<"$same")"
    detail "== geo answers: $same"
    GEO_SAME+=("$(head -1 <<<"$same")")
  done
fi

pdns_cache_counters() { # name: PowerDNS's packet cache hits and misses so far
  echo "packetcache-hit $(pdns_control --config-dir="$WORK/$1" show packetcache-hit 2>/dev/null)" \
    "packetcache-miss $(pdns_control --config-dir="$WORK/$1" show packetcache-miss 2>/dev/null)"
}

# ---------------------------------------------------------------- measure --
all_dnsperf() { # port seconds logfile workload [extra dnsperf args]
  local port=$1 seconds=$2 out=$3 w=$4; shift 4
  local args=(-s "$ADDR" -p "$port" -l "$seconds" -d "$Q/${QFILE[$w]}" -c "$CLIENTS" -q "$OUTSTANDING")
  [[ ${QFILE[$w]} == *.bin ]] && args+=(-B)
  run_dnsperf "$out" "${args[@]}" "$@"
}
latency_run() { # name tag workload: p50/p99 (us) at LAT_SHARE % of the rate just measured, from dnsperf -v's per-reply latencies
  local name=$1 tag=$2 w=$3 rate
  rate=$(awk -v q="${R[$tag.qps]}" -v s="$LAT_SHARE" 'BEGIN { printf "%d", q * s / 100 }')
  (( rate > 0 )) || rate=1
  log "$name $w: latency at $rate q/s (${LAT_SHARE}% of the maximum) for ${LAT_DURATION}s"
  all_dnsperf "${PORT[$name]}" "$LAT_DURATION" "$WORK/$tag.latency.log" "$w" -Q "$rate" -v || die "latency run against $name failed"
  read -r R[$tag.p50] R[$tag.p99] R[$tag.latn] < <(awk '$1 == ">" { print $NF * 1e6 }' "$WORK/$tag.latency.log" | sort -n \
    | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan nan 0"; exit } i50 = int(NR * 0.50); i99 = int(NR * 0.99);
        if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; printf "%.0f %.0f %d\n", v[i50], v[i99], NR }')
  R[$tag.rate]=$rate
  detail "== $name $w latency run: -Q $rate -l $LAT_DURATION: ${R[$tag.latn]} replies, p50 ${R[$tag.p50]} us, p99 ${R[$tag.p99]} us"
  detail "$(sed -n '/Statistics:/,$p' "$WORK/$tag.latency.log" | sed 's/^/    /')"
}

TSV_ROWS=()
MD_ROWS=()
for w in $WORKLOADS; do
  anchors=$(anchors_of "$w")
  for s in $anchors ours; do
    tag=$s.$w
    [[ $s == pdns* ]] && detail "== $s before $w: $(pdns_cache_counters "$s")"
    measure_run "$s" "$s $w" "$tag" all_dnsperf "$w"
    [[ $s == pdns* ]] && detail "== $s after $w's measured run: $(pdns_cache_counters "$s")"
    R[$tag.lost]=$M_LOST
    R[$tag.load]=$(cut -d' ' -f1 /proc/loadavg)
    latency_run "$s" "$tag" "$w"
    R[$tag.rss]=$(rss_kib "${PID[$s]}")
  done
  for s in $anchors ours; do
    tag=$s.$w
    row=$(awk -v w="$w" -v s="$s" -v q="${R[$tag.qps]}" -v u="${R[$tag.us]}" -v p5="${R[$tag.p50]}" -v p9="${R[$tag.p99]}" \
      -v r="${R[$tag.rss]}" -v l="${R[$tag.lost]}" -v ld="${R[$tag.load]}" -v rate="${R[$tag.rate]}" \
      'BEGIN { printf "%s\t%s\t%.0f\t%.2f\t%s\t%s\t%s\t%.1f\t%s\t%s", w, s, q, u, rate, p5, p9, r / 1024, l, ld }')
    TSV_ROWS+=("$row")
  done
  for a in $anchors; do
    MD_ROWS+=("$(awk -v w="$w" -v a="$a" -v uo="${R[ours.$w.us]}" -v ua="${R[$a.$w.us]}" -v qo="${R[ours.$w.qps]}" -v qa="${R[$a.$w.qps]}" \
      -v po="${R[ours.$w.p50]}" -v pa="${R[$a.$w.p50]}" -v o9="${R[ours.$w.p99]}" -v a9="${R[$a.$w.p99]}" \
      -v ro="${R[ours.$w.rss]}" -v ra="${R[$a.$w.rss]}" -v ld="${R[ours.$w.load]}" \
      'BEGIN { r = uo / ua; rt = sprintf("**%.2fx**", r)
        if (r < 0.1) rt = sprintf("**%.4fx** (anchor %.0fx ours)", r, 1 / r)   # PowerDNS LUA: two decimals would read 0.01x
        printf "| %s | %s | %.2f | %.2f | %s | %.1fk | %.1fk | %.2fx | %s / %s | %s / %s | %.1f / %.1f | %s |",
        w, a, uo, ua, rt, qo / 1000, qa / 1000, qo / qa, po, pa, o9, a9, ro / 1024, ra / 1024, ld }')")
  done
  if [[ -z $anchors ]]; then
    MD_ROWS+=("$(awk -v w="$w" -v uo="${R[ours.$w.us]}" -v qo="${R[ours.$w.qps]}" -v po="${R[ours.$w.p50]}" -v o9="${R[ours.$w.p99]}" \
      -v ro="${R[ours.$w.rss]}" -v ld="${R[ours.$w.load]}" \
      'BEGIN { printf "| %s | (none) | %.2f | | | %.0fk | | | %s | %s | %.1f | %s |", w, uo, qo / 1000, po, o9, ro / 1024, ld }')")
  fi
done

# ---------------------------------------------------------------- report --
STAMP=$(date +%Y%m%d-%H%M%S)
TSV=$OUT_DIR/$OUT_PREFIX-$STAMP.tsv
MD=$OUT_DIR/$OUT_PREFIX-$STAMP.md
{
  printf 'workload\tserver\tqps\tcpu_us_per_answer\tlatency_rate\tp50_us\tp99_us\trss_mib\tlost\tload1\tcpu_ratio_ours_to_this\tqps_ratio_ours_to_this\trss_ratio_ours_to_this\n'
  for row in "${TSV_ROWS[@]}"; do
    IFS=$'\t' read -r w s _ <<<"$row"
    printf '%s\t%s\n' "$row" "$(awk -v uo="${R[ours.$w.us]}" -v u="${R[$s.$w.us]}" -v qo="${R[ours.$w.qps]}" -v q="${R[$s.$w.qps]}" \
      -v ro="${R[ours.$w.rss]}" -v r="${R[$s.$w.rss]}" 'BEGIN { printf "%.3f\t%.3f\t%.3f", uo / u, qo / q, ro / r }')"
  done
} >"$TSV"
{
  echo "# GslbDns against its anchors, one run"
  echo
  echo "$(run_facts "load at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)")"
  echo
  echo "$(client_versions); servers on core $SERVER_CPU (every thread), dnsperf on core $CLIENT_CPU; GslbDns --udp-threads 1 ${OURS_ARGS}; nice $NICE"
  echo "each workload: dnsperf -c $CLIENTS -q $OUTSTANDING, ${WARMUP}s warm-up, ${DURATION}s measured unbounded; then ${LAT_DURATION}s at ${LAT_SHARE}% of the rate reached (-Q) for latency"
  [[ -n ${SUBNET_NOTE:-} ]] && echo "geo: $SUBNET_NOTE"
  [[ " $WORKLOADS " == *" flood "* ]] && echo "flood: $FLOOD distinct random /24 ECS subnets, cycled"
  for line in "${GEO_SAME[@]}"; do echo "geo answers: $line"; done
  [[ $NEEDED == *" pdns"* ]] && echo "PowerDNS $(pdns_server --version 2>&1 | grep -o 'Server [0-9.]*' | head -1 | cut -d' ' -f2): bind backend, geo as a LUA record (haversine over the geoip backend's latlon()), one receiver and one distributor thread; pdns: packet cache off (cache-ttl=0, the fair anchor), pdns-cache: cache-ttl=20 (Debian's default)"
  echo
  echo "| workload | anchor | GslbDns us/answer | anchor us/answer | CPU ratio | GslbDns q/s | anchor q/s | q/s ratio | p50 us (ours / anchor) | p99 us (ours / anchor) | RSS MiB (ours / anchor) | load1 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${MD_ROWS[@]}"
  echo
  echo "CPU us/answer: the server's utime+stime over the measured run / answers dnsperf counted (lower is better; rank by it)."
  echo "Latency: dnsperf -v per-reply latencies at ${LAT_SHARE}% of the rate that server reached. RSS after the latency run."
  echo "Only the ratios mean anything on a shared machine: every figure of a row comes from the same run."
} >"$MD"
cp "$DETAILS" "${MD%.md}.txt"
cat "$MD"
log "written to ${MD#"$REPO_DIR"/}, ${TSV#"$REPO_DIR"/} and ${MD%.md}.txt (details)"
