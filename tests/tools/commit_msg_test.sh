#!/usr/bin/env bash
# Tests scripts/hooks/commit-msg: messages in the form docs/coding_guidelines.md asks for pass,
# and each way of breaking it (a subject over 72 characters, without "area: ", or run on into
# the body) is refused with its reason.
#   tests/tools/commit_msg_test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hook=$root/scripts/hooks/commit-msg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect_pass NAME MESSAGE: the hook takes MESSAGE.
expect_pass() {
  printf '%s' "$2" >"$work/message"
  if ! "$hook" "$work/message" >"$work/output" 2>&1; then
    echo "FAIL $1: refused a good message:" >&2
    sed 's/^/  /' "$work/output" >&2
    failures=$((failures + 1))
    return
  fi
  echo "ok   $1"
}

# expect_refusal NAME MESSAGE REASON: the hook refuses MESSAGE, saying REASON (a grep -E
# pattern).
expect_refusal() {
  printf '%s' "$2" >"$work/message"
  if "$hook" "$work/message" >"$work/output" 2>&1; then
    echo "FAIL $1: took a message it must refuse" >&2
    failures=$((failures + 1))
    return
  fi
  if ! grep -Eq -- "$3" "$work/output"; then
    echo "FAIL $1: refused, but without saying /$3/:" >&2
    sed 's/^/  /' "$work/output" >&2
    failures=$((failures + 1))
    return
  fi
  echo "ok   $1"
}

subject_72="tools: $(printf 'x%.0s' $(seq 65))"
subject_73="tools: $(printf 'x%.0s' $(seq 66))"

expect_pass subject_and_body \
  $'tools: check-signal-safe fails on roots outside marked files\n\nWhy.\n'
expect_pass subject_only $'docs: say which headers are marked\n'
expect_pass subject_of_72_characters "$subject_72"$'\n\nWhy.\n'
expect_pass paths_and_commas_in_the_area $'src/kmmio,preload: move the notice handler\n\nWhy.\n'
# What git leaves out of the message: comment lines, blank lines before the subject.
expect_pass comments_and_leading_blank_lines \
  $'\n\n# Please enter the commit message\ncodecache: free the blocks it gives up\n\nWhy.\n'

expect_refusal subject_of_73_characters "$subject_73"$'\n\nWhy.\n' \
  'the subject has 73 characters; at most 72'
expect_refusal no_area $'Free the blocks the code cache gives up\n\nWhy.\n' \
  "the subject is not 'area: summary'"
expect_refusal capitalized_area $'Codecache: free the blocks it gives up\n' \
  "the subject is not 'area: summary'"
expect_refusal no_space_after_the_colon $'codecache:free the blocks it gives up\n' \
  "the subject is not 'area: summary'"
expect_refusal no_blank_line_after_the_subject \
  $'codecache: free the blocks it gives up\nbecause they pile up.\n' \
  'the subject is not followed by a blank line'
expect_refusal empty_message $'\n# only a comment\n' 'the message is empty'

if [ $failures -ne 0 ]; then
  echo "commit_msg_test: $failures cases failed" >&2
  exit 1
fi
echo "commit_msg_test: all cases passed"
