#!/usr/bin/env bash
# bench/dnsperf-vs-knot.sh: GslbDns against Knot DNS under dnsperf, same zone,
# same single core. A benchmark, not a test: it prints figures and writes them to
# bench/out/; it fails only when a server does not start, answers differently
# from the other, or answers nothing. See bench/README.md for how to read it.
#
#   bash bench/dnsperf-vs-knot.sh                  # defaults: 15 s warm-up, 20 s measured
#   DURATION=60 ROUNDS=3 bash bench/dnsperf-vs-knot.sh
#
# Environment (defaults in brackets):
#   DURATION [20]      seconds of each measured dnsperf run (-l)
#   WARMUP [15]        seconds of unmeasured load before each measured run (JIT tiering)
#   CLIENTS [10]       dnsperf clients = UDP sockets (-c)
#   OUTSTANDING [200]  dnsperf queries in flight (-q)
#   MAX_QPS []         dnsperf -Q rate cap; empty = unbounded
#   DNSPERF_THREADS [1] dnsperf threads (-T); all of them run on CLIENT_CPU
#   ROUNDS [1]         measured pairs; rounds alternate which server goes first
#   QUERY_FILE [bench/queries/static-a.txt]  dnsperf data file ("name TYPE" lines)
#   SERVER_CPU [1] CLIENT_CPU [0]   cores for the servers and for dnsperf
#   OURS_PORT, KNOT_PORT [first free from 25353 / 25354]
#   BUILD_DIR [/tmp/gslbdns-bench-build]  private --artifacts-path for the Release build
#   SKIP_BUILD [0]     1 = reuse the DLL already in BUILD_DIR
#   KEEP_WORK [0]      1 = keep the temp dir (configs, server logs, dnsperf output)
#   NICE [0]           nice value for both servers and dnsperf (e.g. -10 on a busy machine)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
# shellcheck source=lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

measure_defaults   # DURATION WARMUP CLIENTS OUTSTANDING MAX_QPS ROUNDS SERVER_CPU CLIENT_CPU SKIP_BUILD KEEP_WORK NICE ADDR
DNSPERF_THREADS=${DNSPERF_THREADS:-1}
QUERY_FILE=${QUERY_FILE:-$BENCH_DIR/queries/static-a.txt}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-build}
OUT_DIR=$BENCH_DIR/out
LOG_TAG=bench
PROBE_NAME=www.example.com   # wait_answering: asked until it is NOERROR
START_TIMEOUT=60             # seconds

check_settings DURATION WARMUP CLIENTS OUTSTANDING DNSPERF_THREADS ROUNDS SERVER_CPU CLIENT_CPU
(( DURATION > 0 && CLIENTS > 0 && ROUNDS > 0 )) || { log "DURATION, CLIENTS and ROUNDS must be > 0"; exit 2; }
[[ -s $QUERY_FILE ]] || { log "QUERY_FILE '$QUERY_FILE' is missing or empty"; exit 2; }
QUERY_FILE=$(cd "$(dirname "$QUERY_FILE")" && pwd)/$(basename "$QUERY_FILE")
check_cores
require_tools dotnet dnsperf knotd knotc kdig taskset ss

bench_init /tmp/gslbdns-bench.XXXXXX   # WORK, DETAILS, traps that stop every child on exit

answers() { # status line (id removed) and sorted answer section, for comparing servers
  local port=$1 name=$2 type=$3
  kdig @"$ADDR" -p "$port" +norec +time=2 +retry=1 "$name" "$type" +noall +header \
    | sed -n 's/.*status: \([A-Z]*\).*/status \1/p'
  kdig @"$ADDR" -p "$port" +norec +time=2 +retry=1 "$name" "$type" +noall +answer | sed '/^$/d' | tr -s ' \t' ' ' | sort
}

# --------------------------------------------------------------- build ours --
build_ours   # OURS_DLL

# ------------------------------------------------------------ zone + config --
mkdir -p "$WORK/zones" "$WORK/knot/db" "$OUT_DIR"
cp "$BENCH_DIR"/zones/*.zone "$WORK/zones/"
choose_ports OURS_PORT 25353 KNOT_PORT 25354

KNOT_CONF=$WORK/knot/knot.conf
sed -e "s|@RUNDIR@|$WORK/knot|g" -e "s|@ZONEDIR@|$WORK/zones|g" \
    -e "s|@ADDR@|$ADDR|g" -e "s|@PORT@|$KNOT_PORT|g" "$BENCH_DIR/knot.conf.template" >"$KNOT_CONF"
knotc -c "$KNOT_CONF" conf-check >"$WORK/knot/conf-check.log" 2>&1 \
  || { cat "$WORK/knot/conf-check.log" >&2; die "Knot rejects $KNOT_CONF"; }

# ----------------------------------------------------------- start servers --
log "starting Knot ($(knotd --version | head -1)) on $ADDR:$KNOT_PORT"
start_server knot "$KNOT_PORT" knotd -c "$KNOT_CONF"
log "starting GslbDns on $ADDR:$OURS_PORT"
start_server ours "$OURS_PORT" dotnet "$OURS_DLL" serve --zones "$WORK/zones" --dns "$ADDR:$OURS_PORT" \
  --udp-threads 1 --metrics off --api off --no-watch

# ------------------------------------------------------------ same answers --
log "comparing answers for every query in $(basename "$QUERY_FILE")"
mismatch=0
while read -r qname qtype _; do
  [[ -z $qname || $qname == \;* || $qname == \#* ]] && continue
  a=$(answers "$KNOT_PORT" "$qname" "${qtype:-A}")
  b=$(answers "$OURS_PORT" "$qname" "${qtype:-A}")
  if [[ $a != "$b" ]]; then
    mismatch=1
    log "different answers for $qname ${qtype:-A}:"
    diff <(echo "$a") <(echo "$b") | sed 's/^</  knot:/; s/^>/  ours:/' >&2 || true
  elif ! grep -q '^status NOERROR' <<<"$a" || [[ $(wc -l <<<"$a") -lt 2 ]]; then
    mismatch=1
    log "$qname ${qtype:-A}: no NOERROR answer from either server; pick another query"
  else
    detail "== same answer for $qname ${qtype:-A}:"
    detail "$(sed 's/^/    /' <<<"$a")"
  fi
done < <(sort -u "$QUERY_FILE")
(( mismatch == 0 )) || die "the servers do not give the same answers; not measuring"

# ---------------------------------------------------------------- measure --
DNSPERF_ARGS=(-s "$ADDR" -d "$QUERY_FILE" -c "$CLIENTS" -q "$OUTSTANDING" -T "$DNSPERF_THREADS")
[[ -n $MAX_QPS ]] && DNSPERF_ARGS+=(-Q "$MAX_QPS")
knot_dnsperf() { # port seconds logfile
  run_dnsperf "$3" "${DNSPERF_ARGS[@]}" -p "$1" -l "$2"
}

ROW_FMT='%-8s %5s %11s %9s %9s %10s %7s %13s %8s %8s %9s %8s'
declare -a ROWS=()
measure() { # name round
  measure_run "$1" "$1 round $2" "$1.r$2" knot_dnsperf
  ROWS+=("$(result_row "$ROW_FMT" "$1" "$2")")
}

for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(knot ours); else order=(ours knot); fi
  for s in "${order[@]}"; do measure "$s" "$round"; done
done

# ---------------------------------------------------------------- summary --
summary() {
  echo "GslbDns vs Knot DNS: dnsperf over UDP, loopback, one server core each"
  run_facts
  echo "knotd $(knotd --version | awk '{print $NF}')  $(client_versions)  runtime env: $(env | grep -E '^(DOTNET|COMPlus)_' | grep -vE '^DOTNET_(CLI_|NOLOGO|GENERATE_ASPNET)' | tr '\n' ' ' || true)"
  echo "servers on core $SERVER_CPU (every thread), dnsperf on core $CLIENT_CPU; GslbDns --udp-threads 1, Knot udp/tcp/background-workers 1; nice $NICE"
  echo "dnsperf ${DNSPERF_ARGS[*]} -l $DURATION after a ${WARMUP}s warm-up; queries: $(basename "$QUERY_FILE") ($(sort -u "$QUERY_FILE" | grep -cv '^[;#]' || true) distinct)"
  echo
  table_header "$ROW_FMT" server round
  printf '%s\n' "${ROWS[@]}"
  echo
  for round in $(seq "$ROUNDS"); do
    ratio_line "round $round  GslbDns/Knot" "ours.r$round" "knot.r$round"
  done
  echo
  echo "CPU us/answer = server utime+stime over the measured run / answers dnsperf counted (lower is better; the figure to rank by)."
  echo "srv core / cli core = how busy core $SERVER_CPU / core $CLIENT_CPU were (all processes, incl. softirq): srv core near 100% means the"
  echo "server was the bottleneck, cli core near 100% means dnsperf was, and QPS then says little about the server."
}
more_details() {
  echo "== Knot configuration ($KNOT_CONF):"
  sed -e '/^\s*#/d' -e '/^\s*$/d' -e 's/^/    /' "$KNOT_CONF"
}
report_file dnsperf-vs-knot
write_report summary more_details "summary, thread placement, dnsperf output"
