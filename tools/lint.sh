#!/usr/bin/env bash
# The determinism rule: nothing under broker/ touches the operating system.
# broker/ sees the world only through broker/env.h: no OS headers, no clocks,
# randomness, sockets, files, threads, stdio or environment there; and no
# mutable static storage in broker/ or the simulator.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
hdr='#include <(sys/[a-z_]+|pthread|unistd|fcntl|netinet/[a-z_]+|arpa/inet|netdb|stdio|time|signal|dirent|poll|threads|errno)\.h>'
call='(?<![>.\w])(clock_gettime|gettimeofday|time|clock|rand|random|srand|srandom|drand48|getenv|setenv|fopen|open|read|write|close|socket|sleep|usleep|nanosleep|printf|fprintf|puts|perror|exit|system|fork|pthread_\w+|mmap)\s*\('
if out=$(grep -rnP "$hdr" --include='*.c' --include='*.h' broker); then
  echo "lint: broker/ includes an OS header (use env.h):"; echo "$out"; fail=1
fi
if out=$(grep -rnP "$call" --include='*.c' --include='*.h' broker | grep -vP '^\S+:\d+:\s*(\*|//|/\*)'); then
  echo "lint: broker/ calls the OS directly (use env.h):"; echo "$out"; fail=1
fi
# Iterating in address order breaks determinism; qsort on pointers is a smell.
if out=$(grep -rnP 'qsort\([^;]*\(void \*\)|\(uintptr_t\)\s*\w+\s*[<>%]' --include='*.c' broker); then
  echo "lint: broker/ orders by address:"; echo "$out"; fail=1
fi
# A run must be a function of its inputs, and a node of its env: no mutable
# static storage in broker/ or the simulator. The exceptions: the panic hook
# (set once by the world at start) and sluice-sim's crash context (read only
# by its crash report, sim/main.c says why).
allow="broker/base/assert.c:sl_panic_hook sim/main.c:crash_context"
dirs=$(ls -d broker sim faults reports 2>/dev/null)
if ! out=$(ALLOW="$allow" tools/lint-statics.pl $(find $dirs -name '*.[ch]' | sort)); then
  echo "lint: mutable static storage (put it in the struct that owns it):"; echo "$out"; fail=1
fi
if [ $fail -eq 0 ]; then
  echo "lint: ok (broker/ reaches the world only through env.h; no mutable statics)"
fi
exit $fail
