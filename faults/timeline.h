/* The fault timeline: the safety phase of a run. Faults fire in the order
 * listed, each at its scripted time plus a seeded jitter (the scenario's
 * jitter: bound), or, with when:, at the event it waits for on a broker's
 * disk or network (observed through sim_world_set_observer); a fault never
 * fires before the one above it. Each resolves its targets when it fires
 * (an event-triggered one when it is armed: the node it watches is the node
 * it hits) and drives the world's process, network, clock and disk models
 * (sim/world.h). */
#ifndef SLUICE_FAULTS_TIMELINE_H
#define SLUICE_FAULTS_TIMELINE_H

#include <stdint.h>

#include "faults/grammar.h"

struct runner;

/* Runs the world from t0_ns to the end of the safety phase (t0 plus the
 * scenario's duration), applying every fault of the scenario on the way. */
void timeline_run(struct runner *r, uint64_t t0_ns);
/* Applies one fault now, its targets resolved now. */
void fault_apply(struct runner *r, const struct fault *f);

#endif
