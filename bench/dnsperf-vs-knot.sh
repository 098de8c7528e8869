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

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-15}
CLIENTS=${CLIENTS:-10}
OUTSTANDING=${OUTSTANDING:-200}
MAX_QPS=${MAX_QPS:-}
DNSPERF_THREADS=${DNSPERF_THREADS:-1}
ROUNDS=${ROUNDS:-1}
QUERY_FILE=${QUERY_FILE:-$BENCH_DIR/queries/static-a.txt}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
BUILD_DIR=${BUILD_DIR:-/tmp/gslbdns-bench-build}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_WORK=${KEEP_WORK:-0}
NICE=${NICE:-0}
ADDR=127.0.0.1
OUT_DIR=$BENCH_DIR/out

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for v in DURATION WARMUP CLIENTS OUTSTANDING DNSPERF_THREADS ROUNDS SERVER_CPU CLIENT_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { log "$v='${!v}' is not a whole number"; exit 2; }
done
[[ $NICE =~ ^-?[0-9]+$ ]] || { log "NICE='$NICE' is not a whole number"; exit 2; }
[[ -z $MAX_QPS || $MAX_QPS =~ ^[0-9]+$ ]] || { log "MAX_QPS='$MAX_QPS' is not a whole number"; exit 2; }
(( DURATION > 0 && CLIENTS > 0 && ROUNDS > 0 )) || { log "DURATION, CLIENTS and ROUNDS must be > 0"; exit 2; }
[[ -s $QUERY_FILE ]] || { log "QUERY_FILE '$QUERY_FILE' is missing or empty"; exit 2; }
QUERY_FILE=$(cd "$(dirname "$QUERY_FILE")" && pwd)/$(basename "$QUERY_FILE")
NCPU=$(nproc --all)
(( SERVER_CPU < NCPU && CLIENT_CPU < NCPU )) || { log "SERVER_CPU/CLIENT_CPU must be below $NCPU"; exit 2; }
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || log "warning: server and dnsperf share core $SERVER_CPU; figures will be distorted"

missing=()
for tool in dotnet dnsperf knotd knotc kdig taskset ss; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if (( ${#missing[@]} )); then
  log "missing ${missing[*]}: run 'bash scripts/install-deps.sh' first"
  exit 2
fi
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup --
WORK=$(mktemp -d /tmp/gslbdns-bench.XXXXXX)
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
answers() { # status line (id removed) and sorted answer section, for comparing servers
  local port=$1 name=$2 type=$3
  kdig @"$ADDR" -p "$port" +norec +time=2 +retry=1 "$name" "$type" +noall +header \
    | sed -n 's/.*status: \([A-Z]*\).*/status \1/p'
  kdig @"$ADDR" -p "$port" +norec +time=2 +retry=1 "$name" "$type" +noall +answer | sed '/^$/d' | tr -s ' \t' ' ' | sort
}
wait_answering() { # pid port name: until the server answers NOERROR or dies
  local pid=$1 port=$2 name=$3 i
  for i in $(seq 120); do
    kill -0 "$pid" 2>/dev/null || return 1
    if kdig @"$ADDR" -p "$port" +norec +time=1 +retry=0 www.example.com A 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    sleep 0.5
  done
  log "$name did not answer within 60 s"
  return 1
}

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
mkdir -p "$WORK/zones" "$WORK/knot/db" "$OUT_DIR"
cp "$BENCH_DIR"/zones/*.zone "$WORK/zones/"
OURS_PORT=${OURS_PORT:-$(pick_port 25353)}
KNOT_PORT=${KNOT_PORT:-$(pick_port 25354)}
port_free "$OURS_PORT" || die "port $OURS_PORT is taken"
port_free "$KNOT_PORT" || die "port $KNOT_PORT is taken"
[[ $OURS_PORT != "$KNOT_PORT" ]] || die "OURS_PORT and KNOT_PORT are the same"

KNOT_CONF=$WORK/knot/knot.conf
sed -e "s|@RUNDIR@|$WORK/knot|g" -e "s|@ZONEDIR@|$WORK/zones|g" \
    -e "s|@ADDR@|$ADDR|g" -e "s|@PORT@|$KNOT_PORT|g" "$BENCH_DIR/knot.conf.template" >"$KNOT_CONF"
knotc -c "$KNOT_CONF" conf-check >"$WORK/knot/conf-check.log" 2>&1 \
  || { cat "$WORK/knot/conf-check.log" >&2; die "Knot rejects $KNOT_CONF"; }

DETAILS=$WORK/details.txt
: >"$DETAILS"
detail() { printf '%s\n' "$*" >>"$DETAILS"; }

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
  # Pin every thread, including ones that set their own affinity (Knot pins its
  # workers to cores by index) and runtime threads (.NET JIT, GC, timers).
  taskset -a -pc "$SERVER_CPU" "$pid" >/dev/null
  detail "== $name threads after taskset -a -pc $SERVER_CPU:"
  detail "$(threads_of "$pid")"
  log "$name answering on $ADDR:${PORT[$name]} (pid $pid), all threads pinned to core $SERVER_CPU"
}

PORT[knot]=$KNOT_PORT
PORT[ours]=$OURS_PORT
log "starting Knot ($(knotd --version | head -1)) on $ADDR:$KNOT_PORT"
start_server knot knotd -c "$KNOT_CONF"
log "starting GslbDns on $ADDR:$OURS_PORT"
start_server ours dotnet "$OURS_DLL" serve --zones "$WORK/zones" --dns "$ADDR:$OURS_PORT" \
  --udp-threads 1 --metrics off --no-watch

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

run_dnsperf() { # port seconds logfile: dnsperf on CLIENT_CPU, in the background so traps fire at once
  nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "${DNSPERF_ARGS[@]}" -p "$1" -l "$2" >"$3" 2>&1 &
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
measure() { # name round
  local name=$1 round=$2 pid=${PID[$1]} port=${PORT[$1]} tag="$1.r$2"
  kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is gone"
  if (( WARMUP > 0 )); then
    log "$name round $round: warm-up ${WARMUP}s (not measured)"
    run_dnsperf "$port" "$WARMUP" "$WORK/$tag.warmup.log" || true
  fi
  log "$name round $round: measuring ${DURATION}s"
  local c0 c1 s0 s1 m0 m1
  read -r s0 s1 < <(core_times "$SERVER_CPU")
  read -r m0 m1 < <(core_times "$CLIENT_CPU")
  c0=$(cpu_ticks "$pid") || die "$name died"
  thread_stats "$pid" >"$WORK/$tag.threads0"
  # Mid-run snapshot of where the server's threads run and which are busy.
  ( sleep "$(( DURATION / 2 ))"; threads_of "$pid" >"$WORK/$tag.threads" 2>/dev/null ) &
  local snap=$!
  CHILDREN+=("$snap")
  local rc=0
  run_dnsperf "$port" "$DURATION" "$WORK/$tag.dnsperf.log" || rc=$?
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
  R[$tag.qps]=$qps R[$tag.us]=$us R[$tag.rss]=$rss R[$tag.answered]=$answered
  ROWS+=("$(printf '%-8s %5s %11s %9s %9s %10s %7s %13s %8s %8s %9s %8s' \
    "$name" "$round" "$answered" "$lost" "$sent" "$(printf '%.0f' "$qps")" "$cpu_s" "$us" \
    "$busy%" "$cbusy%" "$(awk -v l="$lat" 'BEGIN { printf "%.0f", l * 1e6 }')" \
    "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')")")
  detail "== $name round $round: threads mid-run:"
  detail "$(cat "$WORK/$tag.threads" 2>/dev/null)"
  detail "== $name round $round: CPU per thread during the measured run:"
  detail "$(thread_delta "$WORK/$tag.threads0" "$WORK/$tag.threads1")"
  detail "== $name round $round: dnsperf -l $DURATION (run time ${runtime}s):"
  detail "$(sed -n '/Statistics:/,$p' "$f" | sed 's/^/    /')"
}

for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(knot ours); else order=(ours knot); fi
  for s in "${order[@]}"; do measure "$s" "$round"; done
done

# ---------------------------------------------------------------- summary --
ts=$(date +%Y%m%d-%H%M%S)
OUT=$OUT_DIR/dnsperf-vs-knot-$ts.txt
commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "GslbDns vs Knot DNS: dnsperf over UDP, loopback, one server core each"
  echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host $(hostname)  kernel $(uname -r)  cores $NCPU  commit $commit (tree may hold uncommitted edits)"
  echo "knotd $(knotd --version | awk '{print $NF}')  dotnet $(dotnet --version)  $(dnsperf -h 2>&1 | awk '/^Version/ {print "dnsperf " $2}')  runtime env: $(env | grep -E '^(DOTNET|COMPlus)_' | grep -vE '^DOTNET_(CLI_|NOLOGO|GENERATE_ASPNET)' | tr '\n' ' ' || true)"
  echo "servers on core $SERVER_CPU (every thread), dnsperf on core $CLIENT_CPU; GslbDns --udp-threads 1, Knot udp/tcp/background-workers 1; nice $NICE"
  echo "dnsperf ${DNSPERF_ARGS[*]} -l $DURATION after a ${WARMUP}s warm-up; queries: $(basename "$QUERY_FILE") ($(sort -u "$QUERY_FILE" | grep -cv '^[;#]' || true) distinct)"
  echo
  printf '%-8s %5s %11s %9s %9s %10s %7s %13s %8s %8s %9s %8s\n' \
    server round answered lost sent QPS "CPU s" "CPU us/answer" "srv core" "cli core" "lat us" "RSS MiB"
  printf '%s\n' "${ROWS[@]}"
  echo
  for round in $(seq "$ROUNDS"); do
    awk -v r="$round" -v uo="${R[ours.r$round.us]}" -v uk="${R[knot.r$round.us]}" \
        -v qo="${R[ours.r$round.qps]}" -v qk="${R[knot.r$round.qps]}" \
        -v mo="${R[ours.r$round.rss]}" -v mk="${R[knot.r$round.rss]}" \
      'BEGIN { printf "round %d  GslbDns/Knot:  CPU per answer %.2fx   QPS %.2fx   RSS %.2fx\n", r, uo / uk, qo / qk, mo / mk }'
  done
  echo
  echo "CPU us/answer = server utime+stime over the measured run / answers dnsperf counted (lower is better; the figure to rank by)."
  echo "srv core / cli core = how busy core $SERVER_CPU / core $CLIENT_CPU were (all processes, incl. softirq): srv core near 100% means the"
  echo "server was the bottleneck, cli core near 100% means dnsperf was, and QPS then says little about the server."
} >"$OUT.summary"
{
  cat "$OUT.summary"
  echo
  echo "----------------------------------------------------------------- details"
  cat "$DETAILS"
  echo "== Knot configuration ($KNOT_CONF):"
  sed -e '/^\s*#/d' -e '/^\s*$/d' -e 's/^/    /' "$KNOT_CONF"
} >"$OUT"
echo
cat "$OUT.summary"
rm -f "$OUT.summary"
echo
log "written to ${OUT#"$REPO_DIR"/} (summary, thread placement, dnsperf output)"
