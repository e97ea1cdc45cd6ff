#!/usr/bin/env bash
# Tests that `tools/cli-docs check` fails when the command's docs, code and completions drift
# apart. A fixture tree holds copies of the files it reads (docs/cli.md, src/cli/main.cpp,
# src/cli/cli_error.hpp, completions/, CMakeLists.txt); the check must pass on it as copied, then
# fail, saying why, on each copy with one thing drifted: an option the help lists and the text
# does not describe, an option the table lists and the help does not, an undocumented exit
# status, a subcommand without a section, an option or model a completion lacks, `help` or `-V`
# missing from the bash completion's first word.
#   tests/tools/cli_docs_test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# make_fixture NAME: a copy of what the check reads, in $work/NAME (set as $fixture).
make_fixture() {
  fixture=$work/$1
  mkdir -p "$fixture/docs" "$fixture/src/cli" "$fixture/completions"
  cp "$root/docs/cli.md" "$fixture/docs/"
  cp "$root/src/cli/main.cpp" "$root/src/cli/cli_error.hpp" "$fixture/src/cli/"
  cp "$root/completions/mmiotrace.bash" "$root/completions/_mmiotrace" "$fixture/completions/"
  cp "$root/CMakeLists.txt" "$fixture/"
}

# edit FILE PYTHON: runs PYTHON with `s` holding FILE (under $fixture), and writes `s` back; the
# edit must change the file.
edit() {
  python3 - "$fixture/$1" "$2" <<'END'
import sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    s = before = f.read()
exec(code)
if s == before:
    sys.exit(f"cli_docs_test: the edit changed nothing in {path}")
with open(path, "w") as f:
    f.write(s)
END
}

# expect NAME pass|fail [MESSAGE]: runs the check on fixture NAME; on fail, its output must
# hold MESSAGE (fixed text).
expect() {
  local status=0
  python3 "$root/tools/cli-docs" check "$work/$1" >"$work/$1.output" 2>&1 || status=$?
  if [ "$2" = pass ] && [ $status -ne 0 ]; then
    echo "FAIL $1: the check fails on a fixture where all agree:" >&2
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

make_fixture help_option_undescribed
edit docs/cli.md 's = s.replace("  --drop              when a thread",
  "  --frob              frob it\n  --drop              when a thread", 1)'
expect help_option_undescribed fail \
  "mmiotrace record: its help lists --frob, which its section does not describe"

make_fixture table_option_not_in_help
edit docs/cli.md \
  's = s.replace("| `--compress` |", "| `--quiet` | say less |\n| `--compress` |", 1)'
expect table_option_not_in_help fail \
  "mmiotrace record: its table lists --quiet, which its help does not"

make_fixture exit_status_undocumented
edit src/cli/cli_error.hpp 's = s.replace("enum ExitStatus : int {\n",
  "enum ExitStatus : int {\n  kExitNew = 109,\n", 1)'
expect exit_status_undocumented fail \
  "exit status 109 of cli_error.hpp is not in its 'Exit status' table"

make_fixture subcommand_without_section
edit src/cli/main.cpp 's = s.replace("{\"mark\", &run_mark",
  "{\"frob\", &run_frob, &kFrobUsage}, {\"mark\", &run_mark", 1)'
expect subcommand_without_section fail "main.cpp runs 'frob', which docs/cli.md has no section for"

make_fixture bash_lacks_option
edit completions/mmiotrace.bash \
  's = s.replace("--no-patch\n                  --drop", "--no-patch\n", 1)'
expect bash_lacks_option fail "completions/mmiotrace.bash: mmiotrace record: lacks --drop"

make_fixture zsh_lacks_option
edit completions/_mmiotrace 's = "\n".join(l for l in s.split("\n") if "--squash-polls[" not in l)'
expect zsh_lacks_option fail "completions/_mmiotrace: mmiotrace diff: lacks --squash-polls"

make_fixture zsh_lacks_model
edit completions/_mmiotrace \
  's = s.replace("models=(regfile nvme uart16550)", "models=(regfile nvme)", 1)'
expect zsh_lacks_model fail "completions/_mmiotrace: its models=(...) are not the built-in models"

make_fixture bash_lacks_help
edit completions/mmiotrace.bash 's = s.replace("\"$subcommands help\"", "\"$subcommands\"", 1)'
expect bash_lacks_help fail "completions/mmiotrace.bash: offers the subcommands"

make_fixture bash_lacks_short_version
edit completions/mmiotrace.bash 's = s.replace("--version -V", "--version", 1)'
expect bash_lacks_short_version fail "completions/mmiotrace.bash: mmiotrace: lacks -V"

if [ $failures -ne 0 ]; then
  echo "cli_docs_test: $failures cases failed" >&2
  exit 1
fi
echo "cli_docs_test: all cases passed"
