#!/usr/bin/env bash
# Every scenario that can run today, twice with the same seed: the verdict
# must pass and the two trace hashes must be equal (a run is a pure function
# of scenario, seed and code). Scenarios that need later issues say so and
# are listed as not runnable yet.
set -uo pipefail
cd "$(dirname "$0")/.."
SIM=${SIM:-bin/sluice-sim}
passed=0; failed=0
# A short sweep: more seeds for every runnable scenario, each must pass.
SWEEP=${SIM_SWEEP_SEEDS:-2..6}
# The replication scenarios (docs/scenarios.md, Replication) run fewer seeds
# here to keep make test short; each passes 50 or more seeds when run alone.
SHORT_SWEEP=${SIM_SHORT_SWEEP_SEEDS:-2..3}
SHORT=" follower-lag network-partition hw-truncation fast-failover last-replica-standing zombie-leader power-loss-kafka unclean-election rolling-restart "
export SIM SWEEP SHORT_SWEEP SHORT
# One scenario: seed 1 twice (same verdict and trace hash), then the sweep.
# Writes two result lines to $2/<name>.{det,sweep}: "PASS|FAIL|SKIP <text>".
one_scenario() {
  local f=$1 dir=$2 name out1 out2 rc1 rc2 h1 h2 speed sweep out rc seed
  name=$(basename "$f" .yaml)
  out1=$($SIM --scenario "$f" --seed 1 2>&1); rc1=$?
  if [ $rc1 -eq 2 ] && grep -q "cannot run yet" <<< "$out1"; then
    echo "SKIP sim $name: not runnable yet ($(sed 's/.*cannot run yet: //' <<< "$out1"))" > "$dir/$name.det"
    return
  fi
  out2=$($SIM --scenario "$f" --seed 1 2>&1); rc2=$?
  h1=$(sed -n 's/^trace hash //p' <<< "$out1"); h2=$(sed -n 's/^trace hash //p' <<< "$out2")
  speed=$(sed -n 's/^simulated \(.*\) s in \(.*\) s of wall time (\(.*\)x).*/\1 s simulated, \3x/p' <<< "$out1")
  if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ]; then
    echo "PASS sim $name: PASS, trace $h1 twice ($speed)" > "$dir/$name.det"
  else
    { echo "FAIL sim $name: FAIL (exit $rc1/$rc2, trace $h1 vs $h2)"; echo "$out1" | tail -12; } > "$dir/$name.det"
  fi
  local bad=()
  sweep=$SWEEP
  [[ "$SHORT" == *" $name "* ]] && sweep=$SHORT_SWEEP
  for seed in $(seq ${sweep%..*} ${sweep#*..}); do
    out=$($SIM --scenario "$f" --seed $seed 2>&1); rc=$?
    [ $rc -eq 0 ] || bad+=("$seed")
  done
  if [ ${#bad[@]} -eq 0 ]; then
    echo "PASS sim $name: seeds $sweep pass" > "$dir/$name.sweep"
  else
    echo "FAIL sim $name: seeds ${bad[*]} FAIL; replay: $SIM --scenario $f --seed ${bad[0]}" > "$dir/$name.sweep"
  fi
}
export -f one_scenario
# Every scenario file runs on its own core (the machine's count of them);
# the results print in file order.
results=$(mktemp -d)
printf '%s\n' scenarios/*.yaml |
  xargs -P "$(nproc)" -I{} bash -c 'one_scenario "$1" "$2"' _ {} "$results"
for kind in det sweep; do
  for f in scenarios/*.yaml; do
    r="$results/$(basename "$f" .yaml).$kind"
    [ -f "$r" ] || continue
    sed '1s/^[A-Z]* //' "$r"
    case $(head -c4 "$r") in
      PASS) passed=$((passed + 1)) ;;
      FAIL) failed=$((failed + 1)) ;;
    esac
  done
done
rm -rf "$results"

# A swarm sweep: each seed draws its own topology, workload and fault mix
# (faults/swarm.h); every run must pass, and one seed run twice must print the
# same trace hash.
SWARM=${SIM_SWARM_SEEDS:-1..100}
out=$($SIM --swarm --seeds "$SWARM" --jobs "$(nproc)" 2>/dev/null); rc=$?
if [ $rc -eq 0 ]; then
  echo "sim swarm: $(sed -n 's/^swarm: //p' <<< "$out")"; passed=$((passed + 1))
else
  echo "sim swarm: FAIL (exit $rc)"; echo "$out" | tail -12; failed=$((failed + 1))
fi
# The KRaft quorum's swarm (faults/swarm.h swarm_quorum_scenario).
QSWARM=${SIM_QUORUM_SWARM_SEEDS:-1..100}
out=$($SIM --swarm --quorum --seeds "$QSWARM" --jobs "$(nproc)" 2>/dev/null); rc=$?
if [ $rc -eq 0 ]; then
  echo "sim quorum swarm: $(sed -n 's/^swarm: //p' <<< "$out")"; passed=$((passed + 1))
else
  echo "sim quorum swarm: FAIL (exit $rc)"; echo "$out" | tail -12; failed=$((failed + 1))
fi
s1=$($SIM --swarm --seeds 7..7 --report /tmp/sluice-swarm-7.$$ 2>/dev/null | sed -n 's/^trace hash //p')
s2=$($SIM --swarm --seeds 7..7 2>/dev/null | sed -n 's/^trace hash //p')
rm -rf /tmp/sluice-swarm-7.$$
if [ -n "$s1" ] && [ "$s1" = "$s2" ]; then
  echo "sim swarm seed 7: trace $s1 twice"; passed=$((passed + 1))
else
  echo "sim swarm seed 7: trace hashes differ ($s1 vs $s2)"; failed=$((failed + 1))
fi

# The canaries: the mutants of tests/mutants.txt with a `canary` run (make
# canary builds them in build-mutant-<name>/) must each be caught by that run,
# by the checker it names or, for "crash", by an assertion or fatal signal.
# make mutants tries the whole catalog.
if [ -n "${CHECK_CANARIES:-}" ]; then
  while read -r name scenario seed checker; do
    sim=build-mutant-$name/sluice-sim
    if [ "$scenario" = swarm ]; then
      out=$($sim --swarm --seeds "$seed..$seed" 2>&1); rc=$?
    else
      out=$($sim --scenario "scenarios/$scenario.yaml" --seed "$seed" 2>&1); rc=$?
    fi
    if [ "$checker" = crash ]; then
      how=$(grep -m1 -oE "^sluice-sim: (assertion failed at [^ ]+|signal .*)" <<< "$out")
      ok=$([ $rc -ne 0 ] && [ -n "$how" ] && echo 1)
      how=${how#sluice-sim: }; how=${how%:}
    else
      how="$checker"
      ok=$([ $rc -eq 1 ] && grep -qE "^  $checker +VIOLATION" <<< "$out" && echo 1)
    fi
    if [ -n "$ok" ]; then
      echo "sim canary $name: caught by $scenario seed $seed ($how)"; passed=$((passed + 1))
    else
      echo "sim canary $name: NOT caught by $scenario seed $seed $checker (exit $rc)"
      echo "$out" | tail -12
      failed=$((failed + 1))
    fi
  done < <(tools/mutants.sh --canaries)
fi
# The planted assertion: a build with ASSERT(false) in the Produce handler
# must say where it failed (file and line), which run it was (seed, virtual
# time) and how to replay it: for a scenario, and for each seed of a sweep.
if [ -n "${PLANTED_SIM:-}" ]; then
  out=$($PLANTED_SIM --scenario scenarios/crash-restart.yaml --seed 7 2>&1); rc=$?
  sweep=$($PLANTED_SIM --swarm --seeds 1..2 --jobs 2 2>/dev/null)
  at='broker/server/api_produce\.c:[0-9]+'
  if [ $rc -ne 0 ] && grep -qE "^sluice-sim: assertion failed at $at: " <<< "$out" &&
    grep -qE "^scenario scenarios/crash-restart.yaml, seed 7, virtual time [0-9.]+ s$" <<< "$out" &&
    grep -qx "replay: bin/sluice-sim --scenario scenarios/crash-restart.yaml --seed 7" <<< "$out" &&
    [ "$(grep -cE "^  sluice-sim: assertion failed at $at: " <<< "$sweep")" -eq 2 ] &&
    grep -qx "  replay: bin/sluice-sim --swarm --seeds 2..2" <<< "$sweep"; then
    echo "sim planted assertion: reported at $(grep -oE "$at" <<< "$out" | head -1)" \
      "with seed and replay, also per swarm seed"
    passed=$((passed + 1))
  else
    echo "sim planted assertion: NOT reported as expected (exit $rc)"
    echo "$out" | tail -5; echo "$sweep" | tail -8
    failed=$((failed + 1))
  fi
fi
# Golden runs: the scenario+seed pairs of tests/golden.txt must give the
# verdict and counts pinned there (make golden pins them anew).
if out=$(tools/golden.sh check "$SIM" 2>&1); then
  echo "sim $(tail -1 <<< "$out")"; passed=$((passed + 1))
else
  echo "$out" | sed 's/^/sim /'; failed=$((failed + 1))
fi
echo "sim: $passed passed, $failed failed"
[ $failed -eq 0 ]
