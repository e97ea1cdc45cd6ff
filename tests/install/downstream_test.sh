#!/usr/bin/env bash
# Tests mmiotrace as installed, from the installed files only: `cmake --install` into a temporary
# prefix puts everything where GNUInstallDirs says; a downstream project (downstream/) builds
# once with find_package and once with pkg-config, and its programs use the probe and marker
# API; its device plugin, built against the installed device.h alone, is loaded by the installed
# mmiotrace; the command finds its library from a moved prefix and a DESTDIR; and it refuses, with
# exit status 122 and a message naming the path and the version, a library that is missing or of
# another version, unless MMIOTRACE_LIBRARY names a good one, and an AArch64 program when no
# AArch64 shim is installed (naming the package that holds one).
#   tests/install/downstream_test.sh BUILD_DIR C_COMPILER CXX_COMPILER MAN_PAGES(ON|OFF)
set -euo pipefail
build=$(cd "${1:?usage: downstream_test.sh BUILD_DIR CC CXX MAN_PAGES}" && pwd)
cc=${2:?C compiler}
cxx=${3:?C++ compiler}
man_pages=${4:?ON or OFF}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mmiotrace-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^project(mmiotrace VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
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

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(cd "$prefix" && find . -name libmmiotrace.so.0 -printf '%h\n' | sed 's|^\./||')
for file in bin/mmiotrace "$libdir/libmmiotrace.so" "$libdir/libmmiotrace.so.$version" \
            include/mmiotrace/mmiotrace.h include/mmiotrace/mmiotrace.hpp \
            include/mmiotrace/device.h "$libdir/cmake/mmiotrace/mmiotraceConfig.cmake" \
            "$libdir/cmake/mmiotrace/mmiotraceConfigVersion.cmake" \
            "$libdir/pkgconfig/mmiotrace.pc" "$libdir/pkgconfig/mmiotrace-device.pc" \
            share/mmiotrace/examples/nvme_init.c share/mmiotrace/register-maps/nvme.svd \
            share/bash-completion/completions/mmiotrace share/doc/mmiotrace/README.md \
            share/doc/mmiotrace/CHANGELOG.md share/doc/mmiotrace/docs/cli.md; do
  [ -e "$prefix/$file" ] || fail "install: $file is not installed"
done
if [ "$man_pages" = ON ]; then
  for page in man1/mmiotrace.1.gz man1/mmiotrace-record.1.gz man1/mmiotrace-replay.1.gz \
              man3/mmiotrace.3.gz man3/mmiotrace-device.3.gz man5/mmiotrace-trace.5.gz; do
    [ -e "$prefix/share/man/$page" ] || fail "install: man page $page is not installed"
  done
fi
soname=$(readelf -d "$prefix/$libdir/libmmiotrace.so.$version" |
         sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libmmiotrace.so.0 ] || fail "install: the library's SONAME is '$soname'"
[ $failures -eq 0 ] && ok "cmake --install puts the command, library, headers, docs in $libdir"

out=$(clean_env "$prefix/bin/mmiotrace" --version)
[ "$out" = "mmiotrace $version" ] && ok "--version: $out" || fail "--version prints '$out'"

# The downstream project, with find_package.
if cmake -S "$here/downstream" -B "$work/downstream" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >"$work/downstream.log" 2>&1 &&
   cmake --build "$work/downstream" >>"$work/downstream.log" 2>&1; then
  ok "find_package(mmiotrace $version): the downstream project builds"
else
  fail "find_package: the downstream project does not build:"
  sed 's/^/  /' "$work/downstream.log" >&2
fi
# find_package(mmiotrace 9.0) must refuse this version.
mkdir -p "$work/newer"
cat >"$work/newer/CMakeLists.txt" <<'END'
cmake_minimum_required(VERSION 3.25)
project(newer NONE)
find_package(mmiotrace 9.0 REQUIRED)
END
if cmake -S "$work/newer" -B "$work/newer/build" -DCMAKE_PREFIX_PATH="$prefix" \
     >"$work/newer.log" 2>&1; then
  fail "find_package(mmiotrace 9.0) accepts version $version"
else
  ok "find_package(mmiotrace 9.0) refuses version $version"
fi

# The same sources with pkg-config.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
pc_libdir=$(pkg-config --variable=libdir mmiotrace)
[ "$pc_libdir" = "$prefix/$libdir" ] || fail "pkg-config: libdir is $pc_libdir"
[ "$(pkg-config --modversion mmiotrace)" = "$version" ] || fail "pkg-config: another version"
# shellcheck disable=SC2046
if "$cc" -std=c11 -o "$work/probe_c_pc" "$here/downstream/probe.c" \
     $(pkg-config --cflags --libs mmiotrace) -Wl,-rpath,"$pc_libdir" &&
   "$cxx" -std=c++17 -o "$work/probe_cpp_pc" "$here/downstream/probe.cpp" \
     $(pkg-config --cflags --libs mmiotrace) -Wl,-rpath,"$pc_libdir" &&
   "$cc" -std=c99 -pedantic-errors -Wall -Wextra -Werror -shared -fPIC -o "$work/counter_pc.so" \
     "$here/downstream/counter.c" $(pkg-config --cflags mmiotrace-device); then
  ok "pkg-config: the downstream programs and plugin build"
else
  fail "pkg-config: the downstream programs do not build"
fi
unset PKG_CONFIG_PATH
if nm -D --undefined-only "$work/counter_pc.so" | grep -q mmiotrace; then
  fail "the plugin needs symbols of mmiotrace: the device ABI is not a header alone"
fi

# The programs, as built both ways.
for probe in "$work/downstream/probe_c" "$work/probe_c_pc"; do
  rm -f "$work/self.txt"
  if out=$(clean_env "$probe" "$work/self.txt" 2>&1) &&
     clean_env "$prefix/bin/mmiotrace" dump "$work/self.txt" >"$work/self.dump" &&
     grep -q "MARK .* downstream C program" "$work/self.dump" &&
     grep -q "^W 4 .* 0xfe000004 0xc0ffee " "$work/self.dump"; then
    ok "$(basename "$probe"): $out; its own trace has its marker and access"
  else
    fail "$(basename "$probe"): $out"
  fi
done
for probe in "$work/downstream/probe_cpp" "$work/probe_cpp_pc"; do
  if out=$(clean_env "$probe" 2>&1); then
    ok "$(basename "$probe"): $out"
  else
    fail "$(basename "$probe"): $out"
  fi
done

# record_counter MMIOTRACE PLUGIN [ENV...]: the installed command traces the plugin's driver.
record_counter() {
  local command=$1 plugin=$2
  shift 2
  (cd "$work" && clean_env "$@" "$command" record -o "$work/counter.txt" \
     --device "$plugin@/dev/fake-counter" -- "$work/downstream/counter_driver" /dev/fake-counter)
}
for plugin in "$work/downstream/counter.so" "$work/counter_pc.so"; do
  if out=$(record_counter "$prefix/bin/mmiotrace" "$plugin" 2>&1) &&
     [ "$(grep -c '^R 4 .* 0x4 0x[123] ' "$work/counter.txt")" = 3 ]; then
    ok "the installed mmiotrace runs the driver against $(basename "$plugin"): $out"
  else
    fail "the installed mmiotrace with $(basename "$plugin"): $out"
  fi
done

# Relocated: the prefix moved elsewhere, and an install under DESTDIR.
mv "$prefix" "$work/moved"
if out=$(record_counter "$work/moved/bin/mmiotrace" "$work/counter_pc.so" 2>&1); then
  ok "a moved prefix: the command finds its library"
else
  fail "a moved prefix: $out"
fi
DESTDIR=$work/stage cmake --install "$build" --prefix /opt/mmiotrace >/dev/null
if out=$(record_counter "$work/stage/opt/mmiotrace/bin/mmiotrace" "$work/counter_pc.so" 2>&1); then
  ok "DESTDIR: the command finds its library"
else
  fail "DESTDIR: $out"
fi

# expect_refusal WHAT NEEDLE... [-- ENV...]: record must exit 122 without running the driver,
# saying each NEEDLE.
expect_refusal() {
  local what=$1 status=0 needle
  shift
  local needles=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do needles+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rm -f "$work/ran"
  out=$(cd "$work" && clean_env "$@" "$work/moved/bin/mmiotrace" record -o "$work/refused.txt" \
          -- touch "$work/ran" 2>&1) || status=$?
  if [ $status -ne 122 ]; then
    fail "$what: exit status $status, not 122: $out"
  elif [ -e "$work/ran" ]; then
    fail "$what: the command ran untraced"
  else
    for needle in "${needles[@]}"; do
      if [[ $out != *"$needle"* ]]; then
        fail "$what: the message does not say '$needle': $out"
        return
      fi
    done
    ok "$what: $out"
  fi
}
# An AArch64 program, with no AArch64 shim beside the installed command (cmake --install of the
# x86-64 build installs none): refused, naming the package that holds one. When the cross
# compiler and qemu-aarch64 are here to make and run such a program.
if command -v aarch64-linux-gnu-gcc >/dev/null && [ -x /usr/bin/qemu-aarch64 ]; then
  printf 'int main(void) { return 0; }\n' >"$work/arm64_program.c"
  aarch64-linux-gnu-gcc -o "$work/arm64_program" "$work/arm64_program.c"
  status=0
  out=$(cd "$work" && clean_env "$work/moved/bin/mmiotrace" record -o "$work/arm64.txt" -- \
          "$work/arm64_program" 2>&1) || status=$?
  if [ $status -eq 122 ] && [[ $out == *"aarch64-linux-gnu/libmmiotrace.so.0"* ]] &&
     [[ $out == *"install the package mmiotrace-shim-arm64"* ]]; then
    ok "an AArch64 program with no AArch64 shim installed: $out"
  else
    fail "an AArch64 program with no AArch64 shim installed: exit status $status: $out"
  fi
fi

library=$(cd "$work/moved" && echo "$PWD/$libdir/libmmiotrace.so.0")
cp -L "$library" "$work/good-library.so"
rm "$library"
expect_refusal "a missing library" "$library" "$version"
"$cc" -shared -nostdlib -DMMIOTRACE_LIBRARY_VERSION='"0.1.0"' -o "$library" \
  "$root/src/preload/version_note.S"
expect_refusal "a library of version 0.1.0" "$library" "is of mmiotrace 0.1.0" "$version"
expect_refusal "MMIOTRACE_LIBRARY naming a library of version 0.1.0" "$library" "0.1.0" \
  "MMIOTRACE_LIBRARY" -- MMIOTRACE_LIBRARY="$library"
if out=$(record_counter "$work/moved/bin/mmiotrace" "$work/counter_pc.so" \
           MMIOTRACE_LIBRARY="$work/good-library.so" 2>&1); then
  ok "MMIOTRACE_LIBRARY overrides a library of another version"
else
  fail "MMIOTRACE_LIBRARY naming a good library: $out"
fi

if [ $failures -ne 0 ]; then
  echo "downstream_test: $failures checks failed" >&2
  exit 1
fi
echo "downstream_test: all checks passed"
