#!/usr/bin/env bash
# bench/scale/scale.sh: GslbDns at scale. Generates a configuration of NAMES load-balanced names over DCS data centers and
# a zone of RECORDS static records, and measures with the server's own code (SnapshotBuilder, HealthStatePublisher,
# QueryEngine) in one process pinned to one core: load time, reload times, memory, the time from a health change to the
# answers, and the cost per answer against 10 names. See bench/README.md ("bench/scale/scale.sh").
#
#   bash bench/scale/scale.sh                      # 100,000 names, 20 data centers, 1,000,000 records
#   NAMES=10000 RECORDS=100000 bash bench/scale/scale.sh
#
# Environment (defaults in brackets):
#   NAMES [100000] DCS [20] RECORDS [1000000]
#   GEOIP [.cache/geoip/GeoLite2-City.mmdb]  mapped as the server maps it (empty: none)
#   HEALTH_ROUNDS [10] COST_QUERIES [2000000] COST_ROUNDS [3]
#   SERVER_CPU [1]   the core the driver is pinned to
#   BUILD_DIR [/tmp/gslbdns-bench-scale-build]  private --artifacts-path; SKIP_BUILD=1 reuses it
#   KEEP_WORK [0]    1 = keep the generated configuration
set -euo pipefail

SCALE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(dirname "$SCALE_DIR")
REPO_DIR=$(dirname "$BENCH_DIR")
NAMES=${NAMES:-100000}
DCS=${DCS:-20}
RECORDS=${RECORDS:-1000000}
GEOIP=${GEOIP-$REPO_DIR/.cache/geoip/GeoLite2-City.mmdb}
HEALTH_ROUNDS=${HEALTH_ROUNDS:-10}
COST_QUERIES=${COST_QUERIES:-2000000}
COST_ROUNDS=${COST_ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-1}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-scale-build}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_WORK=${KEEP_WORK:-0}
OUT_DIR=$BENCH_DIR/out
log() { printf '[bench-scale %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
for v in NAMES DCS RECORDS HEALTH_ROUNDS COST_QUERIES COST_ROUNDS SERVER_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { log "$v='${!v}' is not a whole number"; exit 2; }
done
(( NAMES >= 10 && DCS >= 3 && RECORDS >= 10 )) || { log "NAMES >= 10, DCS >= 3 and RECORDS >= 10"; exit 2; }
[[ -z $GEOIP || -s $GEOIP ]] || { log "no GeoIP database at $GEOIP (GEOIP= runs without one)"; exit 2; }
WORK=$(mktemp -d /tmp/gslbdns-bench-scale.XXXXXX)
trap '[[ $KEEP_WORK == 1 ]] && log "kept $WORK" || rm -rf "$WORK"' EXIT
DLL=$BUILD_DIR/bin/ScaleBench/release/ScaleBench.dll
if [[ $SKIP_BUILD != 1 ]]; then
  log "building bench/scale/ScaleBench (Release) into $BUILD_DIR"
  dotnet build "$SCALE_DIR/ScaleBench" -c Release --artifacts-path "$BUILD_DIR" -nologo -v q >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; log "FAILED: ScaleBench does not build"; exit 1; }
fi
[[ -f $DLL ]] || { log "no $DLL (unset SKIP_BUILD)"; exit 1; }
mkdir -p "$OUT_DIR"
OUT=$OUT_DIR/scale-$(date +%Y%m%d-%H%M%S).tsv
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "running: $NAMES names over $DCS data centers, $RECORDS records, pinned to core $SERVER_CPU (load $LOAD_START)"
args=(--work "$WORK/config" --names "$NAMES" --dcs "$DCS" --records "$RECORDS" --health-rounds "$HEALTH_ROUNDS"
  --cost-queries "$COST_QUERIES" --cost-rounds "$COST_ROUNDS")
[[ -n $GEOIP ]] && args+=(--geoip "$GEOIP")
{
  printf 'measure\tvalue\tunit\n'
  taskset -c "$SERVER_CPU" dotnet "$DLL" "${args[@]}"
  printf 'load1_start\t%s\tload\nload1_end\t%s\tload\n' "${LOAD_START%% *}" "$(cut -d' ' -f1 /proc/loadavg)"
} >"$OUT" || { cat "$OUT" >&2; log "FAILED: the driver failed"; exit 1; }
column -t -s $'\t' "$OUT"
log "written to ${OUT#"$REPO_DIR"/}"
