#!/usr/bin/env bash
# Tests the Debian package (scripts/package) on this machine, as root: installs it with apt-get
# (which brings the dependencies dpkg-shlibdeps named), checks its files are where Debian wants
# them, then, from the installed files only (nothing of the build or source tree on the paths),
# records a small program, builds the downstream project against it with find_package, and runs
# the README's demo (scripts/demo --installed); then removes the package, also when a check fails.
# With SHIM_DEB (mmiotrace-shim-arm64, which scripts/package builds beside it), installs that too
# and records an AArch64 program under qemu-aarch64 with the installed command.
#   tests/install/package_test.sh DEB [SHIM_DEB]
set -euo pipefail
deb=$(realpath "${1:?usage: package_test.sh DEB [SHIM_DEB]}")
shim_deb=${2:+$(realpath "$2")}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mmiotrace-package-XXXXXX")
chmod 755 "$work"
failures=0
fail() {
  echo "FAIL $*" >&2
  failures=$((failures + 1))
}
ok() {
  echo "ok   $*"
}
# Runs a command with nothing of the build or the source tree on its paths.
clean_env() {
  env -i PATH=/usr/bin:/bin HOME="$work" TMPDIR="$work" "$@"
}

if dpkg-query -W mmiotrace >/dev/null 2>&1; then
  echo "package_test: mmiotrace is installed already; remove it first (apt-get remove" \
       "mmiotrace)" >&2
  exit 1
fi
remove() {
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq --purge mmiotrace \
    ${shim_deb:+mmiotrace-shim-arm64:arm64} >/dev/null || true
  rm -rf "$work"
}
trap remove EXIT

version=$(dpkg-deb --field "$deb" Version)
depends=$(dpkg-deb --field "$deb" Depends)
echo "package_test: $(basename "$deb"): Depends: $depends"
for library in libzydis libzstd libdw libstdc++6 libc6; do
  [[ $depends == *"$library"* ]] || fail "Depends lacks $library"
done
if [ -n "$shim_deb" ]; then
  [ "$(dpkg-deb --field "$shim_deb" Architecture)" = arm64 ] ||
    fail "$(basename "$shim_deb") is not an arm64 package"
  echo "package_test: $(basename "$shim_deb"): Depends: $(dpkg-deb --field "$shim_deb" Depends)"
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" ${shim_deb:+"$shim_deb"} \
  >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for file in /usr/bin/mmiotrace "/usr/lib/$multiarch/libmmiotrace.so.0" \
            "/usr/lib/$multiarch/cmake/mmiotrace/mmiotraceConfig.cmake" \
            "/usr/lib/$multiarch/pkgconfig/mmiotrace.pc" /usr/include/mmiotrace/device.h \
            /usr/share/man/man1/mmiotrace.1.gz /usr/share/man/man1/mmiotrace-record.1.gz \
            /usr/share/man/man3/mmiotrace-device.3.gz /usr/share/man/man5/mmiotrace-trace.5.gz \
            /usr/share/bash-completion/completions/mmiotrace \
            /usr/share/zsh/vendor-completions/_mmiotrace /usr/share/doc/mmiotrace/README.md \
            /usr/share/doc/mmiotrace/copyright \
            /usr/share/mmiotrace/examples/nvme_init.c \
            /usr/share/mmiotrace/register-maps/nvme.svd; do
  dpkg -S "$file" >/dev/null 2>&1 || fail "the package does not hold $file"
done
[ "$(pkg-config --variable=prefix mmiotrace)" = /usr ] || fail "mmiotrace.pc's prefix is not /usr"
if [ -x /usr/bin/man ] && ! man -w mmiotrace-record >/dev/null 2>&1; then
  fail "man does not find mmiotrace-record(1)"
fi
[ $failures -eq 0 ] && ok "mmiotrace $version installed; its files are where Debian wants them"

cd "$work"
out=$(clean_env mmiotrace --version)
[ "$out" = "mmiotrace $version" ] && ok "mmiotrace --version: $out" || fail "--version: $out"

# A small program, recorded: regpoke (an example the package ships) against a regfile device.
clean_env cc -O1 -o "$work/regpoke" /usr/share/mmiotrace/examples/regpoke.c
if out=$(clean_env mmiotrace record -o "$work/regpoke.txt" --device regfile@/dev/fake-regs -- \
           "$work/regpoke" /dev/fake-regs 2>&1) &&
   clean_env mmiotrace dump "$work/regpoke.txt" | grep -q '^W 8 '; then
  ok "mmiotrace record of regpoke: $(grep -c '^[RW] ' "$work/regpoke.txt") accesses"
else
  fail "mmiotrace record of regpoke: $out"
fi

# An AArch64 program, recorded by the installed command under qemu-aarch64 with the installed
# AArch64 shim: its store and load of a register file, with their values.
if [ -n "$shim_deb" ]; then
  dpkg -S /usr/lib/aarch64-linux-gnu/libmmiotrace.so.0 >/dev/null 2>&1 ||
    fail "$(basename "$shim_deb") does not hold /usr/lib/aarch64-linux-gnu/libmmiotrace.so.0"
  cat >"$work/poke_arm64.c" <<'PROGRAM'
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char** argv) {
  int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 2;
  volatile uint32_t* regs = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (regs == MAP_FAILED) return 3;
  regs[4] = 0x5eed1234;
  printf("read back %#x\n", regs[4]);
  return 0;
}
PROGRAM
  clean_env aarch64-linux-gnu-gcc -O1 -o "$work/poke_arm64" "$work/poke_arm64.c"
  if out=$(clean_env mmiotrace record -o "$work/arm64.txt" --trace "$work/arm64.reg" -- \
             "$work/poke_arm64" "$work/arm64.reg" 2>&1) &&
     [ "$out" = "read back 0x5eed1234" ] && grep -q '^W 4 .* 0x10 0x5eed1234 ' "$work/arm64.txt" &&
     grep -q '^R 4 .* 0x10 0x5eed1234 ' "$work/arm64.txt" &&
     grep -q '^MARK .* arch .* aarch64' "$work/arm64.txt"; then
    ok "mmiotrace record of an AArch64 program under qemu-aarch64, with the installed shim"
  else
    fail "mmiotrace record of an AArch64 program: $out"
    sed 's/^/  /' "$work/arm64.txt" >&2 || true
  fi
fi

# The downstream project, with find_package and no prefix given.
if clean_env cmake -S "$here/downstream" -B "$work/downstream" >"$work/downstream.log" 2>&1 &&
   clean_env cmake --build "$work/downstream" >>"$work/downstream.log" 2>&1 &&
   clean_env "$work/downstream/probe_cpp" >>"$work/downstream.log" 2>&1; then
  ok "find_package(mmiotrace) finds the package; a downstream program runs"
else
  fail "find_package against the package:"
  sed 's/^/  /' "$work/downstream.log" >&2
fi

# The README's demo, from the installed files.
if clean_env bash "$root/scripts/demo" --installed >"$work/demo.log" 2>&1 &&
   grep -q "NVME.CSTS RDY=READY" "$work/demo.log"; then
  ok "the README's demo runs from the installed files"
else
  fail "the README's demo:"
  sed 's/^/  /' "$work/demo.log" >&2
fi

cd /
remove
trap - EXIT
if [ -e /usr/bin/mmiotrace ] || dpkg-query -W mmiotrace >/dev/null 2>&1; then
  fail "apt-get remove leaves mmiotrace behind"
else
  ok "removed"
fi

if [ $failures -ne 0 ]; then
  echo "package_test: $failures checks failed" >&2
  exit 1
fi
echo "package_test: all checks passed"
