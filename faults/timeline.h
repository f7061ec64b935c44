/* The fault timeline: the runner calls fault_apply as each fault of the
 * scenario falls due; it resolves the targets then and drives the world's
 * process, network, clock and disk models (sim/world.h). */
#ifndef SLUICE_FAULTS_TIMELINE_H
#define SLUICE_FAULTS_TIMELINE_H

#include "faults/grammar.h"

struct runner;

/* Applies one fault of the timeline, its targets resolved now. */
void fault_apply(struct runner *r, const struct fault *f);

#endif
