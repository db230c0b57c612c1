#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD (default build/fuzz) for FUZZ_SECONDS each (default 60),
# from its seed corpus and regressions with its dictionary, and prints one line per target:
# CPU seconds, runs, coverage (cov: edges, ft: features) and what it found. New inputs go to
# BUILD/corpus/<target>; a crash, leak or hang is written to BUILD/crashes/<target>/ and makes
# the run fail. To keep a finding: fix it, then copy the input to tests/fuzz/regressions/<target>/.
#   FUZZ_TARGETS="chunked path" limits the run to those targets.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"http_request http_response chunked path config traceparent"}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
summary=()
for t in $targets; do
  bin=$build/tests/fuzz/${t}_fuzz
  corpus=$build/corpus/$t
  crashes=$build/crashes/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  echo "== $t: ${seconds}s"
  seeds=(tests/fuzz/corpus/$t)
  [ -d tests/fuzz/regressions/$t ] && seeds+=(tests/fuzz/regressions/$t)
  /usr/bin/time -f "%U %S" -o "$build/logs/$t.time" \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -dict="tests/fuzz/$t.dict" -artifact_prefix="$crashes/" "$corpus" "${seeds[@]}" \
      >"$log" 2>&1
  rc=$?
  cpu=$(tail -1 "$build/logs/$t.time" | awk '{printf "%.0f", $1 + $2}')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
  found=$(find "$crashes" -type f | wc -l)
  line="$t: ${cpu} CPU-s, ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, $found finding(s)"
  if ((rc != 0)) || ((found > 0)); then
    failed+=("$t")
    line+=" -- see $log and $crashes/"
    grep -E 'ERROR|fuzz check failed|Test unit written' "$log" | head -5
  fi
  summary+=("$line")
  echo "$line"
done
echo "== summary (FUZZ_SECONDS=$seconds)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "findings in: ${failed[*]}" >&2
  exit 1
fi
