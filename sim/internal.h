/* The simulated world's private state, shared by world.c, net.c, disk.c. */
#ifndef SLUICE_SIM_INTERNAL_H
#define SLUICE_SIM_INTERNAL_H

#include "base/buf.h"
#include "sim/world.h"

enum {
  SIM_EVENTS_MAX = 1 << 22,
  SIM_FILES_MAX = 4096,
  SIM_FDS_MAX = 1024,
  SIM_CONNS_MAX = 4096,
  SIM_LISTENERS_MAX = 8,
  SIM_PATH_BYTES = 512,
};

/* xoshiro256**, seeded with splitmix64. */
struct sim_rng {
  uint64_t s[4];
};
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n); /* [0, n); 0 if n == 0 */

typedef void (*sim_event_fn)(struct sim_world *w, void *ctx, uint64_t arg);

struct sim_file {
  char path[SIM_PATH_BYTES];
  bool is_dir;
  bool linked;        /* false once unlinked (it lives on while open) */
  int refs;           /* open descriptors */
  struct buf cache;   /* what pread sees */
  struct buf durable; /* what a crash keeps */
  bool rewritten; /* bytes below durable.len changed since the last fsync */
};

struct sim_fd {
  struct sim_file *file; /* NULL: the slot is free (or dead) */
  bool dead;             /* opened before a crash: every call fails with EIO until closed */
};

struct sim_listener {
  bool open;
  uint16_t port;
  uint32_t frame_bytes_max;
};

struct sim_node {
  struct sim_world *world;
  int index;
  int32_t id;
  char host[64];
  struct env env;
  struct env_net_handler handler;
  uint32_t incarnation; /* bumps on crash: older events for it are dropped */
  struct sim_rng rng;
  /* disk */
  struct sim_file *files[SIM_FILES_MAX]; /* sorted by path; NULL past count */
  int file_count;
  struct sim_fd fds[SIM_FDS_MAX];
  uint64_t capacity_bytes;
  int fsync_failures;
  uint64_t fsync_base_ns, fsync_jitter_ns;
  /* network */
  struct sim_listener listeners[SIM_LISTENERS_MAX];
};

struct sim_conn {
  bool open;
  int node; /* owner */
  int peer_node;
  uint64_t peer; /* the other end's conn id; 0 while connecting */
  uint32_t frame_bytes_max;
  uint64_t last_delivery_ns; /* keeps this direction in order */
  uint64_t held_since_ns;    /* a partition holds its frames since; 0: not held */
  uint64_t queued_bytes;
  bool accepted; /* server side */
};

struct sim_world {
  uint64_t now_ns;
  uint64_t seq;
  uint64_t processed;
  uint64_t trace;
  bool verbose;
  struct sim_rng rng;
  /* event heap */
  struct sim_event *heap;
  uint32_t heap_count;
  uint32_t heap_cap;
  /* lazily cancelled events, by id: a sorted growable set would do; the ids
   * of cancelled timers are kept in a small open-addressing table */
  uint64_t *cancelled;
  uint32_t cancelled_cap;
  uint32_t cancelled_count;
  struct sim_node *nodes[SIM_NODES_MAX];
  int node_count;
  struct sim_conn *conns; /* conn id = index + 1 */
  uint32_t conn_count;
  uint32_t conn_cap;
  bool cut[SIM_NODES_MAX][SIM_NODES_MAX];
  uint64_t latency_base_ns, latency_jitter_ns;
  uint64_t partition_timeout_ns;
};

struct sim_event {
  uint64_t time_ns;
  uint64_t seq; /* also the event's id */
  sim_event_fn fn;
  void *ctx;
  uint64_t arg;
  void (*drop)(void *ctx); /* frees ctx when the event is cancelled or stale */
  int node;                /* -1: the world's own */
  uint32_t incarnation;    /* the node's incarnation when scheduled */
};

/* Schedules fn after delay for node (-1: the world); returns the event id
 * (never 0). An event of a node that crashed since is dropped: drop(ctx)
 * runs instead (drop may be NULL). */
uint64_t sim_schedule(struct sim_world *w, int node, uint64_t delay_ns, sim_event_fn fn,
                      void *ctx, uint64_t arg, void (*drop)(void *ctx));
void sim_cancel(struct sim_world *w, uint64_t id);
void sim_trace(struct sim_world *w, uint64_t value);

void sim_disk_install(struct sim_node *n);
void sim_disk_crash(struct sim_node *n);
void sim_disk_fail_inflight(struct sim_node *n);
void sim_disk_free(struct sim_node *n);
void sim_net_install(struct sim_node *n);
void sim_net_crash(struct sim_node *n);
int sim_disk_read_range(struct sim_node *n, env_file file, uint64_t offset, size_t len,
                        struct buf *out);

#endif
