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
 * or one that cannot run yet. An assertion or a fatal signal prints where
 * the run was and its replay command (sim/crash.h); in a sweep the parent
 * prints each crashed seed's report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "faults/swarm.h"
#include "sim/crash.h"
#include "sim/runner.h"

static const char USAGE[] =
    "usage: sluice-sim --scenario FILE [--seed N] [--trace FILE] [--report DIR] [--verbose]\n"
    "       sluice-sim --swarm [--quorum] --seeds A..B [--jobs N] [--report DIR] "
    "[--print-scenario]\n"
    "       (one seed, A..A, replays it with the whole report; --trace and --report apply)\n";

enum { SWARM_JOBS_MAX = 64, SWARM_FAILED_SHOWN = 64 };

struct args {
  const char *path, *trace, *report;
  uint64_t seed, first, last, jobs;
  bool verbose, swarm, print_scenario;
  bool quorum; /* --swarm --quorum: draw KRaft quorum scenarios (faults/swarm.h) */
};

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* reporting only; the run never sees it */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the crash report (sim/crash.h) ---- */

/* The run a crash report describes. This is the one piece of process-wide
 * mutable state in the simulator, for one reason: neither the panic hook
 * (sl_panic_hook takes no context) nor a signal handler can be handed a
 * pointer, and both must find the run they interrupt. main() owns the
 * context and sets this once; only the hook and the handlers read it, and
 * nothing in a run reads it, so it cannot change what a run does. */
static struct sim_crash_context *crash_context;

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
enum { SIGNAL_STACK_BYTES = 64 * 1024 };

/* write(2) until done: async-signal-safe. */
static void write_all(int fd, const char *p, size_t len) {
  for (int tries = 0; len > 0 && tries < 64; tries++) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    len -= (size_t)n;
  }
}

/* The hook runs in sl_panic, before abort(): an ordinary context. */
static void on_panic(const char *file, int line, const char *what) {
  struct sim_crash_context *c = crash_context;
  if (!c || c->reported) return;
  c->reported = 1; /* abort()'s SIGABRT then adds nothing */
  char headline[CRASH_TEXT_BYTES], block[CRASH_BLOCK_BYTES];
  snprintf(headline, sizeof headline, "assertion failed at %s:%d: %s", file, line, what);
  write_all(c->fd, block, crash_format(c, headline, block, sizeof block));
}

/* On the alternate stack (a stack overflow still reports); only copies,
 * integer formatting and write(2). The handler is reset on entry
 * (SA_RESETHAND), so re-raising ends the process with the same signal. */
static void on_fatal_signal(int sig) {
  struct sim_crash_context *c = crash_context;
  if (c && !c->reported) {
    c->reported = 1;
    char headline[64], block[CRASH_BLOCK_BYTES];
    crash_signal_headline(sig, headline, sizeof headline);
    write_all(c->fd, block, crash_format(c, headline, block, sizeof block));
  }
  raise(sig);
}

static bool crash_report_install(struct sim_crash_context *c, void **stack) {
  *stack = malloc(SIGNAL_STACK_BYTES);
  stack_t ss = {.ss_sp = *stack, .ss_size = SIGNAL_STACK_BYTES};
  if (!*stack || sigaltstack(&ss, NULL) != 0) return false;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++)
    if (sigaction(fatal_signals[i], &sa, NULL) != 0) return false;
  crash_context = c;
  sl_panic_hook = on_panic;
  return true;
}

static void crash_report_remove(void *stack) {
  sl_panic_hook = NULL;
  for (size_t i = 0; i < ARRAY_LEN(fatal_signals); i++) signal(fatal_signals[i], SIG_DFL);
  crash_context = NULL;
  stack_t ss = {.ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  free(stack);
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
    } else if (!strcmp(arg, "--quorum")) {
      a->quorum = true;
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
  if (a->swarm == (a->path != NULL) || (a->swarm && a->last == 0) || (a->quorum && !a->swarm)) {
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
  printf("cuts: %llu, broker starts: %llu\n", (unsigned long long)rep->cuts,
         (unsigned long long)rep->broker_starts);
  if (sc->nodes > 1) {
    printf("quorum: %llu records proposed to the leader", (unsigned long long)rep->proposals);
    for (int i = 0; i < rep->election_count; i++)
      printf("%s%llu", i ? ", " : "; a new leader (ms after it was lost): ",
             (unsigned long long)rep->elections_ms[i]);
    printf("\n");
  }
  if (rep->leaders_text[0]) printf("%s\n", rep->leaders_text);
  if (rep->groups_text[0]) printf("%s\n", rep->groups_text);
  if (rep->hostile_text[0]) printf("%s\n", rep->hostile_text);
  printf("trace hash %016llx\n", (unsigned long long)rep->trace_hash);
  /* Per checker: the verdict, what fell outside the allowance, and the
   * allowance beside what it covered (within N of at most M). */
  for (int i = 0; i < rep->result_count; i++) {
    const struct check_result *c = &rep->results[i];
    const char *verdict = c->violations ? "VIOLATION" : c->allowed ? "allowed" : "ok";
    printf("  %-22s %-9s %zu outside", c->name, verdict, c->violations);
    if (c->allowances) {
      char kinds[128];
      printf(", %zu within %s (of %llu)", c->allowed,
             history_allowances_text(c->allowances, kinds, sizeof kinds),
             (unsigned long long)c->bound);
    }
    if (c->first[0]) printf("  %s%s", c->violations ? "first: " : "", c->first);
    printf("\n");
  }
  printf("verdict: %s\n", rep->passed ? "PASS" : "FAIL");
}

/* One scenario, one seed, with the trace file and report if asked; crash
 * says which run this is. */
static int run_and_print(const struct scenario *sc, uint64_t seed, const struct args *a,
                         struct sim_crash_context *crash) {
  FILE *trace = NULL;
  if (a->trace && !(trace = fopen(a->trace, "w"))) {
    fprintf(stderr, "sluice-sim: cannot write %s\n", a->trace);
    return 2;
  }
  if (a->report && !make_dir(a->report)) return 2;
  struct run_options opts = {.verbose = a->verbose,
                             .trace = trace,
                             .report_dir = a->report,
                             .world_slot = &crash->world};
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
  if (!rep.passed) printf("%s\n", crash->replay);
  return rep.passed ? 0 : 1;
}

static int run_one(const struct args *a, struct sim_crash_context *crash) {
  struct scenario *sc = scenario_new();
  char err[512];
  int rc = 2;
  if (scenario_load(a->path, sc, err, sizeof err)) {
    crash_context_set(crash, a->path, a->seed, false);
    rc = run_and_print(sc, a->seed, a, crash);
  } else {
    fprintf(stderr, "sluice-sim: %s\n", err);
  }
  free(sc);
  return rc;
}

/* The drawn scenario goes through the YAML writer and parser, so a failing
 * seed's scenario can be saved and replayed as a file, byte for byte. */
static bool swarm_draw(const struct args *a, uint64_t seed, struct scenario *sc, char *yaml,
                       size_t cap) {
  struct scenario *drawn = scenario_new();
  if (a->quorum)
    swarm_quorum_scenario(seed, drawn);
  else
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

/* The crash report's replay names --quorum for a quorum sweep. */
static void swarm_crash_context(const struct args *a, struct sim_crash_context *crash,
                                const char *name, uint64_t seed) {
  crash_context_set(crash, name, seed, true);
  if (a->quorum)
    snprintf(crash->replay, sizeof crash->replay,
             "replay: bin/sluice-sim --swarm --quorum --seeds %llu..%llu",
             (unsigned long long)seed, (unsigned long long)seed);
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
 * (0 pass, 1 fail, 2 cannot run), a crash (an assertion, a signal) is a
 * failure too. What it writes to its pipe comes back to the parent: the
 * simulated seconds, or its crash report. */
static void swarm_child(const struct args *a, uint64_t seed, int fd,
                        struct sim_crash_context *crash) {
  crash->fd = fd; /* the parent prints the report with the seed's verdict */
  struct scenario *sc = scenario_new();
  char *yaml = yaml_new();
  if (!swarm_draw(a, seed, sc, yaml, YAML_BYTES)) _exit(2);
  swarm_crash_context(a, crash, sc->name, seed);
  struct run_report rep;
  struct run_options opts = {.world_slot = &crash->world};
  if (!run_scenario(sc, seed, &opts, &rep)) {
    fprintf(stderr, "sluice-sim: swarm seed %llu: %s\n", (unsigned long long)seed, rep.why);
    _exit(2);
  }
  if (!rep.passed && a->report) save_failure(a->report, seed, yaml);
  char line[64];
  int len = snprintf(line, sizeof line, "%.3f\n", rep.simulated_s);
  if (write(fd, line, (size_t)len) != len) _exit(2);
  _exit(rep.passed ? 0 : 1);
}

/* A running child: its seed and the read end of its pipe. */
struct child {
  pid_t pid; /* 0: a free slot */
  uint64_t seed;
  int fd;
};

struct failure {
  uint64_t seed;
  int signal;   /* what ended it; 0: it exited with a failing verdict */
  char *report; /* its crash report; NULL if it left none */
};

struct sweep {
  uint64_t done, failed_count;
  struct failure failed[SWARM_FAILED_SHOWN];
  double simulated;
  bool broken; /* a seed could not run at all */
  bool quorum; /* --quorum: replays say so */
};

/* What a child wrote, read once it has exited: every write end of its
 * pipe is closed then (the parent closed its own after the fork), so this
 * ends. Keeps cap - 1 bytes and a NUL. */
static void read_child(int fd, char *out, size_t cap) {
  size_t len = 0;
  char chunk[512];
  for (int i = 0; i < 4096; i++) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t keep = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
    memcpy(out + len, chunk, keep);
    len += keep;
  }
  out[len] = 0;
  close(fd);
}

static void sweep_note(struct sweep *w, const struct child *ch, int status) {
  char out[CRASH_BLOCK_BYTES];
  read_child(ch->fd, out, sizeof out);
  double simulated = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) <= 1 && sscanf(out, "%lf", &simulated) == 1)
    w->simulated += simulated;
  w->done++;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2) w->broken = true;
  if (w->failed_count < SWARM_FAILED_SHOWN) {
    struct failure *f = &w->failed[w->failed_count];
    f->seed = ch->seed;
    f->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    f->report = f->signal && out[0] ? strdup(out) : NULL;
  }
  w->failed_count++;
}

/* Starts the next seed in a free slot; false if fork or pipe failed. */
static bool sweep_start(const struct args *a, struct child *children, uint64_t seed,
                        struct sim_crash_context *crash) {
  int slot = 0;
  while (slot < SWARM_JOBS_MAX && children[slot].pid) slot++;
  ASSERT(slot < SWARM_JOBS_MAX);
  int fds[2];
  if (pipe(fds) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    swarm_child(a, seed, fds[1], crash);
  }
  close(fds[1]);
  children[slot] = (struct child){.pid = pid, .seed = seed, .fd = fds[0]};
  return true;
}

/* Waits for a child to end and notes its verdict; false if wait fails. */
static bool sweep_reap(struct sweep *w, struct child *children, uint64_t *running) {
  int status;
  pid_t pid = wait(&status);
  if (pid < 0) return false;
  for (int slot = 0; slot < SWARM_JOBS_MAX; slot++)
    if (children[slot].pid == pid) {
      sweep_note(w, &children[slot], status);
      children[slot].pid = 0;
      (*running)--;
    }
  return true;
}

static int by_seed(const void *a, const void *b) {
  uint64_t x = ((const struct failure *)a)->seed, y = ((const struct failure *)b)->seed;
  return x < y ? -1 : x > y;
}

/* In seed order, so the output does not depend on which child ended first;
 * a crashed seed with its report, indented. */
static void sweep_print_failures(struct sweep *w) {
  size_t shown = w->failed_count < SWARM_FAILED_SHOWN ? (size_t)w->failed_count
                                                      : (size_t)SWARM_FAILED_SHOWN;
  qsort(w->failed, shown, sizeof w->failed[0], by_seed);
  for (size_t i = 0; i < shown; i++) {
    const struct failure *f = &w->failed[i];
    unsigned long long seed = (unsigned long long)f->seed;
    printf("FAIL seed %llu%s: replay: bin/sluice-sim --swarm%s --seeds %llu..%llu\n", seed,
           f->signal ? " (crashed)" : "", w->quorum ? " --quorum" : "", seed, seed);
    if (f->signal && !f->report) printf("  (signal %d, no report)\n", f->signal);
    for (const char *line = f->report; line && *line;) {
      const char *end = strchr(line, '\n');
      int len = end ? (int)(end - line) : (int)strlen(line);
      printf("  %.*s\n", len, line);
      line += len + (end ? 1 : 0);
    }
    free(f->report);
  }
}

/* Forks up to jobs children at a time, one per seed, each with its own
 * pipe for what it reports. */
static int sweep_seeds(const struct args *a, struct sim_crash_context *crash) {
  struct sweep w = {.quorum = a->quorum};
  struct child children[SWARM_JOBS_MAX] = {{0}};
  uint64_t total = a->last - a->first + 1, next = a->first, running = 0;
  double t0 = wall_s();
  fflush(NULL);
  while (w.done < total) {
    for (; running < a->jobs && next <= a->last && next >= a->first; running++, next++)
      if (!sweep_start(a, children, next, crash)) return 2;
    if (!sweep_reap(&w, children, &running)) return 2;
    double wall = wall_s() - t0;
    fprintf(stderr,
            "\rswarm: %llu/%llu seeds, %llu failed, %.0f simulated s in %.1f wall s (%.0fx)",
            (unsigned long long)w.done, (unsigned long long)total,
            (unsigned long long)w.failed_count, w.simulated, wall,
            wall > 0 ? w.simulated / wall : 0.0);
  }
  fprintf(stderr, "\n");
  printf("swarm: seeds %llu..%llu: %llu runs, %llu failed, %.0f simulated s in %.1f wall s "
         "(%d jobs)\n",
         (unsigned long long)a->first, (unsigned long long)a->last, (unsigned long long)w.done,
         (unsigned long long)w.failed_count, w.simulated, wall_s() - t0, (int)a->jobs);
  sweep_print_failures(&w);
  return w.broken ? 2 : w.failed_count ? 1 : 0;
}

static int print_scenarios(const struct args *a, struct scenario *sc, char *yaml) {
  for (uint64_t seed = a->first; seed <= a->last && seed >= a->first; seed++) {
    if (!swarm_draw(a, seed, sc, yaml, YAML_BYTES)) return 2;
    printf("# seed %llu\n%s", (unsigned long long)seed, yaml);
  }
  return 0;
}

/* A single seed: a replay, in process, with the whole report. */
static int replay_seed(const struct args *a, struct scenario *sc, char *yaml,
                       struct sim_crash_context *crash) {
  if (!swarm_draw(a, a->first, sc, yaml, YAML_BYTES)) return 2;
  swarm_crash_context(a, crash, sc->name, a->first);
  return run_and_print(sc, a->first, a, crash);
}

static int run_swarm(const struct args *a, struct sim_crash_context *crash) {
  if (a->print_scenario || a->first == a->last) {
    struct scenario *sc = scenario_new();
    char *yaml = yaml_new();
    int rc = a->print_scenario ? print_scenarios(a, sc, yaml) : replay_seed(a, sc, yaml, crash);
    free(yaml);
    free(sc);
    return rc;
  }
  if (a->report && !make_dir(a->report)) return 2;
  return sweep_seeds(a, crash);
}

int main(int argc, char **argv) {
  struct args a;
  if (!parse_args(argc, argv, &a)) return 2;
  struct sim_crash_context crash;
  crash_context_init(&crash, STDERR_FILENO);
  void *signal_stack = NULL;
  if (!crash_report_install(&crash, &signal_stack)) {
    fprintf(stderr, "sluice-sim: cannot install the crash report: %s\n", strerror(errno));
    return 2;
  }
  int rc = a.swarm ? run_swarm(&a, &crash) : run_one(&a, &crash);
  crash_report_remove(signal_stack);
  return rc;
}
