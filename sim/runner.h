/* Runs one scenario with one seed: brokers on simulated nodes, producers and
 * consumers on client nodes, the fault timeline, then a liveness phase and a
 * final read; the history goes to the checkers. */
#ifndef SLUICE_SIM_RUNNER_H
#define SLUICE_SIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/history.h"
#include "sim/scenario.h"

struct sim_world;

struct run_options {
  bool verbose;           /* log lines to stderr */
  FILE *trace;            /* every log line, fault and client event; NULL: none */
  const char *report_dir; /* history, timeline and charts' data; NULL: none */
  /* Holds the run's world while it exists (NULL before and after), for a
   * crash report to read the virtual time (sim/crash.h); NULL: not kept.
   * The run never reads it back. */
  struct sim_world **world_slot;
};

struct run_report {
  uint64_t trace_hash;
  uint64_t events;
  double simulated_s;
  uint64_t sent, acked, failed, polled;
  /* Where the disk model cut a log at a broker start (or found a flipped
   * batch at the end), and the broker processes started. */
  uint64_t cuts, broker_starts;
  uint64_t unavailable_ns; /* the longest stretch without an acknowledgement */
  struct check_result results[CHECKERS_MAX + 1]; /* + topic-churn, with admin clients */
  int result_count;
  bool passed;
  char why[256]; /* when the run could not happen at all */
};

/* false if the scenario cannot run here (why says so). */
bool run_scenario(const struct scenario *sc, uint64_t seed, const struct run_options *opts,
                  struct run_report *out);

#endif
