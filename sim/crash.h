/* sluice-sim's crash report. When a broker or simulator assertion fails, or
 * SIGSEGV, SIGBUS, SIGFPE or SIGABRT ends the process in the middle of a
 * run, one block says what happened, where in the run, and how to replay it:
 *
 *   sluice-sim: assertion failed at broker/server/api_produce.c:123: cond
 *   scenario scenarios/crash-restart.yaml, seed 7, virtual time 12.345678 s
 *   replay: bin/sluice-sim --scenario scenarios/crash-restart.yaml --seed 7
 *
 * sim/main.c installs the panic hook and the signal handlers; this file
 * keeps the run's description and formats the block. The text is prepared
 * when the run starts, so that a signal handler only copies bytes and
 * formats one integer (async-signal-safe). The simulation never reads any
 * of it: a run is the same with or without a crash report. */
#ifndef SLUICE_SIM_CRASH_H
#define SLUICE_SIM_CRASH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_world;

enum {
  CRASH_TEXT_BYTES = 4352, /* a scenario path (up to PATH_MAX) and a replay command */
  CRASH_BLOCK_BYTES = 2 * CRASH_TEXT_BYTES + 512,
};

/* The current run, as a crash report describes it. */
struct sim_crash_context {
  bool running;                  /* a run is described (crash_context_set) */
  char where[CRASH_TEXT_BYTES];  /* "scenario scenarios/x.yaml, seed 7" */
  char replay[CRASH_TEXT_BYTES]; /* "replay: bin/sluice-sim --scenario ... --seed 7" */
  /* The run's world while it exists, for the virtual time (the runner
   * publishes it through run_options.world_slot); NULL otherwise. */
  struct sim_world *world;
  int fd;                         /* where the block goes: stderr, or a swarm child's pipe */
  volatile sig_atomic_t reported; /* a block was written: abort()'s SIGABRT adds none */
};

void crash_context_init(struct sim_crash_context *c, int fd);
/* The run about to start: a scenario file (scenario is its path; the replay
 * is --scenario path --seed seed) or a swarm seed (scenario is the drawn
 * scenario's name; the replay is --swarm --seeds seed..seed). */
void crash_context_set(struct sim_crash_context *c, const char *scenario, uint64_t seed,
                       bool swarm);

/* The block: "sluice-sim: <headline>", then, during a run, where it was
 * and the replay command, one per line. Cut to cap - 1 bytes and ended with
 * a NUL; returns its length. Async-signal-safe. */
size_t crash_format(const struct sim_crash_context *c, const char *headline, char *out,
                    size_t cap);
/* "signal SIGSEGV (invalid memory access)"; async-signal-safe. */
void crash_signal_headline(int sig, char *out, size_t cap);

#endif
