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
 * anomalies that durability mode allows; a quarter of the seeds without a
 * disk loss run the node as a one-voter KRaft quorum (the metadata log). */
void swarm_scenario(uint64_t seed, struct scenario *out);
/* Draws a KRaft quorum's scenario (sluice-sim --swarm --quorum): 3 or 5
 * controllers, combined or with 1-2 brokers of their own, no clients, and
 * up to 5 faults (with what ends them) from kills of a node or of the
 * leader (some tearing the unsynced tail), clean shutdowns of the leader,
 * pauses and isolations of the leader or a follower, power losses of every
 * controller at once and slow disks; the quorum checkers judge it. A
 * third of the seeds add clients (one topic of replication factor 1,
 * producers at acks=all with fsync, at times a consumer and an admin
 * client), judged by the history's checkers too. */
void swarm_quorum_scenario(uint64_t seed, struct scenario *out);

#endif
