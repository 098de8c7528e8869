#!/usr/bin/env bash
# bench/dnssec/signed-vs-unsigned.sh: what online signing costs. Four servers, same zone, same core, one run:
# GslbDns unsigned (plain queries), GslbDns with --dnssec-zone (DO queries), Knot unsigned (plain queries) and
# Knot with mod-onlinesign (DO queries). A benchmark, not a test: it prints figures and writes them to bench/out/;
# it fails only when a server does not start or a signed server gives no RRSIG.
#
#   bash bench/dnssec/signed-vs-unsigned.sh
#   DURATION=10 WARMUP=10 bash bench/dnssec/signed-vs-unsigned.sh
#
# Environment: as bench/dnsperf-vs-knot.sh (DURATION, WARMUP, CLIENTS, OUTSTANDING, MAX_QPS, ROUNDS, SERVER_CPU,
# CLIENT_CPU, BUILD_DIR, SKIP_BUILD, KEEP_WORK, NICE), plus
#   QUERY_FILE [bench/dnssec/queries.txt]   an existing name and a missing one: answer + compact denial
set -euo pipefail

DNSSEC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$DNSSEC_DIR")
REPO_DIR=$(dirname "$BENCH_DIR")
# shellcheck source=../lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"

measure_defaults
QUERY_FILE=${QUERY_FILE:-$DNSSEC_DIR/queries.txt}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-build}
OUT_DIR=$BENCH_DIR/out
LOG_TAG=bench-dnssec
PROBE_NAME=www.example.com
START_TIMEOUT=60

check_settings DURATION WARMUP CLIENTS OUTSTANDING ROUNDS SERVER_CPU CLIENT_CPU
[[ -s $QUERY_FILE ]] || { log "QUERY_FILE '$QUERY_FILE' is missing or empty"; exit 2; }
check_cores
require_tools dotnet dnsperf knotd knotc kdig taskset ss

bench_init /tmp/gslbdns-bench-dnssec.XXXXXX
build_ours

mkdir -p "$WORK/zones" "$OUT_DIR"
cp "$BENCH_DIR"/zones/example.com.zone "$WORK/zones/"
choose_ports OURS_PORT 26353 OURS_SIGN_PORT 26355
choose_ports KNOT_PORT 26357 KNOT_SIGN_PORT 26359

knot_config() { # name port module-line
  local dir=$WORK/$1
  mkdir -p "$dir/db"
  sed -e "s|@RUNDIR@|$dir|g" -e "s|@ZONEDIR@|$WORK/zones|g" -e "s|@ADDR@|$ADDR|g" -e "s|@PORT@|$2|g" \
      -e "s|@MODULE@|$3|g" "$DNSSEC_DIR/knot-onlinesign.conf.template" >"$dir/knot.conf"
  knotc -c "$dir/knot.conf" conf-check >"$dir/conf-check.log" 2>&1 || { cat "$dir/conf-check.log" >&2; die "Knot rejects $dir/knot.conf"; }
  echo "$dir/knot.conf"
}

log "starting Knot ($(knotd --version | head -1)) unsigned and with mod-onlinesign"
start_server knot "$KNOT_PORT" knotd -c "$(knot_config knot "$KNOT_PORT" "")"
start_server knot-sign "$KNOT_SIGN_PORT" knotd -c "$(knot_config knot-sign "$KNOT_SIGN_PORT" "module: mod-onlinesign")"
log "starting GslbDns unsigned and signed"
start_server ours "$OURS_PORT" dotnet "$OURS_DLL" serve --zones "$WORK/zones" --dns "$ADDR:$OURS_PORT" \
  --udp-threads 1 --metrics off --api off --no-prober --no-watch --state "$WORK/ours-state"
start_server ours-sign "$OURS_SIGN_PORT" dotnet "$OURS_DLL" serve --zones "$WORK/zones" --dns "$ADDR:$OURS_SIGN_PORT" \
  --udp-threads 1 --metrics off --api off --no-prober --no-watch --state "$WORK/ours-sign-state" --dnssec-zone example.com

for s in knot-sign ours-sign; do
  while read -r qname qtype _; do
    [[ -z $qname ]] && continue
    out=$(kdig @"$ADDR" -p "${PORT[$s]}" +norec +dnssec +time=2 "$qname" "$qtype" +noall +answer +authority)
    grep -q RRSIG <<<"$out" || die "$s gives no RRSIG for $qname $qtype:
$out"
    detail "== $s $qname $qtype +dnssec:"
    detail "$(sed 's/^/    /' <<<"$out")"
  done <"$QUERY_FILE"
done

BASE_ARGS=(-s "$ADDR" -d "$QUERY_FILE" -c "$CLIENTS" -q "$OUTSTANDING")
[[ -n $MAX_QPS ]] && BASE_ARGS+=(-Q "$MAX_QPS")
plain_dnsperf() { run_dnsperf "$3" "${BASE_ARGS[@]}" -p "$1" -l "$2"; }
do_dnsperf() { run_dnsperf "$3" "${BASE_ARGS[@]}" -D -p "$1" -l "$2"; }

ROW_FMT='%-10s %-5s %5s %11s %9s %9s %10s %7s %13s %8s %8s %9s %8s'
declare -a ROWS=()
measure() { # server queries-fn round
  measure_run "$1" "$1 round $3" "$1.r$3" "$2"
  ROWS+=("$(result_row "$ROW_FMT" "$1" "$([[ $2 == do_dnsperf ]] && echo DO || echo plain)" "$3")")
}
for round in $(seq "$ROUNDS"); do
  measure ours plain_dnsperf "$round"
  measure ours-sign do_dnsperf "$round"
  measure knot plain_dnsperf "$round"
  measure knot-sign do_dnsperf "$round"
done

summary() {
  echo "Online signing cost: GslbDns and Knot, each unsigned (plain queries) and signed (DO queries), dnsperf over UDP, one server core"
  run_facts
  echo "knotd $(knotd --version | awk '{print $NF}')  $(client_versions)"
  echo "dnsperf ${BASE_ARGS[*]} [-D] -l $DURATION after a ${WARMUP}s warm-up; queries: $(tr '\n' ',' <"$QUERY_FILE")"
  echo
  table_header "$ROW_FMT" server query round
  printf '%s\n' "${ROWS[@]}"
  echo
  for round in $(seq "$ROUNDS"); do
    ratio_line "round $round  GslbDns signed/unsigned" "ours-sign.r$round" "ours.r$round"
    ratio_line "round $round  Knot onlinesign/unsigned" "knot-sign.r$round" "knot.r$round"
    ratio_line "round $round  GslbDns signed/Knot onlinesign" "ours-sign.r$round" "knot-sign.r$round"
  done
  echo
  echo "CPU us/answer = server utime+stime over the measured run / answers dnsperf counted (lower is better)."
}
more_details() { :; }
report_file dnssec-signed-vs-unsigned
write_report summary more_details "summary, thread placement, dnsperf output, signed answers"
