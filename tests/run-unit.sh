#!/usr/bin/env bash
# Runs each libcheck binary (as many at once as there are cores) and sums
# their "Checks: N, Failures: F, Errors: E" lines into one closing line;
# each binary's lines print in the order given.
set -uo pipefail
passed=0; failed=0; bad=()
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
run_one() { # binary, output directory
  local name; name=$(basename "$1")
  "$1" > "$2/$name.out" 2>&1
  echo $? > "$2/$name.rc"
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$(nproc)" -I{} bash -c 'run_one "$1" "$2"' _ {} "$out_dir"
for t in "$@"; do
  name=$(basename "$t")
  out=$(cat "$out_dir/$name.out" 2>/dev/null); rc=$(cat "$out_dir/$name.rc" 2>/dev/null || echo 1)
  echo "$out" | grep -E '^[0-9]+%: Checks' | sed "s|^|$name: |"
  line=$(echo "$out" | grep -E '^[0-9]+%: Checks' | tail -1)
  if [[ $line =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
    n=${BASH_REMATCH[1]}; f=$((BASH_REMATCH[2] + BASH_REMATCH[3]))
    passed=$((passed + n - f)); failed=$((failed + f))
  else
    failed=$((failed + 1))
  fi
  if [ "$rc" -ne 0 ]; then bad+=("$name"); echo "$out" | grep -vE '^[0-9]+%: Checks' | tail -20; fi
done
echo "unit: $passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ] || { echo "failing: ${bad[*]}"; exit 1; }
