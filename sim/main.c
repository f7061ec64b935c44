/* sluice-sim: runs a scenario on the simulated world and prints the verdict.
 *
 *   sluice-sim --scenario FILE [--seed N] [--trace FILE] [--report DIR] [--verbose]
 *   sluice-sim --swarm --seeds A..B [--jobs N] [--report DIR] [--print-scenario]
 *
 * A sweep runs each seed in a child process (N at a time), so a seed that
 * trips an assertion is reported like any failing seed; it saves each
 * failing seed's scenario as DIR/swarm-N.yaml. A single seed (A..A) is a
 * replay, in process: the whole report, --trace and --report apply.
 *
 * Prints simulated and wall time and their ratio, events processed, the
 * trace hash (a run is a pure function of scenario, seed and code: the same
 * seed prints the same hash), and each checker's verdict with the first
 * violation. --swarm draws a scenario from each seed (faults/swarm.h) and
 * sweeps them, printing every failing seed with the command that replays it.
 * Exits 1 on a violation the scenario does not allow, 2 on a bad scenario
 * or one that cannot run yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults/swarm.h"
#include "sim/runner.h"

static const char USAGE[] =
    "usage: sluice-sim --scenario FILE [--seed N] [--trace FILE] [--report DIR] [--verbose]\n"
    "       sluice-sim --swarm --seeds A..B [--jobs N] [--report DIR] [--print-scenario]\n"
    "       (one seed, A..A, replays it with the whole report; --trace and --report apply)\n";

enum { SWARM_JOBS_MAX = 64, SWARM_FAILED_SHOWN = 64 };

struct args {
  const char *path, *trace, *report;
  uint64_t seed, first, last, jobs;
  bool verbose, swarm, print_scenario;
};

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* reporting only; the run never sees it */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end || errno || s[0] == '-') return false;
  *out = v;
  return true;
}

static bool parse_seeds(const char *s, uint64_t *first, uint64_t *last) {
  const char *dots = strstr(s, "..");
  char a[32];
  if (!dots || (size_t)(dots - s) >= sizeof a) return false;
  memcpy(a, s, (size_t)(dots - s));
  a[dots - s] = 0;
  return parse_u64(a, first) && parse_u64(dots + 2, last) && *first <= *last;
}

static bool parse_args(int argc, char **argv, struct args *a) {
  *a = (struct args){.seed = 1, .jobs = 1};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
    bool ok = true;
    if (!strcmp(arg, "--verbose")) {
      a->verbose = true;
    } else if (!strcmp(arg, "--swarm")) {
      a->swarm = true;
    } else if (!strcmp(arg, "--print-scenario")) {
      a->print_scenario = true;
    } else if (!next) {
      ok = false;
    } else if (!strcmp(arg, "--scenario")) {
      a->path = argv[++i];
    } else if (!strcmp(arg, "--trace")) {
      a->trace = argv[++i];
    } else if (!strcmp(arg, "--report")) {
      a->report = argv[++i];
    } else if (!strcmp(arg, "--seed")) {
      ok = parse_u64(argv[++i], &a->seed);
    } else if (!strcmp(arg, "--seeds")) {
      ok = parse_seeds(argv[++i], &a->first, &a->last);
    } else if (!strcmp(arg, "--jobs")) {
      ok = parse_u64(argv[++i], &a->jobs) && a->jobs >= 1 && a->jobs <= SWARM_JOBS_MAX;
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "sluice-sim: bad argument \"%s\"\n%s", arg, USAGE);
      return false;
    }
  }
  if (a->swarm == (a->path != NULL) || (a->swarm && a->last == 0)) {
    fprintf(stderr, "%s", USAGE);
    return false;
  }
  return true;
}

/* A scenario is about 100 KiB: on the heap, not in static storage. */
static struct scenario *scenario_new(void) {
  struct scenario *sc = malloc(sizeof *sc);
  if (!sc) {
    fprintf(stderr, "sluice-sim: out of memory\n");
    exit(2);
  }
  return sc;
}

enum { YAML_BYTES = 1 << 16 }; /* a drawn scenario as YAML */

static char *yaml_new(void) {
  char *yaml = malloc(YAML_BYTES);
  if (!yaml) {
    fprintf(stderr, "sluice-sim: out of memory\n");
    exit(2);
  }
  return yaml;
}

static bool make_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST) return true;
  fprintf(stderr, "sluice-sim: cannot create %s: %s\n", dir, strerror(errno));
  return false;
}

/* gnuplot draws the charts if it is installed; the data stays either way. */
static void plot(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot plot.gp 2>&1", dir);
  int rc = system(cmd);
  if (rc == 0)
    printf("report: %s (timeline.png, history.csv, timeline.dat, summary.txt)\n", dir);
  else
    printf("report: %s (gnuplot failed or is missing: run `gnuplot plot.gp` there)\n", dir);
}

static void print_report(const struct scenario *sc, uint64_t seed, const struct run_report *rep,
                         double wall) {
  printf("scenario %s, seed %llu\n", sc->name, (unsigned long long)seed);
  printf("simulated %.1f s in %.2f s of wall time (%.0fx), %llu events\n", rep->simulated_s,
         wall, wall > 0 ? rep->simulated_s / wall : 0.0, (unsigned long long)rep->events);
  printf("values: %llu sent, %llu acknowledged, %llu failed, %llu reads\n",
         (unsigned long long)rep->sent, (unsigned long long)rep->acked,
         (unsigned long long)rep->failed, (unsigned long long)rep->polled);
  printf("trace hash %016llx\n", (unsigned long long)rep->trace_hash);
  for (int i = 0; i < rep->result_count; i++) {
    const struct check_result *c = &rep->results[i];
    const char *verdict = c->violations == 0             ? "ok"
                          : scenario_allows(sc, c->name) ? "seen (allowed here)"
                                                         : "VIOLATION";
    printf("  %-22s %-20s %zu", c->name, verdict, c->violations);
    if (c->first[0]) printf("  %s%s", c->violations ? "first: " : "", c->first);
    printf("\n");
  }
  printf("verdict: %s\n", rep->passed ? "PASS" : "FAIL");
}

/* One scenario, one seed, with the trace file and report if asked. */
static int run_and_print(const struct scenario *sc, uint64_t seed, const struct args *a,
                         const char *replay) {
  FILE *trace = NULL;
  if (a->trace && !(trace = fopen(a->trace, "w"))) {
    fprintf(stderr, "sluice-sim: cannot write %s\n", a->trace);
    return 2;
  }
  if (a->report && !make_dir(a->report)) return 2;
  struct run_options opts = {.verbose = a->verbose, .trace = trace, .report_dir = a->report};
  double t0 = wall_s();
  struct run_report rep;
  bool ran = run_scenario(sc, seed, &opts, &rep);
  if (trace) fclose(trace);
  if (!ran) {
    fprintf(stderr, "sluice-sim: %s: cannot run yet: %s\n", sc->name, rep.why);
    return 2;
  }
  print_report(sc, seed, &rep, wall_s() - t0);
  if (a->report) plot(a->report);
  if (!rep.passed) printf("replay: %s\n", replay);
  return rep.passed ? 0 : 1;
}

static int run_one(const struct args *a) {
  struct scenario *sc = scenario_new();
  char err[512];
  int rc = 2;
  if (scenario_load(a->path, sc, err, sizeof err)) {
    char replay[4200];
    snprintf(replay, sizeof replay, "bin/sluice-sim --scenario %s --seed %llu", a->path,
             (unsigned long long)a->seed);
    rc = run_and_print(sc, a->seed, a, replay);
  } else {
    fprintf(stderr, "sluice-sim: %s\n", err);
  }
  free(sc);
  return rc;
}

/* The drawn scenario goes through the YAML writer and parser, so a failing
 * seed's scenario can be saved and replayed as a file, byte for byte. */
static bool swarm_draw(uint64_t seed, struct scenario *sc, char *yaml, size_t cap) {
  struct scenario *drawn = scenario_new();
  swarm_scenario(seed, drawn);
  size_t len = scenario_format(drawn, yaml, cap);
  char err[512];
  bool ok = len < cap && scenario_parse(drawn->name, yaml, len, sc, err, sizeof err);
  if (!ok)
    fprintf(stderr, "sluice-sim: swarm seed %llu drew a scenario the parser refuses: %s\n",
            (unsigned long long)seed, len >= cap ? "too long" : err);
  free(drawn);
  return ok;
}

static void save_failure(const char *dir, uint64_t seed, const char *yaml) {
  char path[4096];
  snprintf(path, sizeof path, "%s/swarm-%llu.yaml", dir, (unsigned long long)seed);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(yaml, f);
    fclose(f);
  }
}

/* One seed of a sweep, in a child process: its exit status is the verdict
 * (0 pass, 1 fail, 2 cannot run), a crash (a broker assertion) is a
 * failure too, and the simulated seconds come back over the pipe. */
static void swarm_child(const struct args *a, uint64_t seed, int pipe_fd) {
  struct scenario *sc = scenario_new();
  char *yaml = yaml_new();
  if (!swarm_draw(seed, sc, yaml, YAML_BYTES)) _exit(2);
  struct run_report rep;
  struct run_options opts = {0};
  if (!run_scenario(sc, seed, &opts, &rep)) {
    fprintf(stderr, "sluice-sim: swarm seed %llu: %s\n", (unsigned long long)seed, rep.why);
    _exit(2);
  }
  if (!rep.passed && a->report) save_failure(a->report, seed, yaml);
  char line[64];
  int len = snprintf(line, sizeof line, "%.3f\n", rep.simulated_s);
  if (write(pipe_fd, line, (size_t)len) != len) _exit(2);
  _exit(rep.passed ? 0 : 1);
}

struct sweep {
  uint64_t done, failed_count, failed[SWARM_FAILED_SHOWN];
  bool crashed[SWARM_FAILED_SHOWN];
  double simulated;
  bool broken; /* a seed could not run at all */
};

static void sweep_note(struct sweep *w, uint64_t seed, int status, FILE *results) {
  double simulated = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) <= 1 && fscanf(results, "%lf", &simulated) == 1)
    w->simulated += simulated;
  w->done++;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) w->broken = true;
  if (w->failed_count < SWARM_FAILED_SHOWN) {
    w->failed[w->failed_count] = seed;
    w->crashed[w->failed_count] = !WIFEXITED(status);
  }
  w->failed_count++;
}

/* Forks up to jobs children at a time, one per seed; results are printed in
 * seed order, so the output does not depend on which child ends first. */
static int sweep_seeds(const struct args *a) {
  int fds[2];
  if (pipe(fds) != 0) return 2;
  FILE *results = fdopen(fds[0], "r");
  struct sweep w = {0};
  pid_t pids[SWARM_JOBS_MAX] = {0};
  uint64_t seeds[SWARM_JOBS_MAX] = {0};
  uint64_t total = a->last - a->first + 1, next = a->first, running = 0;
  double t0 = wall_s();
  fflush(NULL);
  while (w.done < total) {
    while (running < a->jobs && next <= a->last && next >= a->first) {
      int slot = 0;
      while (pids[slot]) slot++;
      pid_t pid = fork();
      if (pid < 0) return 2;
      if (pid == 0) swarm_child(a, next, fds[1]);
      pids[slot] = pid;
      seeds[slot] = next++;
      running++;
    }
    int status;
    pid_t pid = wait(&status);
    if (pid < 0) return 2;
    int slot = 0;
    while (slot < SWARM_JOBS_MAX && pids[slot] != pid) slot++;
    if (slot == SWARM_JOBS_MAX) continue;
    pids[slot] = 0;
    running--;
    sweep_note(&w, seeds[slot], status, results);
    double wall = wall_s() - t0;
    fprintf(stderr,
            "\rswarm: %llu/%llu seeds, %llu failed, %.0f simulated s in %.1f wall s (%.0fx)",
            (unsigned long long)w.done, (unsigned long long)total,
            (unsigned long long)w.failed_count, w.simulated, wall,
            wall > 0 ? w.simulated / wall : 0.0);
  }
  fclose(results);
  close(fds[1]);
  fprintf(stderr, "\n");
  printf("swarm: seeds %llu..%llu: %llu runs, %llu failed, %.0f simulated s in %.1f wall s "
         "(%d jobs)\n",
         (unsigned long long)a->first, (unsigned long long)a->last, (unsigned long long)w.done,
         (unsigned long long)w.failed_count, w.simulated, wall_s() - t0, (int)a->jobs);
  uint64_t shown = w.failed_count < SWARM_FAILED_SHOWN ? w.failed_count : SWARM_FAILED_SHOWN;
  for (uint64_t i = 0; i < shown; i++) /* in seed order */
    for (uint64_t j = i + 1; j < shown; j++)
      if (w.failed[j] < w.failed[i]) {
        uint64_t s = w.failed[i];
        bool c = w.crashed[i];
        w.failed[i] = w.failed[j], w.crashed[i] = w.crashed[j];
        w.failed[j] = s, w.crashed[j] = c;
      }
  for (uint64_t i = 0; i < shown; i++)
    printf("FAIL seed %llu%s: replay: bin/sluice-sim --swarm --seeds %llu..%llu\n",
           (unsigned long long)w.failed[i], w.crashed[i] ? " (crashed)" : "",
           (unsigned long long)w.failed[i], (unsigned long long)w.failed[i]);
  return w.broken ? 2 : w.failed_count ? 1 : 0;
}

static int print_scenarios(const struct args *a, struct scenario *sc, char *yaml) {
  for (uint64_t seed = a->first; seed <= a->last && seed >= a->first; seed++) {
    if (!swarm_draw(seed, sc, yaml, YAML_BYTES)) return 2;
    printf("# seed %llu\n%s", (unsigned long long)seed, yaml);
  }
  return 0;
}

/* A single seed: a replay, in process, with the whole report. */
static int replay_seed(const struct args *a, struct scenario *sc, char *yaml) {
  if (!swarm_draw(a->first, sc, yaml, YAML_BYTES)) return 2;
  char replay[128];
  snprintf(replay, sizeof replay, "bin/sluice-sim --swarm --seeds %llu..%llu",
           (unsigned long long)a->first, (unsigned long long)a->first);
  return run_and_print(sc, a->first, a, replay);
}

static int run_swarm(const struct args *a) {
  if (a->print_scenario || a->first == a->last) {
    struct scenario *sc = scenario_new();
    char *yaml = yaml_new();
    int rc = a->print_scenario ? print_scenarios(a, sc, yaml) : replay_seed(a, sc, yaml);
    free(yaml);
    free(sc);
    return rc;
  }
  if (a->report && !make_dir(a->report)) return 2;
  return sweep_seeds(a);
}

int main(int argc, char **argv) {
  struct args a;
  if (!parse_args(argc, argv, &a)) return 2;
  return a.swarm ? run_swarm(&a) : run_one(&a);
}
