/* --report DIR: what a run did, as files a person or gnuplot can read:
 * history.csv (every client event), timeline.dat (per 100 ms: sends, acks,
 * failures, reads, acknowledgement latency percentiles), faults.dat (when
 * each fault fired), summary.txt (the verdicts and each node's disk and
 * network counters) and plot.gp, a gnuplot
 * script drawing timeline.png with the faults marked. */
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

/* Writes the files into dir (which must exist); false, with a message on
 * stderr, if one cannot be written. */
bool report_write(const char *dir, const struct scenario *sc, uint64_t seed,
                  const struct history *h, const struct report_fault *faults, int fault_count,
                  const struct run_report *rep, struct sim_world *w);

#endif
