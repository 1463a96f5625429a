#!/usr/bin/env bash
# Installs the Debian packages nde needs, only those missing. Idempotent.
# Usage: scripts/install-deps.sh [build|bench|fuzz|all]   (default: all)
#   build: compiler toolchain, CMake, OpenBLAS/LAPACKE, Random123, gnuplot
#   bench: build + the peers measured in bench/ (GSL, SUNDIALS, Boost.Odeint)
#   fuzz:  build + clang and its compiler-rt (libFuzzer, ASan, UBSan) for tests/fuzz
#   all:   bench + fuzz + python3-torch/numpy (reference-implementation checks)
set -euo pipefail
what=${1:-all}
pkgs=(build-essential cmake pkg-config gnuplot-nox libopenblas-dev liblapacke-dev librandom123-dev)
# libFuzzer comes with the compiler-rt of the installed clang's version (Debian's
# libclang-rt-N-dev); without clang yet, the default clang and its matching runtime.
fuzz_pkgs=(clang libclang-rt-dev)
if clang_major=$(clang -dumpversion 2>/dev/null); then
  fuzz_pkgs=(clang "libclang-rt-${clang_major%%.*}-dev")
fi
case "$what" in
  build) ;;
  bench) pkgs+=(libgsl-dev libsundials-dev libboost-dev) ;;
  fuzz)  pkgs+=("${fuzz_pkgs[@]}") ;;
  all)   pkgs+=(libgsl-dev libsundials-dev libboost-dev "${fuzz_pkgs[@]}" python3-numpy) ;;
  *) echo "usage: $0 [build|bench|fuzz|all]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
