#!/usr/bin/env bash
# Builds arm64_qemu_check.cpp with the src/arm64 library for AArch64 (Debian's
# g++-aarch64-linux-gnu) and runs it under qemu-aarch64 (qemu-user): the emulator against the
# processor qemu models. Exits 77 (skipped) when either is absent.
# usage: tests/unit/arm64_qemu_check.sh SOURCE_ROOT WORK_DIR [WORDS]
set -euo pipefail
root=${1:?usage: arm64_qemu_check.sh SOURCE_ROOT WORK_DIR [WORDS]}
work=${2:?usage: arm64_qemu_check.sh SOURCE_ROOT WORK_DIR [WORDS]}
words=${3:-3000}
compiler=aarch64-linux-gnu-g++
for tool in "$compiler" qemu-aarch64; do
  if ! command -v "$tool" >/dev/null; then
    echo "skipped: $tool not found (Debian packages g++-aarch64-linux-gnu, qemu-user)"
    exit 77
  fi
done
mkdir -p "$work"
# -march: the LSE, RCpc and RCpc2 words the check runs; -static: no AArch64 sysroot at run time.
"$compiler" -std=c++20 -O2 -Wall -Wextra -Werror -march=armv8.4-a -static \
  -I"$root/src" -I"$root/include" -o "$work/arm64_qemu_check" \
  "$root/tests/unit/arm64_qemu_check.cpp" "$root/tests/unit/arm64_run_word.S" \
  "$root/src/arm64/decoder.cpp" "$root/src/arm64/emulator.cpp"
exec qemu-aarch64 -cpu max "$work/arm64_qemu_check" "$words"
