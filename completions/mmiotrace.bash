# bash completion for mmiotrace(1): the subcommands (and `help SUBCOMMAND`), their options, the
# values of --format, --to and --strategy, the built-in device models, commands and files. Installed as
# share/bash-completion/completions/mmiotrace; tools/cli-docs checks that it offers what
# docs/cli.md gives each subcommand.

_mmiotrace_options() {
  case $1 in
    record) echo "-o --output --format --compress -t --trace --strategy --no-divert --no-patch
                  --drop --buffer-size -d --device --pci --pci-only --qemu --help" ;;
    replay) echo "--map --pci-config -o --output --format --help" ;;
    dump) echo "--annotate --model --regs --strict --help" ;;
    convert) echo "--to --format --compress --regs --strict --help" ;;
    report) echo "--json --model --regs --strict --help" ;;
    diff) echo "--json --squash-polls --window --strict --help" ;;
    mark) echo "--pid --help" ;;
  esac
}

# Whether option $2 of subcommand $1 takes a value (the next word).
_mmiotrace_takes_value() {
  case "$1 $2" in
    "record -o" | "record --output" | "record --format" | "record -t" | "record --trace" | \
      "record --strategy" | "record --buffer-size" | "record -d" | "record --device" | \
      "record --pci" | "record --qemu" | \
      "replay --map" | "replay --pci-config" | "replay -o" | "replay --output" | "replay --format" | \
      "dump --model" | "dump --regs" | "convert --to" | "convert --format" | \
      "convert --regs" | "report --model" | "report --regs" | "diff --window" | "mark --pid")
      return 0 ;;
  esac
  return 1
}

_mmiotrace_models="regfile nvme uart16550"

_mmiotrace_files() {
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

_mmiotrace_bash() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  local subcommands="record replay dump convert report diff mark"
  if [ "$COMP_CWORD" -eq 1 ]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "--help -h --version -V" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$subcommands help" -- "$cur")
    fi
    return
  fi
  local subcommand=${COMP_WORDS[1]}
  if [ "$subcommand" = help ]; then  # mmiotrace help SUBCOMMAND
    [ "$COMP_CWORD" -eq 2 ] && mapfile -t COMPREPLY < <(compgen -W "$subcommands" -- "$cur")
    return
  fi

  # record and replay run a command: after '--', or after their first operand (replay's TRACE
  # comes first), the words are the command's.
  if [ "$subcommand" = record ] || [ "$subcommand" = replay ]; then
    local i operands=0 command_at=0
    for ((i = 2; i < COMP_CWORD; i++)); do
      local word=${COMP_WORDS[i]}
      if [ "$word" = -- ]; then
        command_at=$((i + 1))
        break
      elif [[ $word == -* ]]; then
        _mmiotrace_takes_value "$subcommand" "$word" && ((i++))
      else
        operands=$((operands + 1))
        local needed=1
        [ "$subcommand" = replay ] && needed=2
        if [ $operands -eq $needed ]; then
          command_at=$i
          break
        fi
      fi
    done
    if [ $command_at -gt 0 ]; then
      if [ $command_at -eq "$COMP_CWORD" ]; then
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
      else
        _mmiotrace_files "$cur"
      fi
      return
    fi
  fi

  case "$subcommand $prev" in
    "record --format" | "replay --format")
      mapfile -t COMPREPLY < <(compgen -W "text binary" -- "$cur"); return ;;
    "convert --to" | "convert --format")
      mapfile -t COMPREPLY < <(compgen -W "text binary perfetto" -- "$cur"); return ;;
    "record --strategy")
      mapfile -t COMPREPLY < <(compgen -W "emulate single-step" -- "$cur"); return ;;
    "record -d" | "record --device" | "record --pci")
      # A built-in model or a plugin's path, then [:ARGS]@PATH.
      _mmiotrace_files "$cur"
      mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$_mmiotrace_models" -- "$cur")
      return ;;
    "dump --model" | "report --model")
      # MAPID=MODEL
      if [[ $cur == *=* ]]; then
        mapfile -t COMPREPLY < <(compgen -P "${cur%%=*}=" -W "$_mmiotrace_models" -- "${cur#*=}")
      fi
      return ;;
    "record --buffer-size")
      mapfile -t COMPREPLY < <(compgen -W "64K 1M 4M 16M 64M 256M 1024M" -- "$cur"); return ;;
    "replay --map" | "diff --window" | "mark --pid")
      return ;;
  esac
  if _mmiotrace_takes_value "$subcommand" "$prev"; then
    _mmiotrace_files "$cur"
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_mmiotrace_options "$subcommand")" -- "$cur")
    return
  fi
  # An operand: record's first is the command, replay's first the trace and its second the
  # command; mark's are text.
  case "$subcommand ${operands:-0}" in
    "record 0" | "replay 1") mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
    mark*) ;;
    *) _mmiotrace_files "$cur" ;;
  esac
}

complete -F _mmiotrace_bash mmiotrace
