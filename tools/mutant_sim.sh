#!/usr/bin/env bash
# Builds one mutant's simulator quickly: the normal build's objects, with
# only the .c files that plant the mutant (#ifdef SLUICE_MUTANT_<NAME>, or
# any macro given as the name, like SLUICE_PLANTED_ASSERT) compiled again
# with its flag. The objects are linked before the archives,
# so the linker takes the mutated definitions and never pulls the archive
# members they replace (each mutated object defines all its member's symbols).
# usage: tools/mutant_sim.sh NAME|MACRO BASE_BUILD OUT_DIR "CC CFLAGS" "LIBS"
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 base=$2 out=$3 cc=$4 libs=$5
macro=SLUICE_MUTANT_$(tr 'a-z-' 'A-Z_' <<<"$name")
[[ "$name" == SLUICE_* ]] && macro=$name
dirs=(broker sim faults reports)
if grep -rlw "$macro" "${dirs[@]}" --include='*.h' | grep -q .; then
  echo "mutant_sim: $macro is planted in a header; plant it in a .c file" >&2
  exit 2
fi
mapfile -t srcs < <(grep -rlw "$macro" "${dirs[@]}" --include='*.c' | sort)
if [ ${#srcs[@]} -eq 0 ]; then
  echo "mutant_sim: no file plants $macro (is $name in tests/mutants.txt spelled right?)" >&2
  exit 2
fi
objs=()
for src in "${srcs[@]}"; do
  obj=$out/obj/${src%.c}.o
  mkdir -p "$(dirname "$obj")"
  $cc "-D$macro" -c "$src" -o "$obj"
  objs+=("$obj")
done
$cc "$base/sim/main.o" "${objs[@]}" "$base/libsim.a" "$base/libbroker.a" $libs -o "$out/sluice-sim"
echo "mutant_sim: $out/sluice-sim ($macro in ${srcs[*]})"
