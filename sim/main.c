/* sluice-sim: runs a scenario on the simulated world and prints the verdict.
 *
 *   sluice-sim --scenario FILE [--seed N] [--verbose]
 *
 * Prints simulated and wall time and their ratio, events processed, the
 * trace hash (a run is a pure function of scenario, seed and code: the same
 * seed prints the same hash), and each checker's verdict with the first
 * violation. Exits 1 on a violation the scenario does not allow, 2 on a bad
 * scenario or one that cannot run yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/runner.h"

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* reporting only; the run never sees it */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  uint64_t seed = 1;
  bool verbose = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
      path = argv[++i];
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--verbose"))
      verbose = true;
    else {
      fprintf(stderr, "usage: sluice-sim --scenario FILE [--seed N] [--verbose]\n");
      return 2;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: sluice-sim --scenario FILE [--seed N] [--verbose]\n");
    return 2;
  }
  static struct scenario sc;
  char err[512];
  if (!scenario_load(path, &sc, err, sizeof err)) {
    fprintf(stderr, "sluice-sim: %s\n", err);
    return 2;
  }
  double t0 = wall_s();
  static struct run_report rep;
  if (!run_scenario(&sc, seed, verbose, &rep)) {
    fprintf(stderr, "sluice-sim: %s: cannot run yet: %s\n", path, rep.why);
    return 2;
  }
  double wall = wall_s() - t0;
  printf("scenario %s, seed %llu\n", sc.name, (unsigned long long)seed);
  printf("simulated %.1f s in %.2f s of wall time (%.0fx), %llu events\n", rep.simulated_s,
         wall, wall > 0 ? rep.simulated_s / wall : 0.0, (unsigned long long)rep.events);
  printf("values: %llu sent, %llu acknowledged, %llu failed, %llu reads\n",
         (unsigned long long)rep.sent, (unsigned long long)rep.acked,
         (unsigned long long)rep.failed, (unsigned long long)rep.polled);
  printf("trace hash %016llx\n", (unsigned long long)rep.trace_hash);
  for (int i = 0; i < rep.result_count; i++) {
    const struct check_result *c = &rep.results[i];
    const char *verdict = c->violations == 0              ? "ok"
                          : scenario_allows(&sc, c->name) ? "seen (allowed here)"
                                                          : "VIOLATION";
    printf("  %-22s %-20s %zu", c->name, verdict, c->violations);
    if (c->violations) printf("  first: %s", c->first);
    printf("\n");
  }
  printf("verdict: %s\n", rep.passed ? "PASS" : "FAIL");
  if (!rep.passed)
    printf("replay: bin/sluice-sim --scenario %s --seed %llu\n", path,
           (unsigned long long)seed);
  return rep.passed ? 0 : 1;
}
