#!/usr/bin/env bash
# make mutants: mutation testing of the simulator. Every mutant of the
# catalog (tests/mutants.txt) is built as build-mutant-<name>/sluice-sim
# (make canary CANARIES=<name>), then tried until something catches it:
# first the shipped scenarios (those tests/run-sim.sh runs), seed by seed,
# then a swarm sweep in chunks. A run catches a mutant when it fails (a
# checker's violation, an assertion, a fatal signal, a hang) and the same run
# passes on the unmutated build (bin/sluice-sim). The table at the end says
# which run and which checker caught each mutant; the exit status is 1 if
# any mutant was not caught (or did not build).
#
#   tools/mutants.sh              the whole catalog
#   tools/mutants.sh --names      the catalog's names
#   tools/mutants.sh --canaries   "name scenario seed checker" for make test
#
# Settings (environment, or make mutants VAR=...):
#   MUTANTS             names to try (default: the whole catalog)
#   MUTANT_SEEDS        seeds of each scenario (default 1..5)
#   MUTANT_SWARM        swarm seeds (default 1..200); empty: no swarm sweep
#   MUTANT_SWARM_CHUNK  swarm seeds per sweep; stops after the first failing
#                       chunk (default 50)
#   MUTANT_JOBS         runs at a time (default: the number of cores)
#   MUTANT_TIMEOUT      seconds one run or chunk may take (default 600)
#   MUTANT_OUT          logs and the table (default build-mutants)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
CATALOG=${MUTANT_CATALOG:-tests/mutants.txt}

# The value of one field of one entry, continuation lines joined.
field() {
  awk -v name="$1" -v key="$2" '
    /^mutant:/ { cur = $2; next }
    cur == name && $0 ~ "^" key ":" { sub("^" key ":[ ]*", ""); val = $0; on = 1; next }
    cur == name && on && /^[ \t]+[^ \t]/ { sub(/^[ \t]+/, ""); val = val " " $0; next }
    { on = 0 }
    END { print val }' "$CATALOG"
}
names() { awk '/^mutant:/ { print $2 }' "$CATALOG"; }

case "${1:-}" in
--names)
  names
  exit 0
  ;;
--canaries)
  for n in $(names); do
    c=$(field "$n" canary)
    [ -n "$c" ] && echo "$n $c"
  done
  exit 0
  ;;
"") ;;
*)
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
  ;;
esac

MAKE=${MAKE:-make}
SEEDS=${MUTANT_SEEDS:-1..5}
SWARM=${MUTANT_SWARM-1..200}
CHUNK=${MUTANT_SWARM_CHUNK:-50}
JOBS=${MUTANT_JOBS:-$(nproc)}
TIMEOUT=${MUTANT_TIMEOUT:-600}
OUT=${MUTANT_OUT:-build-mutants}
BASE=bin/sluice-sim
selected=${MUTANTS:-$(names | tr '\n' ' ')}
for n in $selected; do
  names | grep -qx -- "$n" || { echo "mutants: $n is not in $CATALOG" >&2; exit 2; }
done
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.out "$OUT"/table.txt
# A make started by make shares its jobs; one started by hand gets its own.
jflag=-j$JOBS
[[ "${MAKEFLAGS:-}" == *jobserver* ]] && jflag=
t_start=$(date +%s)

echo "mutants: building the unmutated simulator ($BASE)"
if ! $MAKE --no-print-directory $jflag "$BASE" >"$OUT/base.build.log" 2>&1; then
  echo "mutants: $BASE does not build; see $OUT/base.build.log"
  exit 2
fi
# The scenarios run-sim.sh runs: all but those that say "cannot run yet"
# (today: more than one node, refused before anything runs).
runnable=()
for f in scenarios/*.yaml; do
  if grep -qE '^  nodes: *[2-9]' "$f"; then
    out=$(timeout "$TIMEOUT" $BASE --scenario "$f" --seed 1 2>&1)
    [ $? -eq 2 ] && grep -q "cannot run yet" <<<"$out" && continue
  fi
  runnable+=("$(basename "$f" .yaml)")
done
echo "mutants: scenarios ${runnable[*]}, seeds $SEEDS; swarm seeds ${SWARM:-none} in chunks of $CHUNK; $JOBS jobs"

# What made a failing run fail: the first violated checker, or the crash.
classify() { # output file, exit status
  local out=$1 rc=$2 line
  if line=$(grep -m1 -E '^ *sluice-sim: assertion failed at ' "$out"); then
    echo "crash: assertion at $(sed -E 's/^ *sluice-sim: assertion failed at ([^ ]+): .*/\1/' <<<"$line")"
  elif line=$(grep -m1 -E '^ *sluice-sim: signal ' "$out"); then
    echo "crash: $(sed -E 's/^ *sluice-sim: //' <<<"$line")"
  elif [ "$rc" -eq 124 ]; then
    echo "hang (over ${TIMEOUT} s)"
  elif [ "$rc" -ge 128 ]; then
    echo "crash: signal $((rc - 128))"
  elif line=$(grep -m1 -E '^  [a-z-]+ +VIOLATION' "$out"); then
    awk '{ print $1 }' <<<"$line"
  else
    echo "failed (exit $rc)"
  fi
}

# Whether the unmutated build passes a run ("scenario seed" or "swarm seed"),
# remembered: a run that fails without the mutant catches nothing.
declare -A base_ok
base_passes() {
  local key="$1 $2" rc
  if [ -z "${base_ok[$key]:-}" ]; then
    if [ "$1" = swarm ]; then
      (timeout "$TIMEOUT" $BASE --swarm --seeds "$2..$2" >/dev/null 2>&1; exit $?) 2>/dev/null
    else
      (timeout "$TIMEOUT" $BASE --scenario "scenarios/$1.yaml" --seed "$2" >/dev/null 2>&1
        exit $?) 2>/dev/null
    fi
    rc=$?
    base_ok[$key]=$([ $rc -eq 0 ] && echo yes || echo no)
    [ $rc -eq 0 ] || echo "  note: the unmutated build fails $1 seed $2 too (exit $rc): not counted" >&2
  fi
  [ "${base_ok[$key]}" = yes ]
}

# One run of a mutant; its output in $OUT/<mutant>.<scenario>.<seed>.out and
# the exit status after it, on a line of its own.
run_scenario() { # sim, mutant, scenario, seed
  local out="$OUT/$2.$3.$4.out"
  timeout "$TIMEOUT" "$1" --scenario "scenarios/$3.yaml" --seed "$4" >"$out" 2>&1
  echo "exit $?" >>"$out"
}

# Sets caught_by, caught_how and replay; returns 0 when a run caught it.
try_scenarios() { # sim, mutant
  local sim=$1 m=$2 seed name out rc
  for seed in $(seq "${SEEDS%..*}" "${SEEDS#*..}"); do
    for name in "${runnable[@]}"; do
      while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
      run_scenario "$sim" "$m" "$name" "$seed" 2>/dev/null & # no "Aborted" notes
    done
    wait
    for name in "${runnable[@]}"; do # only the failing runs' output stays
      out="$OUT/$m.$name.$seed.out"
      [ "$(sed -n 's/^exit //p' "$out" | tail -1)" = 0 ] && rm -f "$out"
    done
    for name in "${runnable[@]}"; do
      out="$OUT/$m.$name.$seed.out"
      [ -f "$out" ] || continue
      rc=$(sed -n 's/^exit //p' "$out" | tail -1)
      base_passes "$name" "$seed" || continue
      caught_by="$name seed $seed"
      caught_how=$(classify "$out" "$rc")
      replay="$sim --scenario scenarios/$name.yaml --seed $seed"
      return 0
    done
  done
  return 1
}

try_swarm() { # sim, mutant
  local sim=$1 m=$2 first last a b out rc seed
  [ -n "$SWARM" ] || return 1
  first=${SWARM%..*}
  last=${SWARM#*..}
  for ((a = first; a <= last; a += CHUNK)); do
    b=$((a + CHUNK - 1 < last ? a + CHUNK - 1 : last))
    out="$OUT/$m.swarm.$a-$b.out"
    timeout "$TIMEOUT" "$sim" --swarm --seeds "$a..$b" --jobs "$JOBS" >"$out" 2>/dev/null
    rc=$?
    if [ $rc -eq 124 ]; then
      caught_by="swarm seeds $a..$b"
      caught_how="hang (the sweep took over ${TIMEOUT} s)"
      replay="$sim --swarm --seeds $a..$b --jobs $JOBS"
      return 0
    fi
    for seed in $(sed -n 's/^FAIL seed \([0-9]*\).*/\1/p' "$out"); do
      base_passes swarm "$seed" || continue
      (timeout "$TIMEOUT" "$sim" --swarm --seeds "$seed..$seed" >"$OUT/$m.swarm.$seed.out" 2>&1
        exit $?) 2>/dev/null # a crash's "Aborted" note goes to /dev/null, not here
      rc=$?
      caught_by="swarm seed $seed"
      caught_how=$(classify "$OUT/$m.swarm.$seed.out" $rc)
      replay="$sim --swarm --seeds $seed..$seed"
      return 0
    done
    rm -f "$out"
  done
  return 1
}

rows=()
missed=0
for m in $selected; do
  t0=$(date +%s)
  sim="build-mutant-$m/sluice-sim"
  caught_by=
  caught_how=
  replay=
  if ! $MAKE --no-print-directory $jflag canary CANARIES="$m" >"$OUT/$m.build.log" 2>&1; then
    verdict="NOT BUILT"
    caught_by="see $OUT/$m.build.log"
  elif try_scenarios "$sim" "$m" || try_swarm "$sim" "$m"; then
    verdict=caught
  else
    verdict="NOT caught"
  fi
  [ "$verdict" = caught ] || missed=$((missed + 1))
  secs=$(($(date +%s) - t0))
  printf 'mutant %-26s %-10s %s%s (%d s)\n' "$m" "$verdict" "${caught_by:-}" \
    "${caught_how:+, $caught_how}" "$secs"
  rows+=("$m|$verdict|${caught_by:--}|${caught_how:--}|$secs|$replay")
done

total=$(($(date +%s) - t_start))
{
  echo
  printf '%-26s %-10s %-28s %-44s %s\n' mutant verdict "caught by" "checker" "time"
  for r in "${rows[@]}"; do
    IFS='|' read -r m v by how secs _ <<<"$r"
    printf '%-26s %-10s %-28s %-44s %ss\n' "$m" "$v" "$by" "$how" "$secs"
  done
  echo
  for r in "${rows[@]}"; do
    IFS='|' read -r m v _ _ _ rp <<<"$r"
    [ -n "$rp" ] && echo "replay $m: $rp"
  done
  n=${#rows[@]}
  echo "mutants: $n tried, $((n - missed)) caught, $missed not caught," \
    "$((total / 60))m$((total % 60))s of wall time"
} | tee "$OUT/table.txt"
[ $missed -eq 0 ]
