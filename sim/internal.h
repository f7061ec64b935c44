/* The simulated world's private state, shared by the files of sim/:
 * events.c (queue and trace), world.c (nodes, env, process faults),
 * clock.c, net.c and disk.c. */
#ifndef SLUICE_SIM_INTERNAL_H
#define SLUICE_SIM_INTERNAL_H

#include "base/buf.h"
#include "sim/world.h"

enum {
  SIM_FDS_MAX = 4096,      /* open files per node (a broker runs with a high ulimit -n) */
  SIM_FILES_MAX = 1 << 16, /* names per node */
  SIM_PATH_BYTES = 512,    /* longer paths get ENV_EINVAL */
  SIM_READ_FLIPS_MAX = 8,  /* pending read faults per file */
  SIM_FORGOT_MAX = 8,      /* forgotten ranges per file (more are not forgotten) */
  SIM_REST_FLIPS_MAX = 16, /* bits flipped at rest remembered per file (for the checkers) */
  SIM_LISTENERS_MAX = 8,
  SIM_CONNS_MAX = 1 << 20, /* connection ends ever opened in one world */
  SIM_IOV_MAX = 1024,
  SIM_FRAMES_SPARE_MAX = 4096, /* frames kept for reuse; more are freed */
};

/* ---- events (events.c) ---- */

typedef void (*sim_event_fn)(struct sim_world *w, void *ctx, uint64_t arg);
/* Cancels a pending event by id; unknown, fired or cancelled ids are ignored. */
void sim_cancel(struct sim_world *w, uint64_t id);

enum sim_event_kind {
  SIM_EV_TIMER,   /* a node's env timer */
  SIM_EV_FRAME,   /* a frame (or FIN/RST) reaches a node */
  SIM_EV_ACCEPT,  /* a node accepts a connection */
  SIM_EV_CONNECT, /* a node's connect finished */
  SIM_EV_CLOSED,  /* a node's connection is gone */
  SIM_EV_FSYNC,   /* a node's fsync completed */
  SIM_EV_KERNEL,  /* network machinery (SYN, hold timeout): runs while paused */
};

enum sim_event_state { SIM_EVS_FREE, SIM_EVS_QUEUED, SIM_EVS_DEFERRED, SIM_EVS_CANCELLED };

/* One pending event. Its id is (generation << 32 | slot + 1): a slot is
 * reused only once it left the queue (popped, or cancelled while queued),
 * and the generation makes an old id (a fired or cancelled timer)
 * harmless. */
struct sim_event {
  uint64_t time_ns;
  uint64_t seq;
  sim_event_fn fn;       /* the world's kind of callback ... */
  env_timer_fn timer_fn; /* ... or an env timer's */
  void *ctx;
  uint64_t arg;
  void (*drop)(void *ctx); /* frees ctx when the event never runs; may be NULL */
  int32_t node;            /* index; -1: not a node's */
  uint32_t incarnation;    /* the node's when scheduled */
  uint32_t gen;
  uint32_t next; /* free list or deferred list link: slot + 1, 0 = end */
  uint8_t kind;
  uint8_t state;
};

/* An entry of the queue (events.c): a queued event's (time, seq), in the
 * queue's order, and its slot. */
struct sim_queue_entry {
  uint64_t time_ns;
  uint64_t seq;
  uint32_t slot;
};

/* Schedules an event at an absolute time (>= now) for node index `node`
 * (-1: the world's). Node events are dropped if the node crashes first and
 * wait while it is paused. Returns the id (never 0). */
uint64_t sim_event_at(struct sim_world *w, int node, enum sim_event_kind kind, uint64_t time_ns,
                      sim_event_fn fn, void *ctx, uint64_t arg, void (*drop)(void *ctx));
uint64_t sim_timer_at(struct sim_world *w, int node, uint64_t time_ns, env_timer_fn fn,
                      void *ctx);
void sim_events_free(struct sim_world *w);
/* Pause support: a paused node's events move to its deferred list when
 * due; resume puts them back, due now, in the order they were due. */
void sim_events_requeue_deferred(struct sim_world *w, struct sim_node *n);
void sim_events_drop_deferred(struct sim_world *w, struct sim_node *n);

/* ---- disk (disk.c) ---- */

struct sim_range {
  uint64_t lo, hi;
};

struct sim_read_flip {
  uint64_t offset;
  uint8_t mask;
};

struct sim_file {
  char path[SIM_PATH_BYTES]; /* "/a/b"; the root is "" */
  bool is_dir;
  bool linked;      /* false once unlinked (it lives on while referenced) */
  int32_t refs;     /* open descriptors and fsyncs in flight */
  struct buf cache; /* what pread sees */
  /* What a power loss keeps: durable_len bytes, which are the page cache's
   * first bytes while durable_shared (a file only appended to since its
   * last fsync: a log, the common case, costs no copy), else in durable. */
  size_t durable_len;
  bool durable_shared;
  struct buf durable;
  /* A failed fsync's bytes that Linux marked clean without writing them
   * ("fsyncgate"): no later fsync writes them, so the platter holds zeros
   * there until they are written again (each range is [lo, hi)). */
  struct sim_range forgot[SIM_FORGOT_MAX];
  uint32_t forgot_count;
  struct sim_read_flip flips[SIM_READ_FLIPS_MAX]; /* pending read faults */
  uint32_t flip_count;
  /* Bits flipped at rest (sim_disk_flip_bit) and not flipped back, oldest
   * first, for sim_disk_rest_flip_in; bookkeeping only, the data is not
   * read from here. */
  struct sim_read_flip rest_flips[SIM_REST_FLIPS_MAX];
  uint32_t rest_flip_count;
  /* For sim_disk_view_versioned: which file this is (never reused within
   * a disk) and how many times bytes below its end changed or it shrank. */
  uint64_t serial;
  uint64_t rewrites;
};

struct sim_fd {
  struct sim_file *file; /* NULL: free (or dead) */
  bool dead;             /* opened before a power loss: calls fail with EIO until closed */
};

struct sim_fsync_op {
  struct sim_node *node;
  struct sim_file *file;
  env_fsync_fn done;
  void *ctx;
  uint64_t event;
  struct sim_fsync_op *prev, *next; /* in flight, in the order issued */
};

struct sim_disk {
  struct sim_file **files; /* sorted by path (strcmp): children follow parents */
  uint32_t file_count, file_cap;
  /* The file the last lookup by path found, or NULL: the checkers look the
   * same file up many times in a row (a cache; cleared when it leaves files). */
  struct sim_file *last_hit;
  struct sim_fd fds[SIM_FDS_MAX];
  uint32_t fds_max; /* open takes the lowest free fd below this; 0: SIM_FDS_MAX */
  struct sim_fsync_op *inflight_head, *inflight_tail;
  uint32_t inflight_count;
  struct sim_rng rng;
  uint64_t used_bytes; /* page cache bytes of every file still allocated */
  uint64_t capacity_bytes;
  uint64_t fsync_base_ns, fsync_jitter_ns;
  uint32_t fsync_slowdown;
  int32_t fsync_failures, write_failures; /* < 0: until cleared */
  bool fsync_error_forgets;
  bool lose_all;
  uint8_t torn; /* enum sim_torn */
  struct sim_disk_stats stats;
  uint64_t serial_last; /* the newest file's serial */
};

void sim_disk_install(struct sim_node *n);
void sim_disk_fail_inflight(struct sim_node *n);
void sim_disk_crash(struct sim_node *n);
/* A process exit: its descriptors close; the page cache stays. */
void sim_disk_close_all(struct sim_node *n);
void sim_disk_restart(struct sim_node *n);
void sim_disk_free(struct sim_node *n);
/* Appends len bytes of an open file's page cache at offset (for sends of
 * file parts); ENV_EIO if the range is not there. */
int sim_disk_read_range(struct sim_node *n, env_file file, uint64_t offset, size_t len,
                        struct buf *out);

/* ---- network (net.c) ---- */

/* RAW: bytes of the stream with no frame boundary of their own (a client
 * writing a frame in pieces, sim_net_send_raw); the receiving end assembles
 * them as a socket reader does. */
enum sim_frame_kind { SIM_FRAME_DATA, SIM_FRAME_FIN, SIM_FRAME_RST, SIM_FRAME_RAW };

struct sim_frame {
  struct sim_frame *next;
  uint64_t arrive_ns;
  uint8_t *data;
  uint32_t len;
  uint32_t off; /* RAW: bytes of it the receiver has taken already */
  uint8_t kind;
};

enum sim_conn_state { SIM_CONN_CONNECTING, SIM_CONN_OPEN, SIM_CONN_CLOSED };

/* One end of a connection; its id is its index + 1. Frames travel to an
 * end's inbound queue; one delivery event (the pump) at a time takes them. */
struct sim_conn {
  uint8_t state;
  int16_t node;      /* owner (index) */
  int16_t peer_node; /* -1 while unresolved */
  uint64_t peer;     /* the other end's id; 0 until the SYN arrives */
  uint32_t frame_bytes_max;
  uint16_t port; /* connect: the server's port */
  struct sim_frame *in_head, *in_tail;
  uint64_t in_last_arrive_ns; /* keeps the inbound stream in order */
  uint64_t pump_event;
  uint64_t hold_event;    /* the timeout of a hold */
  uint64_t held_since_ns; /* 0: not held */
  uint64_t queued_bytes;  /* sent by this end, not yet delivered */
  bool read_paused;       /* env->read_pause: its inbound queue waits */
  /* Budgets (env_net_limits): waiting for queued.max.request.bytes to let
   * its next big frame in; counted against max.connections(.per.ip); the
   * part of the budget the frame being assembled holds. */
  bool receive_waiting;
  bool counted;
  uint64_t reserved_bytes;
  /* RAW bytes being assembled into a frame: the length prefix so far, then
   * the body (grown as bytes come, never on the prefix's word alone). */
  uint8_t raw_prefix[4];
  uint8_t raw_prefix_have;
  bool raw_admitted; /* the prefix passed the frame limit and the budget */
  uint8_t *raw_body;
  uint32_t raw_len, raw_have, raw_cap;
  uint64_t connect_started_ns, syn_backoff_ns;
};

struct sim_link {
  struct sim_link_config cfg;
  bool cut;
  bool rng_ready;
  uint64_t clogged_until_ns;
  uint64_t spike_until_ns, spike_extra_ns;
  uint64_t free_at_ns; /* when the link has serialised what it was given */
  struct sim_rng rng;
};

struct sim_listener {
  bool open;
  uint16_t port;
  uint32_t frame_bytes_max;
};

struct sim_netnode {
  struct sim_listener listeners[SIM_LISTENERS_MAX];
  uint16_t next_port;
  struct sim_net_stats stats;
  /* Budgets, as os/net.c enforces them (env->net_limits_set). */
  struct env_net_limits limits;
  uint64_t out_bytes_total;             /* its open ends' queued_bytes, summed */
  uint64_t receive_reserved_bytes;      /* big frames being assembled */
  uint32_t inbound_count;               /* accepted ends counted against max.connections */
  uint32_t inbound_from[SIM_NODES_MAX]; /* ... per client host (its address) */
  uint64_t refused_in_burst;
};

void sim_net_install(struct sim_node *n);
void sim_net_crash(struct sim_node *n);
void sim_net_free(struct sim_world *w);

/* ---- nodes and the world (world.c, clock.c) ---- */

struct sim_node {
  struct sim_world *world;
  int index;
  int32_t id;
  char host[64];
  struct env env;
  struct env_net_handler handler;
  uint32_t incarnation;
  bool paused;
  uint32_t deferred_head, deferred_tail; /* slot + 1 */
  uint32_t deferred_count;
  struct sim_rng rng;    /* the node's root: only forked */
  struct sim_rng random; /* env->random_u64 */
  /* clock: local = base_local + (world - base_world) * (1 + drift) */
  uint64_t clock_base_world_ns, clock_base_local_ns;
  int32_t drift_ppm;
  int64_t wall_offset_ms;
  struct sim_disk disk;
  struct sim_netnode net;
};

struct sim_world {
  uint64_t now_ns;
  uint64_t seq;
  uint64_t processed;
  uint64_t trace;
  uint64_t same_time_events; /* events in a row at one instant (a livelock guard) */
  struct sim_rng rng;
  /* events */
  struct sim_event *slots;
  uint32_t slot_count, slot_cap, free_head;
  struct sim_queue_entry *queue; /* sorted latest first */
  uint32_t queue_count, queue_cap;
  /* nodes */
  struct sim_node *nodes[SIM_NODES_MAX];
  int node_count;
  /* network */
  struct sim_conn *conns;
  uint32_t conn_count, conn_cap, open_ends;
  struct sim_link *links; /* [from * SIM_NODES_MAX + to] */
  uint64_t cut_changes;   /* calls that set or cleared a link's cut */
  struct sim_link_config default_link;
  struct sim_frame *frames_spare; /* frames to reuse (net.c), a list */
  uint32_t frames_spare_count;
  uint64_t net_timeout_ns;
  /* log */
  bool verbose;
  FILE *log_file;
  /* the observer (sim_world_set_observer) */
  sim_observer_fn observer;
  void *observer_ctx;
  /* the after-event hook (sim_world_set_after_event) */
  sim_after_event_fn after_event;
  void *after_event_ctx;
  /* For the hook (sim_world_event_node, sim_world_outside_count): the node
   * whose event ran last (-1: the world's), and how many times code other
   * than an event's may have run since the world began: each entry into
   * the stepping calls (the caller ran before it) and each dropped event's
   * drop function. */
  int32_t event_node;
  uint64_t outside_count;
};

void sim_trace(struct sim_world *w, uint64_t value);
/* Tells the observer, if there is one. */
void sim_observe(struct sim_world *w, const struct sim_observation *o);
struct sim_node *sim_node_of(struct env *env);
/* clock.c */
void sim_clock_init(struct sim_node *n);
uint64_t sim_clock_local_ns(const struct sim_node *n);
/* World nanoseconds until the node's clock has advanced by local_ns. */
uint64_t sim_clock_world_delay_ns(const struct sim_node *n, uint64_t local_ns);

#endif
