#!/usr/bin/env bash
# Golden runs: a few scenario+seed pairs whose verdict and key counts are
# pinned in tests/golden.txt, so a change in behaviour is noticed even when
# every checker passes.
#
#   tools/golden.sh check [SIM]   every pinned run must print its line again
#   tools/golden.sh write [SIM]   runs them and writes the file anew (make golden)
#
# A line: scenario seed verdict, the values sent, acknowledged, failed and
# read, the cuts and broker starts, then per checker that found anything
# "name=outside/within" (lost within the allowance is lost-write's within).
# "swarm" as the scenario runs the swarm seed. The trace hash is not pinned:
# a changed log line would move it without a change in behaviour.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: tools/golden.sh check|write [SIM]}
sim=${2:-bin/sluice-sim}
file=tests/golden.txt

line_for() { # scenario seed -> the pinned line
  local name=$1 seed=$2 out
  if [ "$name" = swarm ]; then
    out=$("$sim" --swarm --seeds "$seed..$seed" 2>&1)
  else
    out=$("$sim" --scenario "scenarios/$name.yaml" --seed "$seed" 2>&1)
  fi
  awk -v name="$name" -v seed="$seed" '
    /^values: / { sent = $2; acked = $4; failed = $6; reads = $8 }
    /^cuts: / { cuts = $2; sub(",", "", cuts); starts = $5 }
    /^  [a-z-]+ +(ok|allowed|VIOLATION) / {
      outside = $3; within = 0
      if (match($0, /, [0-9]+ within/)) within = substr($0, RSTART + 2, RLENGTH - 9)
      else if (match($0, /  [0-9]+ within:/)) within = substr($0, RSTART + 2, RLENGTH - 9)
      if (outside != 0 || within != 0) found = found " " $1 "=" outside "/" within
    }
    /^verdict: / { verdict = $2 }
    END {
      printf "%s %s %s sent=%s acked=%s failed=%s reads=%s cuts=%s starts=%s%s\n",
        name, seed, verdict, sent, acked, failed, reads, cuts, starts, found
    }' <<< "$out"
}

pairs() { grep -v '^#' "$file" | awk 'NF >= 2 { print $1, $2 }'; }

case $mode in
  write)
    tmp=$(mktemp)
    grep '^#' "$file" > "$tmp"
    while read -r name seed; do line_for "$name" "$seed" >> "$tmp"; done < <(pairs)
    mv "$tmp" "$file"
    echo "golden: wrote $(grep -vc '^#' "$file") runs to $file"
    ;;
  check)
    bad=0 n=0
    while read -r name seed; do
      n=$((n + 1))
      want=$(grep -v '^#' "$file" | awk -v a="$name" -v b="$seed" '$1 == a && $2 == b' | head -1)
      got=$(line_for "$name" "$seed")
      if [ "$got" != "$want" ]; then
        echo "golden $name seed $seed changed:"
        echo "  pinned: $want"
        echo "  now:    $got"
        bad=$((bad + 1))
      fi
    done < <(pairs)
    [ $bad -eq 0 ] && echo "golden: $n runs as pinned" ||
      echo "golden: $bad of $n runs changed (make golden pins them anew, if the change is meant)"
    [ $bad -eq 0 ]
    ;;
  *) echo "usage: tools/golden.sh check|write [SIM]" >&2; exit 2 ;;
esac
