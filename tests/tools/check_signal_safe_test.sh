#!/usr/bin/env bash
# Tests that tools/check-signal-safe fails when code that runs in signal context breaks its
# rules. A fixture is a small source tree (src/fixture, and its own tools/signal-context-roots)
# and a build tree laid out as CMake lays out the project's, its objects compiled here with the
# project's compiler. The check must pass on the fixture as made, then fail, saying why, on each
# copy with one rule broken: a marked file that calls malloc and fprintf; a root defined in an
# unmarked file, as a function, as an override of a listed class, or inline in an unmarked
# header; a root that matches nothing; a marked file that includes an unmarked header; and (in
# builds with a vector-free flush) a vector-free file that uses an SSE register.
#   tests/tools/check_signal_safe_test.sh CXX VECTOR_FREE_FLUSH
# CXX compiles the fixtures; VECTOR_FREE_FLUSH (ON or OFF) is the build's
# MMIOTRACE_VECTOR_FREE_FLUSH, which says whether the vector-free rules are checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${1:?usage: check_signal_safe_test.sh CXX ON|OFF}
vector_free=${2:?usage: check_signal_safe_test.sh CXX ON|OFF}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# write FILE: FILE (under the fixture being made, $fixture) gets standard input.
write() {
  mkdir -p "$(dirname "$fixture/$1")"
  cat >"$fixture/$1"
}

# make_fixture NAME: the sources of a fixture that keeps every rule, in $work/NAME (set as
# $fixture).
make_fixture() {
  fixture=$work/$1
  write tools/signal-context-roots <<'END'
# The fixture's signal handler.
fixture::on_signal(int)
# The fixture's flush, called through a pointer.
fixture::flush(unsigned long const*, unsigned long)
# Where the handler writes, by a virtual call.
virtuals of fixture::Sink
END
  write src/fixture/sink.hpp <<'END'
// mmiotrace: signal-safe
// Where the handler writes: any Sink.
#pragma once
namespace fixture {
class Sink {
 public:
  virtual void write(int value) = 0;

 protected:
  ~Sink() = default;
};
}  // namespace fixture
END
  write src/fixture/handler.hpp <<'END'
// mmiotrace: signal-safe
// The fixture's signal handler.
#pragma once
namespace fixture {
void on_signal(int signo);
}
END
  write src/fixture/counter.hpp <<'END'
// mmiotrace: signal-safe
// A counter of signals, inline.
#pragma once
namespace fixture {
inline int g_signals = 0;
inline void count(int signo) {
  g_signals += signo;
}
}  // namespace fixture
END
  write src/fixture/handler.cpp <<'END'
// mmiotrace: signal-safe
// The fixture's signal handler (see handler.hpp).
#include "fixture/handler.hpp"
#include "fixture/counter.hpp"
#include "fixture/sink.hpp"
namespace fixture {
class CountingSink final : public Sink {
 public:
  void write(int value) override;
};
void CountingSink::write(int value) {
  count(value);
}
CountingSink g_sink;
Sink* g_current_sink = &g_sink;
void on_signal(int signo) {
  g_current_sink->write(signo);
}
}  // namespace fixture
END
  write src/fixture/setup.hpp <<'END'
// Setting the fixture up, in normal context.
#pragma once
namespace fixture {
void* setup(unsigned long size);
}
END
  write src/fixture/setup.cpp <<'END'
// Setting the fixture up (see setup.hpp): normal context, where allocating and printing are fine.
#include "fixture/setup.hpp"
#include <cstdio>
#include <cstdlib>
namespace fixture {
void* setup(unsigned long size) {
  void* memory = std::malloc(size);
  std::fprintf(stderr, "%p\n", memory);
  return memory;
}
}  // namespace fixture
END
  write src/fixture/flush.hpp <<'END'
// mmiotrace: signal-safe
// The fixture's flush, with the general registers only.
#pragma once
namespace fixture {
unsigned long flush(const unsigned long* records, unsigned long count);
}
END
  write src/fixture/flush.cpp <<'END'
// mmiotrace: signal-safe, vector-free
// The fixture's flush (see flush.hpp).
#include "fixture/flush.hpp"
namespace fixture {
unsigned long flush(const unsigned long* records, unsigned long count) {
  unsigned long sum = 0;
  for (unsigned long i = 0; i < count; ++i)
    sum += records[i] * (i + 1);
  return sum;
}
}  // namespace fixture
END
}

# build_fixture: compiles $fixture's sources as the project would (with debug information, marked
# ones without exceptions, vector-free ones with the general registers only) into
# $fixture/build, and links them into the library the vector-free check reads.
build_fixture() {
  local objects=$fixture/build/src/fixture/CMakeFiles/fixture.dir
  mkdir -p "$objects"
  echo "MMIOTRACE_VECTOR_FREE_FLUSH:INTERNAL=$vector_free" >"$fixture/build/CMakeCache.txt"
  local source first_line options
  for source in "$fixture"/src/fixture/*.cpp; do
    first_line=$(head -n 1 "$source")
    options=(-std=c++20 -O2 -g -fPIC -fno-omit-frame-pointer -I"$fixture/src")
    [[ $first_line == "// mmiotrace: signal-safe"* ]] && options+=(-fno-exceptions)
    if [ "$first_line" = "// mmiotrace: signal-safe, vector-free" ] && [ "$vector_free" = ON ]; then
      options+=(-mgeneral-regs-only -minline-all-stringops)
    fi
    "$cxx" "${options[@]}" -c "$source" -o "$objects/$(basename "$source").o"
  done
  "$cxx" -shared -o "$fixture/build/src/fixture/libmmiotrace.so.0.1" "$objects"/*.o
}

# expect NAME pass|fail [MESSAGE...]: builds fixture NAME and runs the check on it; on fail, its
# output must hold each MESSAGE (a grep -E pattern).
expect() {
  local name=$1 outcome=$2 status=0 output=$work/$1.output
  shift 2
  build_fixture
  "$root/tools/check-signal-safe" --source-root "$fixture" "$fixture/build" >"$output" 2>&1 ||
    status=$?
  if [ "$outcome" = pass ] && [ $status -ne 0 ]; then
    echo "FAIL $name: the check fails on a fixture that keeps every rule:" >&2
    sed 's/^/  /' "$output" >&2
    failures=$((failures + 1))
    return
  fi
  if [ "$outcome" = fail ] && [ $status -eq 0 ]; then
    echo "FAIL $name: the check passes; it must fail, saying: $*" >&2
    sed 's/^/  /' "$output" >&2
    failures=$((failures + 1))
    return
  fi
  local message
  for message in "$@"; do
    if ! grep -Eq -- "$message" "$output"; then
      echo "FAIL $name: the check fails, but without saying /$message/:" >&2
      sed 's/^/  /' "$output" >&2
      failures=$((failures + 1))
      return
    fi
  done
  echo "ok   $name"
}

make_fixture clean
expect clean pass

make_fixture calls_malloc_and_fprintf
cat >>"$fixture/src/fixture/handler.cpp" <<'END'
// What the handler must not do: allocate and print.
#include <cstdio>
#include <cstdlib>
namespace fixture {
void* g_kept;  // seen by other files: the allocation stays
void report(int signo) {
  g_kept = std::malloc(64);
  std::fprintf(stderr, "signal %d\n", signo);
}
}  // namespace fixture
END
expect calls_malloc_and_fprintf fail \
  '^src/fixture/handler\.cpp: calls malloc, which is not known to be safe' \
  '^src/fixture/handler\.cpp: calls (__)?fprintf(_chk)?, which is not known to be safe'

make_fixture root_in_an_unmarked_file
echo 'fixture::on_usr1(int)' >>"$fixture/tools/signal-context-roots"
cat >>"$fixture/src/fixture/setup.cpp" <<'END'
namespace fixture {
void on_usr1(int signo) {
  std::fprintf(stderr, "%d\n", signo);
}
}  // namespace fixture
END
expect root_in_an_unmarked_file fail \
  '^check-signal-safe: fixture::on_usr1\(int\) runs in signal context' \
  'but src/fixture/setup\.cpp, which defines it, is not marked signal-safe'

make_fixture override_in_an_unmarked_file
cat >>"$fixture/src/fixture/setup.cpp" <<'END'
#include "fixture/sink.hpp"
namespace fixture {
class PrintingSink final : public Sink {
 public:
  void write(int value) override;
};
void PrintingSink::write(int value) {
  std::printf("%d\n", value);
}
PrintingSink g_printing_sink;
}  // namespace fixture
END
expect override_in_an_unmarked_file fail \
  '^check-signal-safe: fixture::PrintingSink::write\(int\) runs in signal context' \
  'but src/fixture/setup\.cpp, which defines it, is not marked signal-safe'

make_fixture root_inline_in_an_unmarked_header
echo 'fixture::on_usr2(int)' >>"$fixture/tools/signal-context-roots"
cat >>"$fixture/src/fixture/setup.hpp" <<'END'
namespace fixture {
inline void on_usr2(int) {}
}  // namespace fixture
END
cat >>"$fixture/src/fixture/setup.cpp" <<'END'
namespace fixture {
void (*g_usr2)(int) = &on_usr2;  // an inline function whose address is taken: a weak symbol
}  // namespace fixture
END
expect root_inline_in_an_unmarked_header fail \
  '^check-signal-safe: fixture::on_usr2\(int\) runs in signal context' \
  'but src/fixture/setup\.hpp, which defines it, is not marked signal-safe'

make_fixture stale_root
echo 'fixture::on_gone(int)' >>"$fixture/tools/signal-context-roots"
expect stale_root fail \
  'tools/signal-context-roots: "fixture::on_gone\(int\)" matches no function built from src/'

make_fixture includes_an_unmarked_header
sed -i 's|#include "fixture/counter.hpp"|&\n#include "fixture/setup.hpp"|' \
  "$fixture/src/fixture/handler.cpp"
expect includes_an_unmarked_header fail \
  '^src/fixture/handler\.cpp: includes "fixture/setup\.hpp", which is not marked signal-safe'

if [ "$vector_free" = ON ]; then
  make_fixture vector_free_file_uses_sse
  write src/fixture/flush.cpp <<'END'
// mmiotrace: signal-safe, vector-free
// The fixture's flush (see flush.hpp), which clears an SSE register it must leave alone.
#include "fixture/flush.hpp"
namespace fixture {
unsigned long flush(const unsigned long* records, unsigned long count) {
  asm volatile("pxor %%xmm0, %%xmm0" ::: "memory");
  return count != 0 ? records[0] : 0;
}
}  // namespace fixture
END
  expect vector_free_file_uses_sse fail \
    '^src/fixture/flush\.cpp: vector-free, but fixture::flush\(.*\) uses vector registers'
else
  echo "skip vector_free_file_uses_sse: this build has no vector-free flush"
fi

if [ $failures -ne 0 ]; then
  echo "check_signal_safe_test: $failures cases failed" >&2
  exit 1
fi
echo "check_signal_safe_test: all cases passed"
