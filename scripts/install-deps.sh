#!/usr/bin/env bash
# Installs every package tstop needs to build, test and benchmark on Debian or Ubuntu.
# Idempotent: packages already present are left as they are. Needs root or sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3-venv
  libncurses-dev libsqlite3-dev sqlite3 libunwind-dev libzstd-dev zlib1g-dev libdw-dev
  libcmocka-dev protobuf-compiler
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  tmux groff-base man-db
  clang clang-format libclang-rt-dev
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
