#!/usr/bin/env bash
# Runs each libcheck binary and sums their "Checks: N, Failures: F, Errors: E"
# lines into one closing line.
set -uo pipefail
passed=0; failed=0; bad=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  echo "$out" | grep -E '^[0-9]+%: Checks' | sed "s|^|$(basename "$t"): |"
  line=$(echo "$out" | grep -E '^[0-9]+%: Checks' | tail -1)
  if [[ $line =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
    n=${BASH_REMATCH[1]}; f=$((BASH_REMATCH[2] + BASH_REMATCH[3]))
    passed=$((passed + n - f)); failed=$((failed + f))
  else
    failed=$((failed + 1))
  fi
  if [ $rc -ne 0 ]; then bad+=("$(basename "$t")"); echo "$out" | grep -vE '^[0-9]+%: Checks' | tail -20; fi
done
echo "unit: $passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ] || { echo "failing: ${bad[*]}"; exit 1; }
