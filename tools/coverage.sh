#!/usr/bin/env bash
# make coverage: how much of broker/ the simulator reaches, as a figure.
#
#   tools/coverage.sh BUILD_DIR broker/FILE.c...
#
# BUILD_DIR holds a sluice-sim built with --coverage (the Makefile's
# `coverage` target builds it in build-cov/ and passes $(BROKER_SRC)). This
# script zeroes the counters, runs every scenario that can run today for a
# few seeds and a swarm sweep, asks gcov for the counts of each broker file,
# and has tools/coverage_report.py print line, branch and function coverage
# per folder and the functions never reached; per-file details go to
# BUILD_DIR/coverage.txt. Nothing is gated on a threshold.
#
# The printed output depends only on the code: the runs are deterministic
# and coverage counts a line as reached or not, whatever the order the
# parallel runs merge their counters in (libgcov locks each .gcda file).
#
# Settings (environment): COVERAGE_SEEDS (seeds per scenario, default 1..5),
# COVERAGE_SWARM_SEEDS (default 1..100), COVERAGE_QUORUM_SWARM_SEEDS (the
# multi-node quorum swarm, default 1..50), COVERAGE_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C # name order, whatever the caller's locale

build=${1:?usage: tools/coverage.sh BUILD_DIR broker/FILE.c...}
shift
[ $# -gt 0 ] || { echo "coverage: no broker sources given" >&2; exit 2; }
sim=$build/sluice-sim
[ -x "$sim" ] || { echo "coverage: $sim is missing (make coverage builds it)" >&2; exit 2; }
seeds=${COVERAGE_SEEDS:-1..5}
swarm=${COVERAGE_SWARM_SEEDS:-1..100}
quorum_swarm=${COVERAGE_QUORUM_SWARM_SEEDS:-1..50}
jobs=${COVERAGE_JOBS:-$(nproc)}
work=$build/coverage-work
out=$build/coverage.txt

# Counters from an earlier run (or an older build) would add up: start from zero.
find "$build" -name '*.gcda' -delete
rm -rf "$work"
mkdir -p "$work/runs"

# The runs. A swarm sweep (--swarm --seeds A..B) runs each seed in a forked
# child that ends with _exit(), which skips libgcov's dump at exit, so a
# sweep's children would add nothing; each swarm seed is therefore run as a
# replay (--seeds N..N), which runs in the process and returns from main().
# A run that crashes (a broker assertion) loses its counts too: it is listed.
{
  for f in scenarios/*.yaml; do
    for seed in $(seq "${seeds%..*}" "${seeds#*..}"); do
      printf '%s %s --scenario %s --seed %s\n' "$(basename "$f" .yaml)" "$seed" "$f" "$seed"
    done
  done
  for seed in $(seq "${swarm%..*}" "${swarm#*..}"); do
    printf 'swarm %s --swarm --seeds %s..%s\n' "$seed" "$seed" "$seed"
  done
  for seed in $(seq "${quorum_swarm%..*}" "${quorum_swarm#*..}"); do
    printf 'swarm-quorum %s --swarm --quorum --seeds %s..%s\n' "$seed" "$seed" "$seed"
  done
} > "$work/plan"

# One run: NAME SEED SIM-ARGS... -> $work/runs/NAME.SEED holds "exit-status why".
run_one() {
  local name=$1 seed=$2 rc=0 text
  shift 2
  text=$("$COV_SIM" "$@" 2>&1) || rc=$?
  printf '%s %s\n' "$rc" "$(sed -n 's/.*cannot run yet: //p' <<< "$text" | head -1)" \
    > "$COV_WORK/runs/$name.$seed"
}
export -f run_one
export COV_SIM=$sim COV_WORK=$work
echo "coverage: $(wc -l < "$work/plan") runs of $sim, $jobs at a time" >&2
xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' run_one < "$work/plan"

# What ran, per scenario, in name order.
mapfile -t names < <(cut -d' ' -f1 "$work/plan" | sort -u)
for name in "${names[@]}"; do
  pass=0 fail=0 crashed=() why=""
  for f in "$work/runs/$name".*; do
    read -r rc reason < "$f"
    case $rc in
      0) pass=$((pass + 1)) ;;
      1) fail=$((fail + 1)) ;;
      2) [ -n "$reason" ] && why=$reason || crashed+=("${f##*.}") ;;
      *) crashed+=("${f##*.}") ;;
    esac
  done
  case $name in
    swarm) range=$swarm ;;
    swarm-quorum) range=$quorum_swarm ;;
    *) range=$seeds ;;
  esac
  if [ -n "$why" ]; then
    echo "ran: $name: not runnable yet ($why)"
  else
    line="ran: $name: seeds $range, $pass passed, $fail failed"
    if [ ${#crashed[@]} -gt 0 ]; then
      mapfile -t crashed < <(printf '%s\n' "${crashed[@]}" | sort -n)
      line+=", seeds ${crashed[*]} crashed or could not run (their counts are lost)"
    fi
    echo "$line"
  fi
done

# gcov's counts per source file, one JSON document a line (gcc 12: -t --json-format).
: > "$work/gcov.jsonl"; : > "$work/gcov.err"
for src in "$@"; do
  obj=$build/${src%.c}
  [ -f "$obj.gcno" ] || { echo "coverage: $obj.gcno is missing" >&2; exit 2; }
  # A file no run reached has no .gcda; gcov then says so and counts zeros.
  gcov -t --json-format --branch-probabilities -o "$(dirname "$obj")" "$src" \
    >> "$work/gcov.jsonl" 2>> "$work/gcov.err"
done
grep -v 'cannot open data file, assuming not executed' "$work/gcov.err" >&2 || true

/usr/bin/python3 tools/coverage_report.py "$work/gcov.jsonl" "$out"
