#!/usr/bin/env bash
# make test: unit tests, then integration tests with real clients against a
# real sluice, then one closing line with the totals.
set -uo pipefail
cd "$(dirname "$0")/.."
build=$1; shift
rc=0
unit_out=$(tests/run-unit.sh "$@" 2>&1) || rc=1
echo "$unit_out"
u_pass=$(echo "$unit_out" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
u_fail=$(echo "$unit_out" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
sim_out=$(CHECK_CANARIES=1 PLANTED_SIM=build-planted/sluice-sim \
  tests/run-sim.sh 2>&1) || rc=1
echo "$sim_out"
s_pass=$(echo "$sim_out" | sed -n 's/^sim: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
s_fail=$(echo "$sim_out" | sed -n 's/^sim: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
i_pass=0; i_fail=0
if [ -d tests/integration ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
  junit=$(mktemp)
  /usr/bin/python3 -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-4}" --dist loadfile \
    --durations=20 --junitxml="$junit" tests/integration || rc=1
  read -r i_tests i_failures i_errors i_skipped < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
s = r if r.tag == "testsuite" else r.find("testsuite")
print(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped"))
PY
)
  rm -f "$junit"
  i_fail=$((i_failures + i_errors)); i_pass=$((i_tests - i_fail - i_skipped))
fi
echo "test: $((${u_pass:-0} + ${s_pass:-0} + i_pass)) passed, $((${u_fail:-0} + ${s_fail:-0} + i_fail)) failed"
exit $rc
