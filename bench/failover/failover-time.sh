#!/usr/bin/env bash
# bench/failover/failover-time.sh: time to fail over, on real processes at the shipped prober settings.
# A benchmark, not a test: it prints p50/p99/max and writes them to bench/out/. See bench/failover/README.md.
#
#   bash bench/failover/failover-time.sh                 # 20 trials per case and mode, about 15 minutes
#   TRIALS=40 MODES=consul bash bench/failover/failover-time.sh
#
# Environment (defaults in brackets):
#   TRIALS [20]              trials per case (refused, silent) and mode
#   MODES [embedded,consul]  embedded: the DNS server alone with its in-process prober;
#                            consul: a consul dev agent, three gslbdns-prober processes, the DNS server watching Consul
#   CASES [refused,silent,lost]  refused: the backend's port is closed; silent: it accepts and never answers;
#                            lost: it leaves one probe unanswered (a lost probe) and every answer must keep it
#   QUERY_MS [20]            one fresh DNS query every QUERY_MS
#   HOLD_MS [1000]           a state counts once every answer showed it for HOLD_MS
#   SESSION_TTL [10]         the probers' Consul session TTL (as shipped)
#   BUILD_DIR [/tmp/gslbdns-failover-build]  private --artifacts-path for the Release build
#   SKIP_BUILD [0]           1 = reuse what BUILD_DIR holds
# Needs: dotnet, consul (scripts/install-deps.sh installs it).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/../.." && pwd)
TRIALS=${TRIALS:-20}
MODES=${MODES:-embedded,consul}
CASES=${CASES:-refused,silent,lost}
QUERY_MS=${QUERY_MS:-20}
HOLD_MS=${HOLD_MS:-1000}
SESSION_TTL=${SESSION_TTL:-10}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-failover-build}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT_DIR=$REPO_DIR/bench/out

log() { printf '[failover %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
for v in TRIALS QUERY_MS HOLD_MS SESSION_TTL; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { log "$v='${!v}' is not a whole number"; exit 2; }
done
command -v dotnet >/dev/null || { log "dotnet is not on PATH"; exit 2; }
if [[ $MODES == *consul* ]] && ! command -v consul >/dev/null; then
  log "consul is not on PATH (bash scripts/install-deps.sh)"; exit 2
fi

if [[ $SKIP_BUILD != 1 ]]; then
  log "building GslbDns, the prober and the driver (Release) into $BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  for project in src/GslbDns/GslbDns.csproj src/Prober/Prober.csproj bench/failover/FailoverBench/FailoverBench.csproj; do
    if ! dotnet build "$REPO_DIR/$project" -c Release --artifacts-path "$BUILD_DIR" -nologo -v q > "$BUILD_DIR/build.log" 2>&1; then
      cat "$BUILD_DIR/build.log" >&2
      log "building $project failed"; exit 1
    fi
  done
fi
SERVER_DLL=$BUILD_DIR/bin/GslbDns/release/GslbDns.dll
PROBER_DLL=$BUILD_DIR/bin/Prober/release/Prober.dll
DRIVER_DLL=$BUILD_DIR/bin/FailoverBench/release/FailoverBench.dll
for f in "$SERVER_DLL" "$PROBER_DLL" "$DRIVER_DLL"; do
  [[ -f $f ]] || { log "missing $f (build failed?)"; exit 1; }
done

mkdir -p "$OUT_DIR"
OUT=$OUT_DIR/failover-time-$(date +%Y%m%d-%H%M%S).txt
log "running: $TRIALS trials per case, modes $MODES, cases $CASES"

# The driver kills every process it started when it exits (and consul's watchdog follows the driver's pid);
# forward Ctrl-C / SIGTERM to it so that happens on an interrupted run too.
driver=
stop() { [[ -n $driver ]] && kill -TERM "$driver" 2>/dev/null; wait "$driver" 2>/dev/null || true; exit 130; }
trap stop INT TERM
dotnet "$DRIVER_DLL" --server-dll "$SERVER_DLL" --prober-dll "$PROBER_DLL" --out "$OUT" \
  --trials "$TRIALS" --modes "$MODES" --cases "$CASES" --query-ms "$QUERY_MS" --hold-ms "$HOLD_MS" --session-ttl "$SESSION_TTL" &
driver=$!
set +e
wait "$driver"
status=$?
set -e
trap - INT TERM
log "results: $OUT"
exit $status
