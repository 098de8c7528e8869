# bench/lib/measure.sh: shell code shared by the dnsperf benchmarks. Sourced, not run:
#
#   source "$BENCH_DIR/lib/measure.sh"
#
# Used by bench/dnsperf-vs-knot.sh and bench/geo/dnsperf-vs-gdnsd.sh (bench/failover/ may use
# it too). It holds what does not depend on the server compared against: settings checks,
# the temp folder and the trap that stops every child, building GslbDns, starting a server
# pinned to one core, dnsperf runs with CPU, core and RSS readings, and the report file. What is
# specific to a benchmark (the other server's config, the answer check, the table's leading
# columns, the summary text) stays in its script.
#
# The sourcing script sets (all read when a function runs, not when this file is sourced;
# measure_defaults sets those marked *, each unless the environment does):
#   LOG_TAG               prefix of log lines, e.g. "bench" -> "[bench 12:00:00] ..."
#   ADDR*                 address the servers listen on and dnsperf/kdig ask
#   SERVER_CPU* CLIENT_CPU*  core for the servers / for dnsperf
#   NICE* KEEP_WORK*      nice value of servers and dnsperf / 1 = keep the temp folder
#   DURATION* WARMUP*     seconds of each measured / unmeasured dnsperf run (measure_run)
#   CLIENTS* OUTSTANDING* MAX_QPS* ROUNDS*  read by the scripts' own dnsperf calls and loops
#   PROBE_NAME            a name each server answers NOERROR once it is up (wait_answering)
#   START_TIMEOUT         seconds a server may take to answer it (wait_answering)
#   REPO_DIR BUILD_DIR SKIP_BUILD*  (build_ours)
#   OUT_DIR               where report files go (report_file)
# It sets: NCPU (check_cores), CLK_TCK, WORK CHILDREN DETAILS (bench_init), OURS_DLL (build_ours),
# PID[name] PORT[name] (start_server), R[tag.*] and M_* (measure_run), OUT (report_file).

CLK_TCK=$(getconf CLK_TCK)
CHILDREN=()          # every background child we start, killed on any exit
declare -gA PID PORT # per server name: its pid, its port (start_server)
declare -gA R        # per run tag: R[tag.qps] R[tag.us] R[tag.rss] R[tag.answered] (measure_run)

log() { printf '[%s %(%H:%M:%S)T] %s\n' "${LOG_TAG:-bench}" -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- settings --
measure_defaults() { # the settings all dnsperf benchmarks share, each kept when set in the environment
  DURATION=${DURATION:-20}        # seconds of each measured dnsperf run (-l)
  WARMUP=${WARMUP:-15}            # seconds of unmeasured load before each measured run (JIT tiering)
  CLIENTS=${CLIENTS:-10}          # dnsperf clients = UDP sockets (-c)
  OUTSTANDING=${OUTSTANDING:-200} # dnsperf queries in flight (-q)
  MAX_QPS=${MAX_QPS:-}            # dnsperf -Q rate cap; empty = unbounded
  ROUNDS=${ROUNDS:-1}             # measured pairs; rounds alternate which server goes first
  SERVER_CPU=${SERVER_CPU:-1}     # core for the servers
  CLIENT_CPU=${CLIENT_CPU:-0}     # core for dnsperf
  SKIP_BUILD=${SKIP_BUILD:-0}     # 1 = reuse the DLL already in BUILD_DIR
  KEEP_WORK=${KEEP_WORK:-0}       # 1 = keep the temp dir
  NICE=${NICE:-0}                 # nice value for the servers and dnsperf
  ADDR=127.0.0.1
}
check_settings() { # VAR...: each a whole number; NICE a whole number, MAX_QPS one or empty (exit 2)
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { log "$v='${!v}' is not a whole number"; exit 2; }
  done
  [[ $NICE =~ ^-?[0-9]+$ ]] || { log "NICE='$NICE' is not a whole number"; exit 2; }
  [[ -z $MAX_QPS || $MAX_QPS =~ ^[0-9]+$ ]] || { log "MAX_QPS='$MAX_QPS' is not a whole number"; exit 2; }
}
check_cores() { # SERVER_CPU and CLIENT_CPU exist (exit 2); warn when they are the same core
  NCPU=$(nproc --all)
  (( SERVER_CPU < NCPU && CLIENT_CPU < NCPU )) || { log "SERVER_CPU/CLIENT_CPU must be below $NCPU"; exit 2; }
  [[ $SERVER_CPU != "$CLIENT_CPU" ]] || log "warning: server and dnsperf share core $SERVER_CPU; figures will be distorted"
}
require_tools() { # TOOL...: all on PATH, else exit 2
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if (( ${#missing[@]} )); then
    log "missing ${missing[*]}: run 'bash scripts/install-deps.sh' first"
    exit 2
  fi
}

# ----------------------------------------------------------------- cleanup --
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
bench_init() { # mktemp-template: the temp folder WORK, the details file, and the traps that clean up
  WORK=$(mktemp -d "$1")
  trap cleanup EXIT
  trap 'log "interrupted"; exit 130' INT
  trap 'log "terminated"; exit 143' TERM HUP
  DETAILS=$WORK/details.txt
  : >"$DETAILS"
}
detail() { printf '%s\n' "$*" >>"$DETAILS"; }
forget() { # drop a child that has exited, so cleanup never signals a reused pid
  local keep=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  CHILDREN=("${keep[@]}")
}

# ------------------------------------------------------------------- ports --
port_free() { # UDP and TCP both free on ADDR:port
  [[ -z $(ss -Hlnu "sport = :$1") && -z $(ss -Hlnt "sport = :$1") ]]
}
pick_port() { # first free port from $1 upwards, step 2 so the two servers never collide
  local p=$1
  while ! port_free "$p"; do p=$((p + 2)); done
  echo "$p"
}
choose_ports() { # VAR1 BASE1 VAR2 BASE2: each VAR as set, else the first free port from its BASE; both free, not equal
  local a=$1 b=$3
  [[ -n ${!a:-} ]] || printf -v "$a" '%s' "$(pick_port "$2")"
  [[ -n ${!b:-} ]] || printf -v "$b" '%s' "$(pick_port "$4")"
  port_free "${!a}" || die "port ${!a} is taken"
  port_free "${!b}" || die "port ${!b} is taken"
  [[ ${!a} != "${!b}" ]] || die "$a and $b are the same"
}

# ------------------------------------------------------------ CPU and RSS --
tree_pids() { # the pid and every live descendant (NSD serves from forked children)
  local p
  echo "$1"
  for p in $(pgrep -P "$1" 2>/dev/null); do tree_pids "$p"; done
}
cpu_ticks() { # utime+stime (fields 14, 15 of /proc/PID/stat) of the process and its children; comm may hold spaces
  local s p t=0
  [[ -r /proc/$1/stat ]] || return 1
  for p in $(tree_pids "$1"); do
    { s=$(<"/proc/$p/stat"); } 2>/dev/null || continue
    s=${s##*) }
    t=$(( t + $(awk '{print $12 + $13}' <<<"$s") ))
  done
  echo "$t"
}
core_times() { # "busy total" jiffies of one core from /proc/stat
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
rss_kib() { # VmRSS of the process and its children
  local p
  for p in $(tree_pids "$1"); do cat "/proc/$p/status" 2>/dev/null; done | awk '/^VmRSS:/ {k += $2} END {print k + 0}'
}
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

# ---------------------------------------------------------------- servers --
build_ours() { # Release build of src/GslbDns into BUILD_DIR (unless SKIP_BUILD=1); sets OURS_DLL
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
}
wait_answering() { # pid port name: until the server answers PROBE_NAME NOERROR, or dies
  local pid=$1 port=$2 name=$3 i
  for i in $(seq $(( START_TIMEOUT * 2 ))); do
    kill -0 "$pid" 2>/dev/null || return 1
    if kdig @"$ADDR" -p "$port" +norec +time=1 +retry=0 "$PROBE_NAME" A 2>/dev/null | grep -q 'status: NOERROR'; then
      return 0
    fi
    sleep 0.5
  done
  log "$name did not answer within $START_TIMEOUT s"
  return 1
}
start_server() { # name port, then the command; started on SERVER_CPU, then every thread re-pinned
  local name=$1 port=$2; shift 2
  PORT[$name]=$port
  nice -n "$NICE" taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  CHILDREN+=("$pid")
  PID[$name]=$pid
  if ! wait_answering "$pid" "$port" "$name"; then
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
  log "$name answering on $ADDR:$port (pid $pid), all threads pinned to core $SERVER_CPU"
}

# ---------------------------------------------------------------- measure --
run_dnsperf() { # logfile, then dnsperf's arguments: dnsperf on CLIENT_CPU, in the background so traps fire at once
  local out=$1; shift
  nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "$@" >"$out" 2>&1 &
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
measure_run() { # name label tag dnsperf-fn [arg...]: WARMUP s unmeasured, then DURATION s measured
  # dnsperf-fn is called as: dnsperf-fn port seconds logfile [arg...] (it calls run_dnsperf).
  # Sets R[tag.qps] R[tag.us] R[tag.rss] R[tag.answered] and, for result_row, M_ANSWERED M_LOST
  # M_SENT M_QPS M_CPU_S M_US M_BUSY M_CBUSY M_LAT M_RSS; adds thread and dnsperf details.
  local name=$1 label=$2 tag=$3 fn=$4; shift 4
  local pid=${PID[$name]} port=${PORT[$name]}
  kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is gone"
  if (( WARMUP > 0 )); then
    log "$label: warm-up ${WARMUP}s (not measured)"
    "$fn" "$port" "$WARMUP" "$WORK/$tag.warmup.log" "$@" || true
  fi
  log "$label: measuring ${DURATION}s"
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
  "$fn" "$port" "$DURATION" "$WORK/$tag.dnsperf.log" "$@" || rc=$?
  c1=$(cpu_ticks "$pid") || die "$name died during the run"
  thread_stats "$pid" >"$WORK/$tag.threads1"
  local e0 e1 n0 n1
  read -r e0 e1 < <(core_times "$SERVER_CPU")
  read -r n0 n1 < <(core_times "$CLIENT_CPU")
  wait "$snap" 2>/dev/null || true
  forget "$snap"
  local f=$WORK/$tag.dnsperf.log runtime
  M_SENT=$(stat_of "$f" "Queries sent:")
  M_ANSWERED=$(stat_of "$f" "Queries completed:")
  M_LOST=$(stat_of "$f" "Queries lost:")
  M_QPS=$(stat_of "$f" "Queries per second:")
  runtime=$(stat_of "$f" "Run time (s):")
  M_LAT=$(stat_of "$f" "Average Latency (s):")
  if (( rc != 0 )) || [[ -z $M_ANSWERED ]]; then
    cat "$f" >&2
    die "dnsperf against $name failed (exit $rc)"
  fi
  (( M_ANSWERED > 0 )) || { cat "$f" >&2; die "$name answered nothing"; }
  M_CPU_S=$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')
  M_US=$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" -v n="$M_ANSWERED" 'BEGIN { printf "%.2f", t / h * 1e6 / n }')
  M_RSS=$(rss_kib "$pid")
  M_BUSY=$(awk -v b=$((e0 - s0)) -v t=$((e1 - s1)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  M_CBUSY=$(awk -v b=$((n0 - m0)) -v t=$((n1 - m1)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')
  R[$tag.qps]=$M_QPS R[$tag.us]=$M_US R[$tag.rss]=$M_RSS R[$tag.answered]=$M_ANSWERED
  detail "== $label: threads mid-run:"
  detail "$(cat "$WORK/$tag.threads" 2>/dev/null)"
  detail "== $label: CPU per thread during the measured run:"
  detail "$(thread_delta "$WORK/$tag.threads0" "$WORK/$tag.threads1")"
  detail "== $label: dnsperf -l $DURATION (run time ${runtime}s):"
  detail "$(sed -n '/Statistics:/,$p' "$f" | sed 's/^/    /')"
}

# ---------------------------------------------------------------- summary --
# A table row is: the script's leading columns (server, round, ...), then the ten columns
# below. Each script gives one printf format (no newline) for header and rows alike.
table_header() { # format leading-headings...
  local fmt=$1; shift
  # shellcheck disable=SC2059 # the format is the caller's
  printf "$fmt\n" "$@" answered lost sent QPS "CPU s" "CPU us/answer" "srv core" "cli core" "lat us" "RSS MiB"
}
result_row() { # format leading-columns...: one row with the last measure_run's figures
  local fmt=$1; shift
  # shellcheck disable=SC2059 # the format is the caller's
  printf "$fmt" "$@" "$M_ANSWERED" "$M_LOST" "$M_SENT" "$(printf '%.0f' "$M_QPS")" "$M_CPU_S" "$M_US" \
    "$M_BUSY%" "$M_CBUSY%" "$(awk -v l="$M_LAT" 'BEGIN { printf "%.0f", l * 1e6 }')" \
    "$(awk -v k="$M_RSS" 'BEGIN { printf "%.1f", k / 1024 }')"
}
ratio_line() { # heading ours-tag theirs-tag: "heading:  CPU per answer 0.96x   QPS 0.94x   RSS 5.39x"
  awk -v h="$1" -v uo="${R[$2.us]}" -v ut="${R[$3.us]}" -v qo="${R[$2.qps]}" -v qt="${R[$3.qps]}" \
      -v mo="${R[$2.rss]}" -v mt="${R[$3.rss]}" \
    'BEGIN { printf "%s:  CPU per answer %.2fx   QPS %.2fx   RSS %.2fx\n", h, uo / ut, qo / qt, mo / mt }'
}
run_facts() { # [extra]: "date ...  host ...  kernel ...  cores N  [extra  ]commit ... (tree may hold uncommitted edits)"
  local commit
  commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
  echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host $(hostname)  kernel $(uname -r)  cores $NCPU  ${1:+$1  }commit $commit (tree may hold uncommitted edits)"
}
client_versions() { # "dotnet X  dnsperf Y"
  echo "dotnet $(dotnet --version)  $(dnsperf -h 2>&1 | awk '/^Version/ {print "dnsperf " $2}')"
}
report_file() { # name: sets OUT to OUT_DIR/name-YYYYMMDD-HHMMSS.txt
  OUT=$OUT_DIR/$1-$(date +%Y%m%d-%H%M%S).txt
}
write_report() { # summary-fn details-fn what-it-holds: print the summary; write it, DETAILS and more to OUT
  "$1" >"$OUT.summary"
  {
    cat "$OUT.summary"
    echo
    echo "----------------------------------------------------------------- details"
    cat "$DETAILS"
    "$2"
  } >"$OUT"
  echo
  cat "$OUT.summary"
  rm -f "$OUT.summary"
  echo
  log "written to ${OUT#"$REPO_DIR"/} ($3)"
}
