#!/usr/bin/env bash
# Recalculation at scale (ISSUE 3): `attribution generate` data for TENANTS tenants (default 10,000), ingested and
# recalculated with the CLI against one in-memory Azurite; prints the wall time and peak RSS of each step and the
# recalculation's own "engine X ms, storage Y ms" split. How to read the figures: docs/benchmarks.md.
#
#   bench/recalc.sh                       # 10,000 tenants
#   TENANTS=2000 RECALC_RUNS=1 bench/recalc.sh
#
# Environment: TENANTS (10000), SEED (1), AS_OF (2026-10), RECALC_RUNS (2), WORK (a new temp folder; kept),
# SCENARIO (0: when 1, first a scenario recalculation, which computes everything and publishes nothing),
# DESIGNATIONS (0: when 1, two scenario recalculations side by side: without the rules' designations, then with them),
# RECALC_ARGS (extra arguments for those two, e.g. --verbose for each step's read/compute/write split),
# API_READS (0: when set, the read API latency on the published data), AZURITE_HEAP_MIB (16384),
# AZURITE_PORT (10300: blob; queue +1, table +2). The Azurite runs in memory (--inMemoryPersistence) on its own
# ports, so it neither reuses nor disturbs one on the default ports, and is stopped on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tenants="${TENANTS:-10000}"
seed="${SEED:-1}"
as_of="${AS_OF:-2026-10}"
recalc_runs="${RECALC_RUNS:-2}"
work="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/attribution-recalc-XXXXXX")}"
blob_port="${AZURITE_PORT:-10300}"
queue_port=$((blob_port + 1))
table_port=$((blob_port + 2))
mkdir -p "$work"
summary="$work/summary.txt"
: >"$summary"

say() { echo "$*" | tee -a "$summary"; }

# --- Azurite -------------------------------------------------------------------------------------------------------
azurite_js="$root/node_modules/azurite/dist/src/azurite.js"
if [ ! -f "$azurite_js" ]; then (cd "$root" && npm ci --no-audit --no-fund --loglevel=error); fi
for port in "$blob_port" "$queue_port" "$table_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use; set AZURITE_PORT" >&2; exit 2; fi
done
# The emulator keeps every table in one Node heap; 100k tenants publish ~2.5 M rows, past Node's default heap limit.
node --max-old-space-size="${AZURITE_HEAP_MIB:-16384}" "$azurite_js" --inMemoryPersistence --skipApiVersionCheck --loose --silent --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$blob_port" --queuePort "$queue_port" --tablePort "$table_port" >"$work/azurite.log" 2>&1 &
azurite_pid=$!
trap 'kill "$azurite_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$table_port") 2>/dev/null; then break; fi
  kill -0 "$azurite_pid" 2>/dev/null || { cat "$work/azurite.log" >&2; exit 1; }
  sleep 0.2
done
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==" # Azurite's published dev key
conn="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"

azurite_mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$azurite_pid/status"; }

# --- measuring a step ----------------------------------------------------------------------------------------------
# Runs a command with its output in $work/NAME.log; records wall seconds and peak RSS (MiB) of the .NET process
# (./attribution execs dotnet, so the process measured is the CLI itself).
measure() {
  local name="$1"; shift
  local log="$work/$name.log"
  local start end rc=0
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$work/$name.time" "$@" >"$log" 2>&1 || rc=$?
    peak_mib=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$work/$name.time")
  else
    "$@" >"$log" 2>&1 &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${v:-0}" -gt "$hwm" ] && hwm=$v
      sleep 0.1
    done
    wait "$pid" || rc=$?
    peak_mib=$((hwm / 1024))
  fi
  end=$(date +%s.%N)
  wall_s=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
  if [ "$rc" -ne 0 ]; then echo "$name failed (exit $rc); see $log" >&2; tail -20 "$log" >&2; exit 1; fi
  say "$(printf '%-10s wall %7s s   peak RSS %6s MiB' "$name" "$wall_s" "$peak_mib")"
}

cli="$root/attribution"
"$cli" --help >/dev/null # build once, outside the measurements
say "recalc bench: $tenants tenants (seed $seed), as of $as_of; $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg); work folder $work"
say "Azurite: in memory, pid $azurite_pid, ports $blob_port-$table_port"

measure generate "$cli" generate --out "$work/feeds" --tenants "$tenants" --seed "$seed"
grep -E '^ *(partners|dpor|sales|csp|fasttrack|dap|pal|certifications|usage) ' "$work/generate.log" | awk '{printf "  %-10s %12s rows %14s bytes\n", $1, $(NF-1), $NF}' | tee -a "$summary"
files=()
for s in partners dpor sales csp fasttrack dap pal certifications usage; do files+=("$work/feeds/$s/$s.csv"); done

measure ingest "$cli" ingest --storage "$conn" "${files[@]}"
grep -E 'Succeeded|Completed|Failed|Duplicate' "$work/ingest.log" | awk '{printf "  %s\n", $0}' | tee -a "$summary"
say "  $(azurite_mem)"

if [ "${DESIGNATIONS:-0}" = 1 ]; then
  # The capability scores' cost, side by side: the same scenario recalculation with the shipped rules minus their
  # designations (the baseline: competencies only, 12 months read) and with them (19 months read, scores computed).
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["designations"]=[]; json.dump(r,open(sys.argv[2],"w"),indent=1)' \
    "$root/functions/Attribution.Domain/Rules/default-rules.json" "$work/rules-no-designations.json"
  measure nodesig "$cli" recalc --as-of "$as_of" --scenario nodesig --rules "$work/rules-no-designations.json" --storage "$conn" ${RECALC_ARGS:-}
  grep -E 'usage rows in the window|engine .* ms, storage .* ms|^phases: ' "$work/nodesig.log" | sed 's/^/  /' | tee -a "$summary"
  measure designations "$cli" recalc --as-of "$as_of" --scenario bench --storage "$conn" ${RECALC_ARGS:-}
  grep -E 'usage rows in the window|engine .* ms, storage .* ms|^phases: ' "$work/designations.log" | sed 's/^/  /' | tee -a "$summary"
  say "$(awk '/^nodesig / {w0=$3; r0=$7} /^designations / {w1=$3; r1=$7} END {printf "scores: wall %.2fx, peak RSS %.2fx the run without designations", w1/w0, r1/r0}' "$summary")"
  say "  $(azurite_mem)"
fi

if [ "${SCENARIO:-0}" = 1 ]; then
  # The whole recalculation without the table writes of a publish: a scenario computes, snapshots and compares, and
  # publishes nothing (the figure "ingest + recalculation excluding the first publish's table writes" of issue 9).
  measure scenario "$cli" recalc --as-of "$as_of" --scenario bench --storage "$conn"
  grep -E 'usage rows in the window|engine .* ms, storage .* ms|^phases: ' "$work/scenario.log" | sed 's/^/  /' | tee -a "$summary"
  say "  $(azurite_mem)"
fi

for run in $(seq 1 "$recalc_runs"); do
  measure "recalc$run" "$cli" recalc --as-of "$as_of" --storage "$conn"
  grep -E 'usage rows in the window|engine .* ms, storage .* ms|^phases: ' "$work/recalc$run.log" | sed 's/^/  /' | tee -a "$summary"
  say "  $(azurite_mem)"
done

if [ "${API_READS:-0}" -gt 0 ]; then
  # Read latency on the data just published, on the same emulator (the api bench without its own ingest + recalc).
  bench_dll="$root/bench/Attribution.Benchmarks/bin/Release/net10.0/Attribution.Benchmarks.dll"
  [ -f "$bench_dll" ] || dotnet build -c Release "$root/bench/Attribution.Benchmarks" >/dev/null
  scenario_reads=()
  # Nothing published (RECALC_RUNS=0): read the scenario run's snapshot, the same files a published run has.
  if [ "$recalc_runs" -eq 0 ] && { [ "${SCENARIO:-0}" = 1 ] || [ "${DESIGNATIONS:-0}" = 1 ]; }; then scenario_reads=(--scenario bench); fi
  dotnet "$bench_dll" api --storage "$conn" --reads "$API_READS" "${scenario_reads[@]}" | tee -a "$summary"
fi

say "logs and summary: $work"
