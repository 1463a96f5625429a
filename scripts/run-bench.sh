#!/usr/bin/env bash
# Runs the benchmarks built in BUILD_DIR (cmake -DNDE_BUILD_BENCH=ON) and writes the
# results to OUT_DIR. Called by `make bench`; see docs/benchmarks.md.
#
#   scripts/run-bench.sh [BUILD_DIR] [OUT_DIR]        (defaults: build-bench bench-out)
#   BENCH_QUICK=1 scripts/run-bench.sh ...            3 tolerances, short timings (smoke test)
#   BENCH_TOOLS=nde,gsl scripts/run-bench.sh ...      only these tools (or tool/method)
#
# OUT_DIR receives:
#   ode_workprecision.csv   one row per (problem, tool, method, rtol)
#   overhead.csv            ns per step on y' = -y, n = 1 and 1000
#   ode_summary.md/.txt     the tables printed at the end (ratios at matched error)
#   ode_ratio.csv           every nde run with the fastest peer's time at its error
#   ode_workprecision.png   work-precision plot, one panel per problem (gnuplot)
#   environment.txt         date, CPU, load average, compiler, commit
#   diffusion.txt           output of the diffusion benchmark, when it is built
#   adjoint.txt             gradient cost (forward, backward per adjoint kind) vs torch
#   brownian.txt            Brownian-tree query cost against tol and path length
#   sde.txt                 SDE solvers: overhead against a plain loop, torchsde's OU, work-precision
#   langevin.txt            Langevin MCMC: ESS per gradient of align/should/quicsort vs NUTS
#   train.txt               one training step on the nn layer vs torch and the floor;
#                           the spiral's ms per iteration
#   stiff.txt               stiff work-precision: Rosenbrock methods against CVODE, ARKODE, GSL, Boost
set -euo pipefail
build=${1:-build-bench}
out=${2:-bench-out}
bin="$build/bench"
[ -x "$bin/nde_bench_ode" ] || { echo "run-bench: $bin/nde_bench_ode not built" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$(cd "$bin" && pwd)

args=()
[ "${BENCH_QUICK:-0}" = 1 ] && args+=(--quick)
[ -n "${BENCH_TOOLS:-}" ] && args+=(--tools "$BENCH_TOOLS")

exes=("$bin/nde_bench_ode")
[ -x "$bin/nde_bench_ode_sun_o2" ] && exes+=("$bin/nde_bench_ode_sun_o2")

start=$(date +%s)
{
  echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //') ($(nproc 2>/dev/null) cores)"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (1/5/15 min, before the run)"
  echo "compiler: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
  echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
} | tee "$out/environment.txt"
echo
failed=0
merge() {   # merge CSVs with one header: merge OUT IN...
  local dst=$1; shift
  head -n 1 "$1" > "$dst"
  for f in "$@"; do tail -n +2 "$f" >> "$dst"; done
}

wp_parts=() oh_parts=()
for exe in "${exes[@]}"; do
  name=$(basename "$exe")
  echo "== $name: work-precision (progress on stderr)"
  "$exe" wp "${args[@]}" --csv "$out/.wp_$name.csv" 2> "$out/.wp_$name.log" || failed=1
  grep -E "done in|fail|differ|!=" "$out/.wp_$name.log" || true
  wp_parts+=("$out/.wp_$name.csv")
  echo "== $name: per-step overhead"
  "$exe" overhead "${args[@]}" --csv "$out/.oh_$name.csv" 2> "$out/.oh_$name.log" || failed=1
  oh_parts+=("$out/.oh_$name.csv")
done
merge "$out/ode_workprecision.csv" "${wp_parts[@]}"
merge "$out/overhead.csv" "${oh_parts[@]}"

echo
"$bin/nde_bench_ode" summary --wp "$out/ode_workprecision.csv" --overhead "$out/overhead.csv" \
  --out "$out" | tee "$out/ode_summary.txt"

if command -v gnuplot >/dev/null 2>&1; then
  (cd "$out" && gnuplot ode_wp.gp) && echo "plot: $out/ode_workprecision.png"
else
  echo "run-bench: gnuplot not found, no plot (gnuplot-nox)" >&2
fi

# Diffusion-sampler benchmark (bench/bench_diffusion.c), run in OUT_DIR.
if [ -x "$bin/nde_bench_diffusion" ]; then
  echo
  echo "== nde_bench_diffusion"
  dargs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && dargs+=(--quick)
  (cd "$out" && "$bin/nde_bench_diffusion" "${dargs[@]}") | tee "$out/diffusion.txt" || failed=1
fi

# Gradient-cost benchmark (bench/bench_adjoint.c) on the training-step problem's weights
# (data/mlp_2_64_64_2.txt).
if [ -x "$bin/nde_bench_adjoint" ]; then
  echo
  aargs=()
  w="$(cd "$(dirname "$0")/.." && pwd)/data/mlp_2_64_64_2.txt"
  [ -f "$w" ] && aargs+=(--weights "$w")
  if [ "${BENCH_QUICK:-0}" = 1 ]; then aargs+=(--repeats 3); else aargs+=(--train 300 --reg 0.3); fi
  OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_adjoint" "${aargs[@]}" | tee "$out/adjoint.txt" || failed=1
fi

# One training step on the nn layer (bench/bench_train.c) against torchdiffeq and this
# machine's floor, then the spiral's cost per iteration (nde train spiral).
if [ -x "$bin/nde_bench_train" ]; then
  echo
  targs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && targs+=(--repeats 5)
  {
    OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_train" "${targs[@]}" || failed=1
    tool="$build/tools/nde/nde"
    if [ -x "$tool" ]; then
      iters=500
      [ "${BENCH_QUICK:-0}" = 1 ] && iters=50
      echo "spiral (nde train spiral --iters $iters; torchdiffeq's ode_demo: 15.4 ms per iteration):"
      OPENBLAS_NUM_THREADS=1 "$tool" train spiral --quiet --iters "$iters" || failed=1
    fi
  } | tee "$out/train.txt"
fi

# Brownian-tree query cost (bench/bench_brownian.c): against tol, access pattern, length.
if [ -x "$bin/nde_bench_brownian" ]; then
  echo
  bargs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && bargs+=(--quick)
  "$bin/nde_bench_brownian" "${bargs[@]}" | tee "$out/brownian.txt" || failed=1
fi

# SDE solvers (bench/bench_sde.c): Euler-Maruyama against a plain loop, torchsde's OU, SRK work-precision.
if [ -x "$bin/nde_bench_sde" ]; then
  echo
  sargs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && sargs+=(--quick)
  OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_sde" "${sargs[@]}" | tee "$out/sde.txt" || failed=1
fi

# SDE gradients (bench/bench_sde_adjoint.c): checkpointed against reversible adjoint.
if [ -x "$bin/nde_bench_sde_adjoint" ]; then
  echo
  dargs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && dargs+=(--quick)
  OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_sde_adjoint" "${dargs[@]}" | tee "$out/sde_adjoint.txt" || failed=1
fi

# Steady-state gradients (bench/bench_steady.c): the implicit adjoint beside checkpoint and backsolve.
if [ -x "$bin/nde_bench_steady" ]; then
  echo
  targs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && targs+=(--quick)
  OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_steady" "${targs[@]}" | tee "$out/steady.txt" || failed=1
fi

# Underdamped Langevin MCMC (bench/bench_langevin.c): ESS per gradient against NUTS.
if [ -x "$bin/nde_bench_langevin" ]; then
  echo
  largs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && largs+=(--quick)
  "$bin/nde_bench_langevin" "${largs[@]}" | tee "$out/langevin.txt" || failed=1
fi

# Stiff work-precision (bench/bench_stiff.c): Rosenbrock methods against the stiff peers.
if [ -x "$bin/nde_bench_stiff" ]; then
  echo
  sargs=()
  [ "${BENCH_QUICK:-0}" = 1 ] && sargs+=(--rtols 3 --min-time 0.01)
  OPENBLAS_NUM_THREADS=1 "$bin/nde_bench_stiff" "${sargs[@]}" | tee "$out/stiff.txt" || failed=1
fi

echo
echo "run-bench: done in $(( $(date +%s) - start )) s; results in $out"
[ "$failed" = 0 ] || echo "run-bench: some runs failed (see the CSVs' status/note columns and $out/.*.log)" >&2
exit 0
