#!/bin/bash
# Trains bin/sluice-sim's profile (the Makefile's SIM_PGO): runs the counting
# build on a training set, whose profiles land in DATA_DIR, where the final
# build's compiles find them (both name them by -dumpdir and -dumpbase, so
# the two builds' different object paths do not matter).
#
#   tools/pgo_train.sh GEN_SIM DATA_DIR
#
# The set: the front door (leader-kill) and three scenarios whose paths it
# does not take (groups, a slow follower, the quorum alone), each in process
# (a swarm's seeds run in children that leave without writing profiles). A
# run that fails is said and the build goes on: its counts are partial, the
# profile still valid; the tests are what catch the failure.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 GEN_SIM DATA_DIR" >&2; exit 2; }
sim=$1 data=$2
mkdir -p "$data"
find "$data" -name '*.gcda' -delete
rm -f "$data/trained"

for run in leader-kill:1 follower-lag:1 consumer-rebalance:1 quorum-leader-kill:1; do
  "$sim" --scenario "scenarios/${run%:*}.yaml" --seed "${run#*:}" >/dev/null ||
    echo "pgo: training run ${run%:*} seed ${run#*:} ended with status $?" >&2
done

count=$(find "$data" -name '*.gcda' | wc -l)
[ "$count" -gt 0 ] || { echo "$0: no profiles under $data" >&2; exit 1; }
echo "pgo: $count profiles from the training set" >"$data/trained"
