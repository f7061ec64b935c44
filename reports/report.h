/* --report DIR: what a run did, as files a person or gnuplot can read:
 * history.csv (every client event), timeline.dat (per 100 ms: sends, acks,
 * failures, reads, acknowledgement latency percentiles), faults.dat (when
 * each fault fired), summary.txt (the verdicts and each node's disk and
 * network counters), with several nodes and clients leaders.dat (each
 * partition's leader over time, by the active controller's image), and
 * plot.gp, a gnuplot script drawing timeline.png with the faults marked
 * (and a leader timeline per partition). */
#ifndef SLUICE_REPORTS_REPORT_H
#define SLUICE_REPORTS_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/history.h"
#include "sim/scenario.h"

struct run_report;
struct sim_world;

struct report_fault {
  uint64_t time_ns;
  char text[160];
};

/* A partition's leader changed in the active controller's image (-1: no
 * leader). */
struct report_leader {
  uint64_t time_ns;
  int32_t stream;
  int32_t leader;
  int32_t epoch;
};

struct report_leaders {
  const struct report_leader *changes; /* in time order */
  int count;
};

/* Writes the files into dir (which must exist); false, with a message on
 * stderr, if one cannot be written. */
bool report_write(const char *dir, const struct scenario *sc, uint64_t seed,
                  const struct history *h, const struct report_fault *faults, int fault_count,
                  const struct report_leaders *leaders, const struct run_report *rep,
                  struct sim_world *w);

#endif
