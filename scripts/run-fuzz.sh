#!/usr/bin/env bash
# Runs every libFuzzer harness (tests/fuzz/) for a set time on its committed seed corpus,
# after replaying the harness's recorded findings (tests/fuzz/findings/). New inputs go
# to OUT/<harness>/corpus; a crash, leak, timeout or out-of-memory input is saved as
# OUT/<harness>/<kind>-<sha1> and the script exits nonzero after all harnesses ran.
# Usage: scripts/run-fuzz.sh BUILD_DIR SECONDS [OUT_DIR [harness ...]]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: $0 BUILD_DIR SECONDS [OUT_DIR [harness ...]]}
secs=${2:?usage: $0 BUILD_DIR SECONDS [OUT_DIR [harness ...]]}
out=${3:-fuzz-out}
shift $(( $# < 3 ? $# : 3 ))
harnesses=("$@")
# default: every harness the build made (the one list is NDE_FUZZERS in tests/fuzz/CMakeLists.txt)
if [ ${#harnesses[@]} -eq 0 ]; then
  for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] && harnesses+=("$(basename "$bin")")
  done
  [ ${#harnesses[@]} -gt 0 ] || { echo "run-fuzz: no harnesses built in $build/tests/fuzz" >&2; exit 2; }
fi

failed=()
for h in "${harnesses[@]}"; do
  bin=$build/tests/fuzz/$h
  [ -x "$bin" ] || { echo "run-fuzz: $bin not built" >&2; exit 2; }
  mkdir -p "$out/$h/corpus"
  log=$out/$h/log.txt
  shopt -s nullglob
  findings=(tests/fuzz/findings/"${h#fuzz_}"-*)
  shopt -u nullglob
  if [ ${#findings[@]} -gt 0 ] && ! "$bin" "${findings[@]}" > "$out/$h/findings.txt" 2>&1; then
    echo "run-fuzz: $h fails on a recorded finding (see $out/$h/findings.txt):"
    tail -20 "$out/$h/findings.txt"
    failed+=("$h")
    continue
  fi
  echo "run-fuzz: $h for ${secs} s (log $log)"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$out/$h/" "$out/$h/corpus" "tests/fuzz/corpus/$h" > "$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "run-fuzz: $h: ${runs:-?} executions, ${rate:-?} exec/s; ${last#* }" | sed 's/  */ /g'
  if [ $rc -ne 0 ]; then
    failed+=("$h")
    echo "run-fuzz: $h FAILED (exit $rc); the input that failed:"
    for a in "$out/$h"/{crash,leak,timeout,oom,slow-unit}-*; do
      [ -e "$a" ] && echo "    $a    (reproduce: $bin $a)"
    done
    grep -v '^#' "$log" | tail -40
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "run-fuzz: all ${#harnesses[@]} harnesses ran ${secs} s without a finding"
