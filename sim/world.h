/* The simulated world: broker/env.h for many nodes in one process on one
 * virtual clock. One global event queue ordered by (time, sequence) decides
 * everything that happens, so a run is a pure function of the seed and the
 * inputs; a trace hash over every event and log line proves it.
 *
 * Models (docs/architecture.md, "Simulation"):
 * - network: per-direction FIFO delivery after a seeded latency; a
 *   partition holds frames back and resets the connection after a TCP-like
 *   timeout; refused connects; frame size limits at the receiver;
 * - disk: each file has a page cache (what pread sees) and a durable copy
 *   (what survives a crash); fsync completes after a seeded latency; a
 *   crash keeps the durable copy plus a seeded, sector-aligned prefix of
 *   what was appended past it; capacity (ENOSPC) and fsync EIO faults. */
#ifndef SLUICE_SIM_WORLD_H
#define SLUICE_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"

enum {
  SIM_NODES_MAX = 64,
  SIM_SECTOR_BYTES = 512,
  SIM_LOG_LINE_BYTES = 512,
};

struct sim_world;
struct sim_node;

struct sim_world *sim_world_create(uint64_t seed);
void sim_world_destroy(struct sim_world *w);
uint64_t sim_now_ns(const struct sim_world *w);
/* Runs one event; false when the queue is empty. */
bool sim_step(struct sim_world *w);
/* Runs every event due at or before t_ns; the clock ends at t_ns. */
void sim_run_until(struct sim_world *w, uint64_t t_ns);
uint64_t sim_events_processed(const struct sim_world *w);
uint64_t sim_trace_hash(const struct sim_world *w);
/* Log lines go to stderr, stamped with virtual time, when verbose. */
void sim_world_set_verbose(struct sim_world *w, bool verbose);
/* One-way latency of every link: base + uniform jitter in [0, jitter). */
void sim_world_set_latency(struct sim_world *w, uint64_t base_ns, uint64_t jitter_ns);
/* A connection whose frames are held by a partition resets after this. */
void sim_world_set_partition_timeout(struct sim_world *w, uint64_t timeout_ns);

struct sim_node *sim_node_add(struct sim_world *w, int32_t node_id, const char *host);
struct env *sim_node_env(struct sim_node *n);
int32_t sim_node_id(const struct sim_node *n);
/* Power loss: every connection resets (peers see ENV_ECONNRESET), timers
 * and fsyncs in flight vanish, the disk keeps what the model says survives.
 * The caller discards whatever ran on the node; the env stays usable for
 * the next incarnation (net handler cleared). */
void sim_node_crash(struct sim_node *n);
/* Cuts (or heals) both directions between two nodes. */
void sim_net_partition(struct sim_world *w, struct sim_node *a, struct sim_node *b, bool cut);
void sim_net_heal_all(struct sim_world *w);

/* Disk faults. */
void sim_disk_set_capacity(struct sim_node *n, uint64_t bytes); /* 0 = unlimited */
uint64_t sim_disk_used(const struct sim_node *n);
void sim_disk_fail_fsyncs(struct sim_node *n, int count);
void sim_disk_set_fsync_latency(struct sim_node *n, uint64_t base_ns, uint64_t jitter_ns);
/* Flips one bit at rest (both layers); false if the file is too short. */
bool sim_disk_flip_bit(struct sim_node *n, const char *path, uint64_t offset, int bit);

#endif
