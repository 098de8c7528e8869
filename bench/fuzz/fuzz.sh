#!/usr/bin/env bash
# Coverage-guided fuzzing of GslbDns with SharpFuzz and AFL++ (README "Fuzzing").
#
#   DURATION=1800 TARGETS=query,zone,config,geo,api,rrl,cookie bench/fuzz/fuzz.sh
#
# Builds tests/GslbDns.Fuzz, copies its output to $OUT/bin, instruments the copies of GslbDns.Core.dll and Api.dll
# with the sharpfuzz tool (the repository's tool manifest), then runs afl-fuzz on each target in turn for DURATION
# seconds, from the seed corpus in tests/GslbDns.Fuzz/corpus/TARGET. Prints one line per target (executions, paths,
# crashes, hangs) and exits 1 if any target found a crash or a hang; they are kept in $OUT/TARGET/default/{crashes,hangs}.
# Replay one with the uninstrumented build: dotnet tests/GslbDns.Fuzz/bin/Release/net10.0/GslbDns.Fuzz.dll TARGET FILE
#
# DURATION   seconds per target (default 60)
# TARGETS    comma-separated (default all: query,zone,config,geo,api,rrl,cookie)
# OUT        work folder (default .cache/fuzz); findings of an earlier run of a target are replaced
# TIMEOUT    afl-fuzz -t per input in ms (default 5000: the first inputs run while .NET compiles)
# NICE       niceness (default 10: the machine is shared)
# RESUME=1   continue from the findings in OUT instead of the seeds
# NO_BUILD=1 use tests/GslbDns.Fuzz/bin/Release as it is (the test suite has just built the solution)
# JOBS=N     fuzz N targets at a time (default 1). The test suite's smoke run uses it: each target spends most of a
#            one-second run starting .NET and calibrating, waiting more than computing
# SEED_LIMIT=N start from the first N seeds of each corpus only (the test suite's smoke run: AFL calibrating a whole
#            corpus is most of a short run's time, and the suite replays every seed in-process anyway)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
DURATION=${DURATION:-60}
TARGETS=${TARGETS:-query,zone,config,geo,api,rrl,cookie}
OUT=${OUT:-$root/.cache/fuzz}
TIMEOUT=${TIMEOUT:-5000}
NICE=${NICE:-10}
JOBS=${JOBS:-1}

command -v afl-fuzz >/dev/null || { echo "fuzz.sh: afl-fuzz missing: scripts/install-deps.sh installs Debian afl++" >&2; exit 2; }
mkdir -p "$OUT"

# Build and instrument a fresh copy: sharpfuzz rewrites in place and refuses an assembly it already instrumented.
dotnet tool restore >/dev/null
if [ "${NO_BUILD:-0}" != 1 ]; then
  dotnet build tests/GslbDns.Fuzz/GslbDns.Fuzz.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
fi
rm -rf "$OUT/bin"
cp -r tests/GslbDns.Fuzz/bin/Release/net10.0 "$OUT/bin"
for assembly in GslbDns.Core.dll Api.dll; do
  dotnet tool run sharpfuzz "$OUT/bin/$assembly" >/dev/null
done

# AFL++ on a shared machine: no CPU governor check, no core binding, no curses screen. dotnet is not an
# AFL-compiled binary (the instrumentation is in the managed assemblies), so skip that check too.
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_FORKSRV_INIT_TMOUT=${AFL_FORKSRV_INIT_TMOUT:-60000}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A crash must end the run now, not after a core dump of a .NET process is written.
ulimit -c 0

IFS=, read -ra targets <<<"$TARGETS"
for target in "${targets[@]}"; do
  [ -d "$root/tests/GslbDns.Fuzz/corpus/$target" ] || { echo "fuzz.sh: no seed corpus for '$target' ($root/tests/GslbDns.Fuzz/corpus/$target)" >&2; exit 2; }
done

# One target: afl-fuzz for DURATION seconds, then its summary line. Returns 1 when it found a crash or a hang, 2 when
# afl-fuzz itself failed.
fuzz_target() {
  local target=$1 seeds="$root/tests/GslbDns.Fuzz/corpus/$1" findings="$OUT/$1" log="$OUT/$1.log" started stats crashes hangs
  if [ -n "${SEED_LIMIT:-}" ]; then
    local few="$OUT/seeds-$target"
    rm -rf "$few" && mkdir -p "$few"
    find "$seeds" -maxdepth 1 -type f | sort | head -n "$SEED_LIMIT" | xargs -r cp -t "$few"
    seeds="$few"
  fi
  local input=(-i "$seeds")
  if [ "${RESUME:-0}" = 1 ] && [ -d "$findings/default" ]; then
    input=(-i -)
  else
    rm -rf "$findings"
  fi
  started=$(date +%s)
  # One more try when AFL's dry run saw an empty coverage map: on a loaded machine the first input of a target that
  # starts a server (api) can come back before any instrumented code ran. Broken instrumentation fails both tries.
  local try
  for try in 1 2; do
    [ "$try" = 1 ] || { [ "${input[1]}" = - ] || rm -rf "$findings"; echo "fuzz.sh: '$target': AFL saw no instrumentation on its dry run; trying once more" >&2; }
    if nice -n "$NICE" afl-fuzz "${input[@]}" -o "$findings" -t "$TIMEOUT" -m none -V "$DURATION" \
      -- dotnet "$OUT/bin/GslbDns.Fuzz.dll" "$target" >"$log" 2>&1; then
      break
    fi
    if [ "$try" = 2 ] || ! grep -q "No instrumentation detected" "$log"; then
      echo "fuzz.sh: afl-fuzz failed on '$target'; last lines of $log:" >&2
      tail -20 "$log" >&2
      return 2
    fi
  done
  stats="$findings/default/fuzzer_stats"
  stat() { awk -v k="$1" -F' *: *' '$1 == k {print $2}' "$stats"; }
  crashes=$(stat saved_crashes); hangs=$(stat saved_hangs)
  echo "$target: $(( $(date +%s) - started )) s, execs_done $(stat execs_done), execs_per_sec $(stat execs_per_sec), corpus_count $(stat corpus_count), edges_found $(stat edges_found)/$(stat total_edges), stability $(stat stability), crashes $crashes, hangs $hangs"
  if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
    echo "  found: $(ls "$findings"/default/crashes/id:* "$findings"/default/hangs/id:* 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
}

status=0
if [ "$JOBS" -le 1 ]; then
  for target in "${targets[@]}"; do
    fuzz_target "$target" && code=0 || code=$?
    [ "$code" = 2 ] && exit 2
    [ "$code" = 0 ] || status=1
  done
  exit "$status"
fi

# JOBS targets at a time, each in its own findings folder; the summaries come out in TARGETS order once all are done.
running=0
for target in "${targets[@]}"; do
  ( fuzz_target "$target" >"$OUT/$target.summary" 2>"$OUT/$target.errors" && code=0 || code=$?; echo "$code" >"$OUT/$target.code" ) &
  running=$(( running + 1 ))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$(( running - 1 ))
  fi
done
wait
for target in "${targets[@]}"; do
  cat "$OUT/$target.summary"
  cat "$OUT/$target.errors" >&2
  code=$(cat "$OUT/$target.code")
  [ "$code" = 2 ] && status=2
  [ "$code" = 1 ] && [ "$status" = 0 ] && status=1
done
exit "$status"
