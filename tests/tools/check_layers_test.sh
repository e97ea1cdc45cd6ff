#!/usr/bin/env bash
# Tests that tools/check-layers fails when the layering is broken. A fixture tree holds copies
# of the three files that state the layering and a tiny src/ that keeps it; the check must pass
# on it as made, then fail, saying why, on each copy with one rule broken: an include of a layer
# above, Zydis reached through a header, statements that differ, a source without a header.
#   tests/tools/check_layers_test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# write FILE: FILE (under the fixture being made, $fixture) gets standard input.
write() {
  mkdir -p "$(dirname "$fixture/$1")"
  cat >"$fixture/$1"
}

# make_fixture NAME: a fixture that keeps the layering, in $work/NAME (set as $fixture).
make_fixture() {
  fixture=$work/$1
  for statement in docs/architecture.md CMakeLists.txt docs/coding_guidelines.md; do
    mkdir -p "$(dirname "$fixture/$statement")"
    cp "$root/$statement" "$fixture/$statement"
  done
  write src/core/text.hpp <<'END'
// Text (a fixture of tests/tools/check_layers_test.sh).
#pragma once
END
  write src/core/text.cpp <<'END'
// Text (see text.hpp).
#include "core/text.hpp"
END
  write src/x86/decoder.hpp <<'END'
// A decoder, which may see Zydis.
#pragma once
#include <Zydis/Zydis.h>
END
  write src/x86/decoder.cpp <<'END'
// A decoder (see decoder.hpp).
#include "x86/decoder.hpp"
#include "core/text.hpp"
END
  write src/backend/access.hpp <<'END'
// Accesses.
#pragma once
#include "core/text.hpp"
END
  write src/backend/access.cpp <<'END'
// Accesses (see access.hpp).
#include "backend/access.hpp"
#include "mmiotrace/mmiotrace.h"
END
}

# expect NAME pass|fail [MESSAGE]: runs the check on fixture NAME; on fail, its output must
# hold MESSAGE (fixed text).
expect() {
  local status=0
  "$root/tools/check-layers" "$work/$1" >"$work/$1.output" 2>&1 || status=$?
  if [ "$2" = pass ] && [ $status -ne 0 ]; then
    echo "FAIL $1: the check fails on a fixture that keeps the layering:" >&2
    sed 's/^/  /' "$work/$1.output" >&2
    failures=$((failures + 1))
  elif [ "$2" = fail ] && [ $status -eq 0 ]; then
    echo "FAIL $1: the check passes; it must fail, saying: $3" >&2
    failures=$((failures + 1))
  elif [ "$2" = fail ] && ! grep -Fq -- "$3" "$work/$1.output"; then
    echo "FAIL $1: the check fails, but without saying: $3" >&2
    sed 's/^/  /' "$work/$1.output" >&2
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

make_fixture clean
expect clean pass

make_fixture include_from_above
write src/core/text.cpp <<'END'
// Text (see text.hpp), which reaches up into the engine.
#include "core/text.hpp"
#include "kmmio/engine.hpp"
END
expect include_from_above fail \
  'src/core/text.cpp: includes "kmmio/engine.hpp", but core may not include kmmio'

make_fixture zydis_through_a_header
write src/backend/access.cpp <<'END'
// Accesses (see access.hpp), through the decoder's header, which brings Zydis.
#include "backend/access.hpp"
#include "x86/decoder.hpp"
END
expect zydis_through_a_header fail \
  'src/backend/access.cpp: sees Zydis through x86/decoder.hpp -> <Zydis/Zydis.h>'

make_fixture statements_differ
sed -i -E 's/^(  devices +<- core)$/\1 x86/' "$fixture/docs/coding_guidelines.md"
grep -Eq '^  devices +<- core x86$' "$fixture/docs/coding_guidelines.md"
expect statements_differ fail \
  "docs/coding_guidelines.md: its layering statement differs from docs/architecture.md's"

make_fixture source_without_a_header
write src/core/lonely.cpp <<'END'
// A source whose functions nobody declares.
#include "core/text.hpp"
END
expect source_without_a_header fail \
  'src/core/lonely.cpp: has no header of its own name'

if [ $failures -ne 0 ]; then
  echo "check_layers_test: $failures cases failed" >&2
  exit 1
fi
echo "check_layers_test: all cases passed"
