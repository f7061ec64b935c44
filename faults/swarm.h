/* Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed
 * draws its own scenario, so that a sweep over many seeds tries many
 * topologies, workloads and fault mixes, each of which leaves some faults
 * out entirely. The scenario is a pure function of the seed. */
#ifndef SLUICE_FAULTS_SWARM_H
#define SLUICE_FAULTS_SWARM_H

#include <stdint.h>

#include "sim/scenario.h"

/* Draws the scenario of a seed: 1 node (until replication lands), 1 to 3
 * topics, 1 to 3 producers, 0 to 2 consumers, acks 0, 1 or all, page-cache
 * or fsync durability, sometimes small segments (1-64 KiB) and retention
 * that deletes them during the run, a fault-time jitter, and up to 10
 * faults from the whole catalogue (kills with torn sectors, fsync errors
 * that forget dirty pages, consumer seeks into batches, faults triggered by
 * an fsync in flight, an append or a Fetch response on the wire), with the
 * anomalies that durability mode allows. */
void swarm_scenario(uint64_t seed, struct scenario *out);

#endif
