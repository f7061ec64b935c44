/* The simulated world: broker/env.h for many nodes in one process on one
 * virtual clock. One global event queue ordered by (time, sequence number)
 * decides everything that happens, so a run is a pure function of the seed,
 * the inputs and the code; a trace hash over every event and log line proves
 * it (two runs with one seed must print the same hash).
 *
 * Nodes are machines: brokers and the simulated Kafka clients alike, each
 * with its own env (clock, timers, randomness, network, disk, log). The
 * models are in sim/net.h (network and its faults) and sim/disk.h (disk and
 * its faults); process faults (power loss, restart, pause) and clocks are
 * here. Nothing in sim/ reads real time or real randomness or touches the
 * OS beyond malloc and, for debugging output, stdio. */
#ifndef SLUICE_SIM_WORLD_H
#define SLUICE_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "env.h"
#include "sim/prng.h"

enum {
  SIM_NODES_MAX = 64,
  SIM_SECTOR_BYTES = 512,
  SIM_LOG_LINE_BYTES = 256, /* longer log lines are cut (and hashed cut) */
  SIM_EVENTS_MAX = 1 << 22, /* events pending at once; more is a bug */
};

struct sim_world;
struct sim_node;

/* ---- the world and its event queue ---- */

struct sim_world *sim_world_create(uint64_t seed);
/* Frees everything; pending events are dropped (their drop functions run). */
void sim_world_destroy(struct sim_world *w);
uint64_t sim_now_ns(const struct sim_world *w);
/* Runs the next event; false when the queue is empty. */
bool sim_step(struct sim_world *w);
/* Runs every event due at or before t_ns; the clock then reads t_ns (it
 * never goes back: an earlier t_ns runs nothing). */
void sim_run_until(struct sim_world *w, uint64_t t_ns);
/* Runs the next event if it is due at or before t_ns; false (the clock
 * unmoved) if there is none. */
bool sim_step_until(struct sim_world *w, uint64_t t_ns);
uint64_t sim_events_processed(const struct sim_world *w);
uint64_t sim_trace_hash(const struct sim_world *w);
/* The world's root stream; fork it (sim_rng_fork) rather than draw from it,
 * so what one layer draws does not move another. */
const struct sim_rng *sim_world_rng(const struct sim_world *w);

/* Log lines (env->logv) are stamped with virtual time and node, hashed,
 * and printed to stderr when verbose. */
void sim_world_set_verbose(struct sim_world *w, bool verbose);
/* Every log line also goes to this file (NULL: none), e.g. --trace. */
void sim_world_set_log_file(struct sim_world *w, FILE *file);

/* ---- observing: what event-triggered faults wait for ---- */

enum sim_observed {
  SIM_OBSERVED_WRITE,       /* a pwrite succeeded (path: the file's) */
  SIM_OBSERVED_FSYNC_START, /* an fsync was issued (path); until_ns: when it completes */
  SIM_OBSERVED_FILE_SEND,   /* a frame with file parts was sent (a Fetch response's
                               records); until_ns: when it reaches the peer */
};

struct sim_observation {
  enum sim_observed what;
  struct sim_node *node; /* where it happened */
  const char *path;      /* WRITE, FSYNC_START; NULL otherwise */
  uint64_t until_ns;     /* the end of what is in flight; now for WRITE */
};

/* Called inside the model's call, in the middle of an event: an observer
 * only takes note (it changes nothing in the world, draws from no stream
 * of the world), so observing never changes a run. */
typedef void (*sim_observer_fn)(void *ctx, const struct sim_observation *o);
/* One observer per world; fn NULL: none (the default). */
void sim_world_set_observer(struct sim_world *w, sim_observer_fn fn, void *ctx);

/* Called after every event has run (the quorum checkers, sim/quorum_check.h,
 * look at every node's state there). Like an observer it only takes note:
 * it changes nothing in the world and draws from no stream of it. fn NULL:
 * none (the default). */
typedef void (*sim_after_event_fn)(void *ctx);
void sim_world_set_after_event(struct sim_world *w, sim_after_event_fn fn, void *ctx);
/* For the hook: the node whose event just ran (NULL: a world event), and a
 * count that moves whenever code other than an event's may have run since
 * (the caller between sim_step* calls, an event dropped with its node's
 * crash). A hook that saw the count unchanged and a node's event knows
 * only that node's code ran since it last looked. */
struct sim_node *sim_world_event_node(const struct sim_world *w);
uint64_t sim_world_outside_count(const struct sim_world *w);
/* What a hook's checkers are told to look at: every node, none (only the
 * clock moved), or else one node's index (only its state changed). */
enum { SIM_LOOK_ALL = -1, SIM_LOOK_NONE = -2 };

/* ---- nodes ---- */

/* A machine with a unique id and host name (host names are what connect
 * resolves; "localhost" is the node itself). */
struct sim_node *sim_node_add(struct sim_world *w, int32_t node_id, const char *host);
struct env *sim_node_env(struct sim_node *n);
const char *sim_node_host(const struct sim_node *n);
int sim_world_node_count(const struct sim_world *w);
struct sim_node *sim_world_node_at(struct sim_world *w, int index); /* in order of adding */

/* Power loss. In order: the node's connections vanish (peers get a reset
 * after the link's latency), its listeners close; fsyncs in flight fail with
 * ENV_EIO into the dying process, so it can let go of what waited on them
 * (nothing of theirs became durable); its timers and every other pending
 * event of the node are dropped, a pause ends; the disk keeps what its model
 * says survives (sim/disk.h) and open files go dead (calls fail with
 * ENV_EIO, close works). The machine is back at
 * once, with no process on it: connects are refused until a new process
 * listens. The env stays usable for that next process (net handler
 * cleared). Clean shutdown is the caller's (node_shutdown, then this). */
void sim_node_crash(struct sim_node *n);
/* The process exits (a clean shutdown's end, a failed start, kill -9): as
 * a power loss for the process, but the machine stays up, so the page
 * cache keeps every byte written (open files are closed, not dead). */
void sim_node_exit(struct sim_node *n);
/* Before the next process starts: applies a pending whole-disk loss. */
void sim_node_restart(struct sim_node *n);
/* A stop-the-world pause (a GC pause, SIGSTOP): the node's events (timers,
 * frames, fsync completions, accepts) wait and run, in their order, at
 * resume. Its clock keeps running; its kernel still queues frames and
 * accepts connections, so peers see a stall, not a reset. */
void sim_node_pause(struct sim_node *n);
void sim_node_resume(struct sim_node *n);
bool sim_node_paused(const struct sim_node *n);

/* ---- clocks ---- */

/* A node's monotonic clock runs at (1 + drift_ppm / 10^6) times the world's
 * from now on (|drift_ppm| <= 500,000); it never goes back. Its timers are
 * converted to world time when they start. */
void sim_node_set_drift_ppm(struct sim_node *n, int32_t drift_ppm);
/* Moves the node's wall clock (env->wall_ms) by delta_ms, either way (NTP
 * stepping the clock); the monotonic clock does not move. Wall time starts
 * at 2026-01-01T00:00:00Z plus the node's monotonic time. */
void sim_node_wall_jump_ms(struct sim_node *n, int64_t delta_ms);
int64_t sim_node_wall_ms(const struct sim_node *n);

#include "sim/disk.h"
#include "sim/net.h"

#endif
