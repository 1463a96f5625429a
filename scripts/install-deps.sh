#!/usr/bin/env bash
# Installs the Debian packages nde needs, only those missing. Idempotent.
# Usage: scripts/install-deps.sh [build|bench|all]   (default: all)
#   build: compiler toolchain, CMake, OpenBLAS/LAPACKE, Random123, gnuplot
#   bench: build + the peers measured in bench/ (GSL, SUNDIALS, Boost.Odeint)
#   all:   bench + python3-torch/numpy (reference-implementation checks)
set -euo pipefail
what=${1:-all}
pkgs=(build-essential cmake pkg-config gnuplot-nox libopenblas-dev liblapacke-dev librandom123-dev)
case "$what" in
  build) ;;
  bench) pkgs+=(libgsl-dev libsundials-dev libboost-dev) ;;
  all)   pkgs+=(libgsl-dev libsundials-dev libboost-dev python3-numpy) ;;
  *) echo "usage: $0 [build|bench|all]" >&2; exit 2 ;;
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
